/** Signing-secret generation and the rotation grace window, as plain functions over the webhook's record. */
import { randomBytes } from "node:crypto";
import { SECRET_PREFIX } from "./webhook-verifier.ts";

/**
 * A deleted webhook's signing secret stays recoverable this many days (the shortest window Secrets Manager
 * allows); the stack's IAM policy refuses a delete without a window.
 */
export const SECRET_RECOVERY_WINDOW_DAYS = 7;

export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;
export const MAX_ROTATION_GRACE_SECONDS = 604_800;

/** `whsec_` + base64 of 32 bytes from the CSPRNG. */
export function generateSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** Which secret versions a webhook signs with; stored on the webhook record, never the values. */
export interface SecretVersions {
  readonly secretVersion: string;
  readonly previousSecretVersion?: string | undefined;
  /** ISO time until which the previous secret keeps signing. */
  readonly previousSecretValidUntil?: string | undefined;
}

/** Versions to sign with at `now`, newest first: the current one, plus the previous one inside its grace window. */
export function signingVersions(versions: SecretVersions, now: Date): string[] {
  const { previousSecretVersion, previousSecretValidUntil } = versions;
  const inGrace =
    previousSecretVersion !== undefined &&
    previousSecretValidUntil !== undefined &&
    Date.parse(previousSecretValidUntil) > now.getTime();
  return inGrace ? [versions.secretVersion, previousSecretVersion] : [versions.secretVersion];
}

/** The record after a rotation: the new version is current, the old one signs too until the grace ends. */
export function rotatedVersions(
  current: SecretVersions,
  newVersion: string,
  gracePeriodSeconds: number,
  now: Date,
): SecretVersions {
  if (
    !Number.isInteger(gracePeriodSeconds) ||
    gracePeriodSeconds < 0 ||
    gracePeriodSeconds > MAX_ROTATION_GRACE_SECONDS
  ) {
    throw new RangeError(`gracePeriodSeconds must be an integer from 0 to ${MAX_ROTATION_GRACE_SECONDS}`);
  }
  if (gracePeriodSeconds === 0) return { secretVersion: newVersion };
  return {
    secretVersion: newVersion,
    previousSecretVersion: current.secretVersion,
    previousSecretValidUntil: new Date(now.getTime() + gracePeriodSeconds * 1000).toISOString(),
  };
}

/** Whose secret this is, as the secret store names it: one secret per webhook, grouped under its tenant. */
export const secretOwner = (tenantId: string, webhookId: string) => `${tenantId}/${webhookId}`;
