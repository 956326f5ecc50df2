/** The portal function's own settings, on top of the shared configuration; fails fast naming the variable. */
import * as z from "zod/mini";
import { parseEnvironment } from "#core/shared/config.ts";

const positive = (fallback: number, max: number) =>
  z._default(
    z.coerce.number().check(z.refine(Number.isInteger, "an integer"), z.minimum(1), z.maximum(max)),
    fallback,
  );

const portalEnvironment = z.object({
  PORTAL_KEY_SECRET_ID: z.string().check(z.minLength(1)),
  /** Where the page is served; a session's link is this with `#token=…`. */
  PORTAL_URL: z.url(),
  PORTAL_ISSUER: z._default(z.string().check(z.minLength(1)), "serverless-webhooks"),
  PORTAL_AUDIENCE: z._default(z.string().check(z.minLength(1)), "serverless-webhooks-portal"),
  PORTAL_RATE_PER_SECOND: positive(10, 10_000),
  PORTAL_BURST: positive(20, 10_000),
});

export interface PortalConfig {
  readonly keySecretId: string;
  readonly url: string;
  readonly issuer: string;
  readonly audience: string;
  readonly ratePerSecond: number;
  readonly burst: number;
}

export function parsePortalConfig(environment: Readonly<Record<string, string | undefined>>): PortalConfig {
  const env = parseEnvironment(portalEnvironment, environment);
  return {
    keySecretId: env.PORTAL_KEY_SECRET_ID,
    url: env.PORTAL_URL,
    issuer: env.PORTAL_ISSUER,
    audience: env.PORTAL_AUDIENCE,
    ratePerSecond: env.PORTAL_RATE_PER_SECOND,
    burst: env.PORTAL_BURST,
  };
}
