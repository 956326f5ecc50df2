/** What a portal session may do; a token lists its capabilities in `scope` (all of them unless narrowed). */
export const PORTAL_CAPABILITIES = [
  "endpoints:read",
  "endpoints:write",
  "secrets:rotate",
  "deliveries:retry",
  "test:send",
] as const;
export type Capability = (typeof PORTAL_CAPABILITIES)[number];
