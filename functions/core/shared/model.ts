/** The platform's records and messages, and the zod schemas that parse them wherever they cross a boundary. */
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import "./zod.ts";
import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from "../routing/event-types.ts";
import type { Filter } from "../routing/filter.ts";
import type { SignatureScheme } from "../signing/signing.ts";
import type { SecretVersions } from "../signing/signing-secrets.ts";
import { nestsWithin, protoKeyPath, shapeProblem } from "./nesting.ts";

export const EVENT_VERSION = "1.0";
/** Largest accepted event, measured as the serialized envelope that is delivered. */
export const MAX_EVENT_BYTES = 256 * 1024;
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/**
 * An id no event may take: `POST /tenants/{tenantId}/events/batch` is a static API Gateway resource, which wins over
 * `/events/{eventId}`, so `GET …/events/batch` could never read an event of that id.
 */
export const RESERVED_EVENT_ID = "batch";

export const eventTypeSchema = z
  .string()
  .check(
    z.maxLength(MAX_EVENT_TYPE_LENGTH, `at most ${MAX_EVENT_TYPE_LENGTH} characters`),
    z.regex(EVENT_TYPE_PATTERN, "dot-separated segments of letters, digits, _ and -"),
  );

/**
 * How deep an event's `data` may nest (`data` itself is level 1). Deeper JSON is refused: walking it recursively
 * (zod's JSON check, and many receivers' parsers; serde_json stops at 128) would overflow the stack.
 */
export const MAX_DATA_DEPTH = 64;

export { nestsWithin };

/** Any JSON object nested at most `MAX_DATA_DEPTH` levels; the depth is checked before anything recurses. */
const eventDataSchema = z.pipe(
  z.custom<unknown>((value) => shapeProblem(value, MAX_DATA_DEPTH) === undefined, {
    error: (issue) =>
      shapeProblem(issue.input, MAX_DATA_DEPTH) === "proto_key"
        ? `no key may be named __proto__ (one is at data.${protoKeyPath(issue.input)}): it could not be delivered as sent`
        : `JSON nested at most ${MAX_DATA_DEPTH} levels deep`,
  }),
  z.record(z.string(), z.json()),
);

/** What a producer sends to `POST /events`. */
export const publishRequestSchema = z.strictObject({
  id: z.optional(
    z
      .string()
      .check(
        z.regex(EVENT_ID_PATTERN, "1–128 letters, digits, _ . : -"),
        z.refine(
          (id) => id !== RESERVED_EVENT_ID,
          `"${RESERVED_EVENT_ID}" is reserved (the batch route's path)`,
        ),
      )
      .register(z.globalRegistry, { description: `Not \`${RESERVED_EVENT_ID}\` (reserved).` }),
  ),
  type: eventTypeSchema,
  source: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  timestamp: z.optional(z.iso.datetime({ offset: true })),
  data: eventDataSchema,
});
export type PublishRequest = z.infer<typeof publishRequestSchema>;

/** The envelope every receiver gets, serialized once and delivered byte for byte. */
export interface EventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly timestamp: string;
  readonly version: string;
  readonly source: string;
  readonly data: Record<string, unknown>;
}

export function serializeEnvelope(event: EventEnvelope): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    version: event.version,
    source: event.source,
    data: event.data,
  });
}

/** Fingerprint of what the producer asked for, to tell a retried publish from a different event reusing an id. */
export function requestFingerprint(request: Omit<PublishRequest, "id">): string {
  const canonical = JSON.stringify([
    request.type,
    request.source ?? null,
    request.timestamp ?? null,
    request.data,
  ]);
  return createHash("sha256").update(canonical).digest("base64url");
}

export interface Webhook extends SecretVersions {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  /** A payload filter (EventBridge content-filter syntax) applied after the type match; none: every event. */
  readonly filter?: Filter | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly description?: string | undefined;
  readonly active: boolean;
  readonly disabledReason?: string | undefined;
  readonly maxAttempts?: number | undefined;
  /** Requests per second at most, across every deliver container (`docs/endpoint-health.md`); absent: none. */
  readonly rateLimitPerSecond?: number | undefined;
  readonly signatureScheme: SignatureScheme;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Optimistic-concurrency counter, incremented by every write. */
  readonly version: number;
}

export type DeliveryStatus = "pending" | "retrying" | "delivered" | "failed" | "dropped";

export interface Delivery {
  readonly id: string;
  readonly tenantId: string;
  readonly eventId: string;
  readonly webhookId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  /** Attempts made in the current series: the authoritative count, not SQS's receive count. */
  readonly attempts: number;
  /** Bumped by a manual retry, a recover or a redrive, which start a new series of attempts (same webhook-id). */
  readonly series?: number | undefined;
  /**
   * Which queue message owns the current series: a repeated fan-out or the reconciler enqueues a higher copy,
   * and a message whose (series, copy) is below the record's is a superseded duplicate (see `copyStanding`).
   */
  readonly copy?: number | undefined;
  readonly nextAttemptAt?: string | undefined;
  readonly lastStatusCode?: number | undefined;
  readonly lastError?: string | undefined;
  /** Why the delivery ended in the DLQ or was dropped. */
  readonly reason?: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type AttemptStatus = "succeeded" | "failed";

export interface Attempt {
  readonly deliveryId: string;
  readonly tenantId: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  readonly series?: number | undefined;
  readonly status: AttemptStatus;
  readonly statusCode?: number | undefined;
  /** First 4 KiB of the response body. */
  readonly responseBody?: string | undefined;
  readonly durationMs: number;
  readonly errorClass?: string | undefined;
  readonly timestamp: string;
}

/** The delivery queue's message: references, plus the body inline when it is small. */
export const deliveryMessageSchema = z.strictObject({
  tenantId: z.string().check(z.minLength(1)),
  deliveryId: z.string().check(z.minLength(1)),
  eventId: z.string().check(z.minLength(1)),
  webhookId: z.string().check(z.minLength(1)),
  eventType: z.string().check(z.minLength(1)),
  /** The exact body to send; absent when too large to inline (read from the event record instead). */
  body: z.optional(z.string()),
  /** Addressed to this webhook alone (a test event, a manual retry), whatever its subscriptions. */
  direct: z.optional(z.boolean()),
  /** The series of attempts this message belongs to (0 for the first; see `Delivery.series`). */
  series: z.optional(z.int().check(z.minimum(0))),
  /** Which copy of the series this message is (see `Delivery.copy`). */
  copy: z.optional(z.int().check(z.minimum(0))),
});
export type DeliveryMessage = z.infer<typeof deliveryMessageSchema>;
