/**
 * Verifies a Serverless Webhooks delivery (Standard Webhooks v1) on the receiving side.
 *
 * Dependency-free apart from `node:crypto`: copy this file into a receiver, or import it. The platform's own
 * signer uses `standardWebhookSignature` from here, so signing and verifying cannot disagree.
 *
 *   const webhook = verifyWebhook({ headers: req.headers, body: rawBody, secrets: [process.env.WEBHOOK_SECRET] });
 *
 * Pass the raw body exactly as received: re-serialised JSON does not verify.
 */
import { createHmac, type KeyObject, timingSafeEqual } from "node:crypto";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;
const TIMESTAMP_PATTERN = /^\d{1,10}$/;
const BASE64_SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

export type WebhookVerificationErrorCode =
  | "missing_header"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_matching_signature"
  | "duplicate";

/** Base class of every verification failure; `code` is stable, `message` never contains a secret. */
export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;
  /** HTTP status a receiver should answer with. */
  readonly status: number;
  constructor(code: WebhookVerificationErrorCode, message: string, status = 400) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

export class MissingHeaderError extends WebhookVerificationError {
  readonly header: string;
  constructor(header: string) {
    super("missing_header", `missing required header ${header}`);
    this.header = header;
  }
}

export class InvalidTimestampError extends WebhookVerificationError {
  constructor() {
    super("invalid_timestamp", "webhook-timestamp must be Unix seconds (1 to 10 digits)");
  }
}

export class TimestampTooOldError extends WebhookVerificationError {
  constructor(toleranceSeconds: number) {
    super("timestamp_too_old", `webhook-timestamp is more than ${toleranceSeconds} s in the past`);
  }
}

export class TimestampTooNewError extends WebhookVerificationError {
  constructor(toleranceSeconds: number) {
    super("timestamp_too_new", `webhook-timestamp is more than ${toleranceSeconds} s in the future`);
  }
}

export class NoMatchingSignatureError extends WebhookVerificationError {
  constructor() {
    super("no_matching_signature", "no webhook-signature entry matches any of the configured secrets", 401);
  }
}

/** Thrown when the `isDuplicate` hook says this `webhook-id` was already processed; answer 2xx to stop retries. */
export class DuplicateWebhookError extends WebhookVerificationError {
  constructor() {
    super("duplicate", "this webhook-id was already processed", 200);
  }
}

export type HeaderBag =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined | null>>;

export type WebhookSecret = string | Uint8Array;

export interface VerifyWebhookOptions {
  readonly headers: HeaderBag;
  /** The raw request body, byte for byte. */
  readonly body: string | Uint8Array;
  /** Candidate secrets (`whsec_…`, or the raw key bytes); several during a rotation. */
  readonly secrets: readonly WebhookSecret[];
  /** Allowed clock difference in both directions; default 300 s. */
  readonly toleranceSeconds?: number;
  /** Current time in ms since the epoch; defaults to `Date.now()`. */
  readonly now?: number;
  /** Dedupe hook: return true when this `webhook-id` was already processed. */
  readonly isDuplicate?: (webhookId: string) => boolean;
}

export interface VerifiedWebhook {
  readonly id: string;
  /** Unix seconds of this attempt. */
  readonly timestamp: number;
  /** The verified body as text. */
  readonly payload: string;
}

/** Decodes a `whsec_<base64>` secret (or raw bytes) to the HMAC key. Never echoes the secret on error. */
export function signingKey(secret: WebhookSecret): Buffer {
  if (typeof secret !== "string") return Buffer.from(secret);
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new TypeError("webhook secret is not whsec_ followed by base64");
  }
  const key = Buffer.from(encoded, "base64");
  if (key.length < 24 || key.length > 64) throw new TypeError("webhook secret must decode to 24–64 bytes");
  return key;
}

/** The raw HMAC-SHA256 of `<id>.<timestamp>.<body>` (a string body as its UTF-8 bytes). */
function signatureBytes(
  key: Buffer | KeyObject,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): Buffer {
  return createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` — one entry of the `webhook-signature` header. A
 * signer that signs often with one secret passes its key as a `KeyObject` (`createSecretKey(signingKey(secret))`):
 * HMAC with a raw key converts it to one on every call, five times the cost of the signature itself.
 */
export function standardWebhookSignature(
  secret: WebhookSecret | KeyObject,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  const key = typeof secret === "string" || secret instanceof Uint8Array ? signingKey(secret) : secret;
  return `v1,${signatureBytes(key, id, timestamp, body).toString("base64")}`;
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof headers.get === "function")
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const bag = headers as Readonly<Record<string, string | readonly string[] | undefined | null>>;
  const key = Object.keys(bag).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  if (Array.isArray(value)) return value.join(" ");
  return typeof value === "string" ? value : undefined;
}

function requiredHeader(headers: HeaderBag, name: string): string {
  const value = header(headers, name);
  if (value === undefined || value.trim() === "") throw new MissingHeaderError(name);
  return value.trim();
}

function parseTimestamp(raw: string, toleranceSeconds: number, nowMs: number): number {
  if (!TIMESTAMP_PATTERN.test(raw)) throw new InvalidTimestampError();
  const timestamp = Number(raw);
  const now = Math.floor(nowMs / 1000);
  if (now - timestamp > toleranceSeconds) throw new TimestampTooOldError(toleranceSeconds);
  if (timestamp - now > toleranceSeconds) throw new TimestampTooNewError(toleranceSeconds);
  return timestamp;
}

/** The decoded `v1` signatures of a header; malformed entries are skipped, never thrown on. */
function v1Signatures(headerValue: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of headerValue.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const encoded = entry.slice(comma + 1);
    if (!BASE64_SIGNATURE_PATTERN.test(encoded)) continue;
    const decoded = Buffer.from(encoded, "base64");
    // The last character carries two padding bits the decoder ignores; only the canonical form is accepted,
    // so a signature altered in any character is refused.
    if (decoded.toString("base64") === encoded) signatures.push(decoded);
  }
  return signatures;
}

/**
 * Verifies headers and body against the candidate secrets. Returns the verified id, timestamp and payload;
 * throws a `WebhookVerificationError` subclass otherwise. Comparison is constant-time per candidate.
 */
export function verifyWebhook(options: VerifyWebhookOptions): VerifiedWebhook {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const id = requiredHeader(options.headers, "webhook-id");
  const rawTimestamp = requiredHeader(options.headers, "webhook-timestamp");
  const signatureHeader = requiredHeader(options.headers, "webhook-signature");
  const timestamp = parseTimestamp(rawTimestamp, tolerance, options.now ?? Date.now());

  const presented = v1Signatures(signatureHeader);
  let matched = false;
  for (const secret of options.secrets) {
    const expected = signatureBytes(signingKey(secret), id, timestamp, options.body);
    for (const candidate of presented) {
      // Both are 32 bytes (enforced by the base64 pattern), so timingSafeEqual cannot throw.
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  if (!matched) throw new NoMatchingSignatureError();
  if (options.isDuplicate?.(id)) throw new DuplicateWebhookError();
  return {
    id,
    timestamp,
    payload:
      typeof options.body === "string"
        ? options.body
        : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength).toString("utf8"),
  };
}
