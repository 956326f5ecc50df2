/** What an operator asks for when minting a portal session (`POST /tenants/{tenantId}/portal-sessions`). */
import * as z from "zod/mini";
import { PORTAL_CAPABILITIES } from "./capabilities.ts";
import "../shared/zod.ts";

export const MIN_SESSION_SECONDS = 300;
export const MAX_SESSION_SECONDS = 604_800;
export const DEFAULT_SESSION_SECONDS = 3600;

export const createSessionSchema = z.strictObject({
  expiresInSeconds: z.optional(
    z
      .number()
      .check(
        z.refine(Number.isInteger, "an integer"),
        z.minimum(MIN_SESSION_SECONDS, `${MIN_SESSION_SECONDS}–${MAX_SESSION_SECONDS} seconds`),
        z.maximum(MAX_SESSION_SECONDS, `${MIN_SESSION_SECONDS}–${MAX_SESSION_SECONDS} seconds`),
      ),
  ),
  capabilities: z.optional(
    z
      .array(z.enum(PORTAL_CAPABILITIES, `one of ${PORTAL_CAPABILITIES.join(", ")}`))
      .check(z.minLength(1, "at least one capability")),
  ),
});
export type CreateSessionInput = z.infer<typeof createSessionSchema>;

export const sessionSchema = z.object({
  token: z.string(),
  url: z.string(),
  expiresAt: z.string(),
  capabilities: z.array(z.enum(PORTAL_CAPABILITIES)),
});

export const revokedSchema = z.object({ revokedBefore: z.string() });
