/**
 * Portal access tokens: HS256 JWTs (jose) naming one tenant (`sub`), what it may do (`scope`), who issued them
 * for whom (`iss`, `aud`), when (`iat`, `exp`) and an id (`jti`). Keys come from a small key set kept in Secrets
 * Manager (`{current, previous?, <kid>: <key>…}`): new tokens are signed with the current key, and a token names
 * its key in the `kid` header, so tokens of the previous key keep verifying until they expire.
 *
 * Verification pins the algorithm to HS256 (an `alg: none` or RS256 token fails before any key is used), checks
 * `iss`, `aud` and `exp`, then the tenant: a deleted tenant, or a token issued before the tenant's
 * `portalTokensNotBefore` (set by a revoke) or before the tenant existed, is refused like a forged one.
 */
import { randomUUID } from "node:crypto";
import * as z from "zod/mini";
import { DomainError } from "../shared/errors.ts";
import { lazyModule } from "../shared/lazy-module.ts";
import "../shared/zod.ts";

import { type Capability, PORTAL_CAPABILITIES } from "./capabilities.ts";

export { type Capability, PORTAL_CAPABILITIES };

/** The portal function ships jose as `jwt.mjs` beside its handler (`LAZY_MODULES_OF`): its cold start does not load it. */
export const JWT_MODULE = "functions/core/portal/jwt.ts";
const loadJwt = lazyModule<typeof import("./jwt.ts")>("jwt", new URL("./jwt.ts", import.meta.url));

import { type CreateSessionInput, DEFAULT_SESSION_SECONDS } from "./sessions.ts";

const ALGORITHM = "HS256";

export { type CreateSessionInput, createSessionSchema } from "./sessions.ts";

/** 401: the token is missing, malformed, forged, expired, revoked, or its tenant is gone. */
export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = "Unauthorized";
  constructor(message = "the session is not valid: it expired, was revoked, or the link is wrong") {
    super(message);
    this.name = "UnauthorizedError";
  }
}

/** 403: a valid token without the capability a route needs. */
export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = "Forbidden";
  constructor(capability: Capability) {
    super(`this session may not do this: it lacks the ${capability} capability`);
    this.name = "ForbiddenError";
  }
}

/** 429: the tenant's portal calls come faster than the per-tenant limit. */
export class TooManyRequestsError extends DomainError {
  readonly status = 429;
  readonly title = "Too many requests";
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`too many requests for this tenant: retry in ${retryAfterSeconds} s`);
    this.name = "TooManyRequestsError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface PortalKeySet {
  readonly current: string;
  readonly previous?: string | undefined;
  readonly keys: Readonly<Record<string, Uint8Array>>;
}

const KID = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_KEY_CHARS = 32;

/**
 * The stored key set: `{"current": "k2", "previous": "k1", "k1": "<key>", "k2": "<key>"}`; each key is a string
 * of at least 32 characters, used as its UTF-8 bytes. Only `current` and `previous` verify (a kid kept in the
 * secret but named by neither signs nothing and verifies nothing), so retiring a key is dropping it from both.
 */
export function parseKeySet(secretString: string): PortalKeySet {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new Error("the portal key set is not JSON");
  }
  const record = z.record(z.string(), z.string()).safeParse(raw);
  if (!record.success) throw new Error("the portal key set must be an object of strings");
  const { current, previous, ...rest } = record.data;
  if (current === undefined || !KID.test(current)) throw new Error("the portal key set names no current kid");
  const keys: Record<string, Uint8Array> = {};
  for (const kid of [current, previous]) {
    if (kid === undefined) continue;
    const key = rest[kid];
    if (key === undefined || key.length < MIN_KEY_CHARS)
      throw new Error(
        `the portal key set's key ${kid} is missing or shorter than ${MIN_KEY_CHARS} characters`,
      );
    keys[kid] = new TextEncoder().encode(key);
  }
  return { current, previous, keys };
}

/** Where the key set comes from; `fresh` skips any cache (a kid the cached set does not know). */
export interface PortalKeySource {
  keySet(fresh?: boolean): Promise<PortalKeySet>;
}

export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: string;
  readonly capabilities: readonly Capability[];
}

/** The tenant fields verification and minting read. */
export interface TokenTenant {
  readonly id: string;
  readonly createdAt: string;
  readonly deleting?: boolean | undefined;
  /** Seconds since the epoch: tokens issued before it are revoked. */
  readonly portalTokensNotBefore?: number | undefined;
}

/**
 * A token for `tenant`. Its `iat` is never before the tenant's revocation mark: a token minted in the same
 * second as (but after) a revoke stays valid, while every token minted before the revoke has an earlier `iat`.
 */
export async function issueToken(
  tenant: TokenTenant,
  input: CreateSessionInput,
  keys: PortalKeySource,
  settings: TokenSettings,
  now: Date,
): Promise<IssuedToken> {
  const keySet = await keys.keySet();
  const key = keySet.keys[keySet.current];
  if (!key) throw new Error("the portal key set has no current key");
  // After the tenant's creation second too: a token's iat then tells this tenant from one deleted in that second.
  const createdSecond = Math.floor(Date.parse(tenant.createdAt) / 1000);
  const issuedAt = Math.max(
    Math.floor(now.getTime() / 1000),
    tenant.portalTokensNotBefore ?? 0,
    createdSecond + 1,
  );
  const expiresAt = Math.floor(now.getTime() / 1000) + (input.expiresInSeconds ?? DEFAULT_SESSION_SECONDS);
  const capabilities = [...new Set(input.capabilities ?? PORTAL_CAPABILITIES)];
  const { SignJWT } = await loadJwt();
  const token = await new SignJWT({ scope: capabilities.join(" ") })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT", kid: keySet.current })
    .setSubject(tenant.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomUUID())
    .sign(key);
  return { token, expiresAt: new Date(expiresAt * 1000).toISOString(), capabilities };
}

export interface PortalSession {
  readonly tenantId: string;
  readonly capabilities: ReadonlySet<Capability>;
}

const claimsSchema = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(64)),
  iat: z.number(),
  exp: z.number(),
  jti: z.string(),
  scope: z.string(),
});

/** The bearer token of an `Authorization` header, or a 401. */
export function bearerToken(header: string | undefined): string {
  const match = /^Bearer\s+([A-Za-z0-9_.-]{1,8192})\s*$/i.exec(header ?? "");
  if (!match?.[1]) throw new UnauthorizedError("an Authorization: Bearer <token> header is required");
  return match[1];
}

/**
 * The session a token grants, or a 401. `loadTenant` reads the tenant (strongly consistent: a revoke or a delete
 * takes effect on the very next call).
 */
export async function verifyToken(
  token: string,
  keys: PortalKeySource,
  settings: TokenSettings,
  loadTenant: (id: string) => Promise<TokenTenant | undefined>,
  now: Date,
): Promise<PortalSession> {
  const claims = await verifySignature(token, keys, settings, now);
  const tenant = await loadTenant(claims.sub);
  if (!tenant || tenant.deleting) throw new UnauthorizedError();
  if (claims.iat < (tenant.portalTokensNotBefore ?? 0)) throw new UnauthorizedError();
  // A tenant deleted and created again under the same id does not inherit the old one's sessions.
  if (claims.iat <= Math.floor(Date.parse(tenant.createdAt) / 1000)) throw new UnauthorizedError();
  const capabilities = new Set(
    claims.scope
      .split(" ")
      .filter((name): name is Capability => (PORTAL_CAPABILITIES as readonly string[]).includes(name)),
  );
  return { tenantId: claims.sub, capabilities };
}

async function verifySignature(token: string, keys: PortalKeySource, settings: TokenSettings, now: Date) {
  const { errors, jwtVerify } = await loadJwt();
  const verifyWith = async (keySet: PortalKeySet) =>
    jwtVerify(
      token,
      async (header) => {
        const key =
          header.kid !== undefined && Object.hasOwn(keySet.keys, header.kid)
            ? keySet.keys[header.kid]
            : undefined;
        if (!key) throw new UnknownKidError();
        return key;
      },
      {
        algorithms: [ALGORITHM],
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ["sub", "iat", "exp", "jti"],
        currentDate: now,
      },
    );
  try {
    let result: Awaited<ReturnType<typeof verifyWith>>;
    try {
      result = await verifyWith(await keys.keySet());
    } catch (error) {
      // A key rotated in after this container cached the set: read the set once more, then decide.
      if (!(error instanceof UnknownKidError)) throw error;
      result = await verifyWith(await keys.keySet(true));
    }
    const claims = claimsSchema.safeParse(result.payload);
    if (!claims.success) throw new UnauthorizedError();
    return claims.data;
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof UnknownKidError || error instanceof errors.JOSEError) throw new UnauthorizedError();
    throw error;
  }
}

class UnknownKidError extends Error {
  constructor() {
    super("unknown kid");
    this.name = "UnknownKidError";
  }
}

export function requireCapability(session: PortalSession, capability: Capability): void {
  if (!session.capabilities.has(capability)) throw new ForbiddenError(capability);
}
