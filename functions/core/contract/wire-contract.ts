/**
 * The wire contract as data: the envelope every subscribed URL receives and the headers of each attempt (Standard
 * Webhooks v1 plus ours). The OpenAPI document's `webhooks` section is built from it, and a test checks that the
 * requests the deliver function builds (`signedRequestHeaders`, `serializeEnvelope`) match it.
 */
import * as z from "zod/mini";
import "../shared/zod.ts";

export const envelopeSchema = z
  .object({
    id: z.string().register(z.globalRegistry, { description: "The event id; also `webhook-id`." }),
    type: z.string(),
    timestamp: z.string().register(z.globalRegistry, { format: "date-time" }),
    version: z.literal("1.0"),
    source: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .register(z.globalRegistry, {
    id: "EventEnvelope",
    description: "What a receiver gets, byte for byte as signed.",
  });

export interface WireHeader {
  readonly name: string;
  /** Sent on every attempt of every webhook. */
  readonly required: boolean;
  readonly description: string;
}

export const wireHeaders: readonly WireHeader[] = [
  { name: "content-type", required: true, description: "`application/json`" },
  { name: "user-agent", required: true, description: "`serverless-webhooks/<version>`" },
  {
    name: "webhook-id",
    required: true,
    description: "The event id: the same for every attempt and every retry; deduplicate on it.",
  },
  { name: "webhook-timestamp", required: true, description: "Unix seconds of this attempt." },
  {
    name: "webhook-signature",
    required: true,
    description:
      '`v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`; during a rotation\'s grace ' +
      "window two entries, space-separated, newest first.",
  },
  { name: "x-webhook-event-type", required: true, description: "The event type." },
  {
    name: "x-webhook-delivery-id",
    required: true,
    description: "This (event, webhook) delivery's id, stable across retries.",
  },
  { name: "x-webhook-attempt", required: true, description: "1-based attempt number within the series." },
  { name: "x-webhook-timestamp", required: true, description: "Same as `webhook-timestamp`." },
  {
    name: "x-webhook-signature-256",
    required: false,
    description:
      "Only for webhooks with `signatureScheme: standard+github`: `sha256=<hex HMAC-SHA256(secret, body)>`. " +
      "It covers neither id nor timestamp, so it can be replayed.",
  },
];
