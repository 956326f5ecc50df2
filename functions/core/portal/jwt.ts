/** jose's JWT signing and verification: a fifth of the portal bundle, loaded on the first call that needs it. */
export { errors, jwtVerify, SignJWT } from "jose";
