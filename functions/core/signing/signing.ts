/**
 * Builds the signed request of the wire contract (see docs/receiving.md): the Standard
 * Webhooks v1 headers, our `x-webhook-*` headers, the opt-in GitHub-style signature, and the webhook's own
 * custom headers, which never override ours.
 */
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { signingKey, standardWebhookSignature, type WebhookSecret } from "./webhook-verifier.ts";

export const PLATFORM_VERSION = "0.1.0";
export const USER_AGENT = `serverless-webhooks/${PLATFORM_VERSION}`;

export type SignatureScheme = "standard" | "standard+github";

/**
 * Each secret's HMAC key, decoded once per container: the deliver function signs every request of a webhook with
 * the same secret (the secret store's cache holds the secrets themselves already). Bounded: a container that
 * signs for more webhooks starts over.
 */
const keyObjects = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 1000;

function keyObjectOf(secret: WebhookSecret): KeyObject {
  if (typeof secret !== "string") return createSecretKey(signingKey(secret));
  let key = keyObjects.get(secret);
  if (!key) {
    if (keyObjects.size >= MAX_CACHED_KEYS) keyObjects.clear();
    key = createSecretKey(signingKey(secret));
    keyObjects.set(secret, key);
  }
  return key;
}

/**
 * `webhook-signature` value: one `v1,<base64>` entry per secret, space-separated, newest secret first.
 * During a rotation's grace window pass [new, old] so receivers holding either secret verify.
 */
export function signatureHeader(
  secrets: readonly WebhookSecret[],
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  if (secrets.length === 0) throw new Error("at least one signing secret is required");
  return secrets
    .map((secret) => standardWebhookSignature(keyObjectOf(secret), id, timestamp, body))
    .join(" ");
}

/**
 * GitHub-style `sha256=<hex HMAC-SHA256(secret string, body)>`, keyed by the secret's text (as
 * `@octokit/webhooks-methods` expects). It does not cover the id or timestamp, so it can be replayed; it exists
 * for receivers that already speak GitHub's scheme.
 */
export function githubStyleSignature(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface SignedRequestInput {
  readonly eventId: string;
  readonly eventType: string;
  readonly deliveryId: string;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** Unix seconds of this attempt. */
  readonly timestamp: number;
  /** The exact bytes that will be sent. */
  readonly body: string;
  /** Newest first; the first one also keys the GitHub-style signature. */
  readonly secrets: readonly string[];
  readonly scheme: SignatureScheme;
  readonly customHeaders?: Readonly<Record<string, string>>;
}

/** The complete header set of one delivery attempt. Custom headers cannot replace any platform header. */
export function signedRequestHeaders(input: SignedRequestInput): Record<string, string> {
  const timestamp = String(input.timestamp);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": input.eventId,
    "webhook-timestamp": timestamp,
    "webhook-signature": signatureHeader(input.secrets, input.eventId, input.timestamp, input.body),
    "x-webhook-event-type": input.eventType,
    "x-webhook-delivery-id": input.deliveryId,
    "x-webhook-attempt": String(input.attempt),
    "x-webhook-timestamp": timestamp,
  };
  const newest = input.secrets[0];
  if (input.scheme === "standard+github" && newest !== undefined) {
    headers["x-webhook-signature-256"] = githubStyleSignature(newest, input.body);
  }
  for (const [name, value] of Object.entries(input.customHeaders ?? {})) {
    const lower = name.toLowerCase();
    if (!(lower in headers)) headers[lower] = value;
  }
  return headers;
}
