/**
 * What the management API accepts. Every rule names its field; anything a delivery would choke on (CR/LF in a
 * header, a private address) is refused here, and checked again at send time.
 */

import * as z from "zod/mini";
import {
  checkWebhookUrl,
  type DestinationPolicy,
  DestinationRefusedError,
} from "../delivery/destination-policy.ts";
import {
  MAX_EVENT_TYPE_LENGTH,
  MAX_PATTERNS_PER_WEBHOOK,
  SUBSCRIPTION_PATTERN,
} from "../routing/event-types.ts";
import type { Filter } from "../routing/filter.ts";
import { eventTypeSchema, publishRequestSchema } from "../shared/model.ts";
import { MAX_ROTATION_GRACE_SECONDS } from "../signing/signing-secrets.ts";
import "../shared/zod.ts";

export const MAX_HEADERS = 20;
export const MAX_HEADER_VALUE_BYTES = 4096;
export const MAX_DESCRIPTION_LENGTH = 1024;
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;
/** RFC 7230 `token`. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http sends (RFC 7230 field-value: tab, visible ASCII, space, obs-text); CR, LF and NUL never. */
const VALID_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const RESERVED_EXACT = new Set([
  "host",
  "connection",
  "transfer-encoding",
  "te",
  "upgrade",
  "user-agent",
  "forwarded",
  "authorization",
  "keep-alive",
  "trailer",
  "expect",
]);
const RESERVED_PREFIXES = [
  "content-",
  "proxy-",
  "x-forwarded-",
  "webhook-",
  "x-webhook-",
  "x-amz-",
  "x-amzn-",
];

export function reservedHeaderReason(name: string, allowAuthorization: boolean): string | undefined {
  const lower = name.toLowerCase();
  if (lower === "authorization" && allowAuthorization) return undefined;
  if (RESERVED_EXACT.has(lower))
    return `${name} is set by the platform or the transport and cannot be overridden`;
  const prefix = RESERVED_PREFIXES.find((candidate) => lower.startsWith(candidate));
  return prefix ? `headers starting with ${prefix} are reserved` : undefined;
}

export interface WebhookSchemaOptions {
  readonly policy: DestinationPolicy;
  readonly maxAttempts: number;
  /** Let webhooks send their own `Authorization` header (off by default). */
  readonly allowAuthorizationHeader: boolean;
}

const integer = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const text = (min: number, max: number, message?: string) =>
  z.string().check(z.minLength(min), z.maxLength(max, message ?? `at most ${max} characters`));

function urlSchema(policy: DestinationPolicy) {
  return z.string().check(
    z.superRefine((value: string, context) => {
      try {
        checkWebhookUrl(value, policy);
      } catch (error) {
        context.addIssue({
          code: "custom",
          message: error instanceof DestinationRefusedError ? error.reason : "invalid URL",
          input: value,
        });
      }
    }),
  );
}

const patternsSchema = z
  .array(
    z
      .string()
      .check(
        z.maxLength(MAX_EVENT_TYPE_LENGTH, `at most ${MAX_EVENT_TYPE_LENGTH} characters`),
        z.regex(SUBSCRIPTION_PATTERN, "an event type (a.b), a prefix wildcard (a.*) or *"),
      ),
  )
  .check(
    z.minLength(1, "subscribe to at least one event type"),
    z.maxLength(MAX_PATTERNS_PER_WEBHOOK, `at most ${MAX_PATTERNS_PER_WEBHOOK} patterns`),
  );

/**
 * A payload filter's shape: an object. Its rules (operators, limits, each issue naming its path) are checked by
 * the use cases through the filter engine, which is loaded only when a request carries a filter.
 */
export const filterSchema = z.custom<Filter>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "an object of fields (see docs/routing.md)" },
);

function headersSchema(allowAuthorization: boolean) {
  return z.record(z.string(), z.string()).check(
    z.superRefine((headers: Record<string, string>, context) => {
      const entries = Object.entries(headers);
      const issue = (path: string[], message: string) =>
        context.addIssue({ code: "custom", path, message, input: headers });
      if (entries.length > MAX_HEADERS) issue([], `at most ${MAX_HEADERS} headers`);
      const seen = new Set<string>();
      for (const [name, value] of entries) {
        if (!HEADER_NAME.test(name) || name === "__proto__")
          issue([name], "not a valid header name (RFC 7230 token)");
        const reserved = reservedHeaderReason(name, allowAuthorization);
        if (reserved) issue([name], reserved);
        if (seen.has(name.toLowerCase())) issue([name], "duplicate header name (names are case-insensitive)");
        seen.add(name.toLowerCase());
        if (!VALID_VALUE.test(value))
          issue(
            [name],
            "value must not contain CR, LF, NUL, other control characters or characters above U+00FF",
          );
        if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES)
          issue([name], `value longer than ${MAX_HEADER_VALUE_BYTES} bytes`);
      }
    }),
  );
}

export function webhookSchemas(options: WebhookSchemaOptions) {
  const fields = {
    url: urlSchema(options.policy),
    eventTypes: patternsSchema,
    headers: headersSchema(options.allowAuthorizationHeader),
    description: text(0, MAX_DESCRIPTION_LENGTH),
    maxAttempts: integer(1, options.maxAttempts),
    rateLimitPerSecond: integer(1, MAX_RATE_LIMIT_PER_SECOND),
    signatureScheme: z.enum(["standard", "standard+github"]),
  };
  return {
    create: z.strictObject({
      url: fields.url,
      eventTypes: fields.eventTypes,
      filter: z.optional(filterSchema),
      headers: z.optional(fields.headers),
      description: z.optional(fields.description),
      maxAttempts: z.optional(fields.maxAttempts),
      rateLimitPerSecond: z.optional(fields.rateLimitPerSecond),
      signatureScheme: z.optional(fields.signatureScheme),
      active: z.optional(z.boolean()),
    }),
    update: z
      .strictObject({
        url: z.optional(fields.url),
        eventTypes: z.optional(fields.eventTypes),
        /** null removes the filter. */
        filter: z.optional(z.nullable(filterSchema)),
        headers: z.optional(fields.headers),
        description: z.optional(z.nullable(fields.description)),
        maxAttempts: z.optional(z.nullable(fields.maxAttempts)),
        /** null removes the limit. */
        rateLimitPerSecond: z.optional(z.nullable(fields.rateLimitPerSecond)),
        signatureScheme: z.optional(fields.signatureScheme),
        active: z.optional(z.boolean()),
        /** Alternative to `If-Match`: the version the caller last read (as the gateway model, at most 1e12). */
        version: z.optional(integer(1, 1e12)),
      })
      .check(
        z.refine(
          (update) => Object.keys(update).some((key) => key !== "version"),
          "change at least one field",
        ),
      ),
  };
}

/** `POST …/filter-test`: an event as it would be published, and optionally a draft filter to try instead. */
export const filterTestSchema = z.strictObject({
  event: publishRequestSchema,
  filter: z.optional(filterSchema),
});
export type FilterTestInput = z.infer<typeof filterTestSchema>;

export const rotateSecretSchema = z.strictObject({
  gracePeriodSeconds: z.optional(integer(0, MAX_ROTATION_GRACE_SECONDS)),
});

export const recoverSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.optional(z.iso.datetime({ offset: true })),
  })
  .check(
    z.refine((range) => range.until === undefined || Date.parse(range.until) > Date.parse(range.since), {
      message: "until must be after since",
      path: ["until"],
    }),
  );

export const redriveSchema = z.strictObject({
  tenantId: z.optional(text(1, 64)),
  webhookId: z.optional(text(1, 64)),
  limit: z.optional(integer(1, 1000)),
});

const LIMIT_MESSAGE = "an integer from 1 to 100";
const limitSchema = z.optional(
  z.pipe(
    z.string().check(z.regex(/^\d{1,3}$/, LIMIT_MESSAGE)),
    z.pipe(z.transform(Number), z.number().check(z.minimum(1, LIMIT_MESSAGE), z.maximum(100, LIMIT_MESSAGE))),
  ),
);
const cursorSchema = z.optional(text(1, 2048));

export const listWebhooksQuery = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema,
  event_type: z.optional(eventTypeSchema),
  active: z.optional(z.enum(["true", "false"])),
});

export const attemptsQuery = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema,
  status: z.optional(z.enum(["succeeded", "failed"])),
});

export const webhookDeliveriesQuery = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema,
  status: z.optional(z.enum(["pending", "retrying", "delivered", "failed", "dropped"])),
});

export const pageQuery = z.strictObject({ limit: limitSchema, cursor: cursorSchema });

export const dlqQuery = z.strictObject({
  limit: limitSchema,
  tenant_id: z.optional(text(1, 64)),
  webhook_id: z.optional(text(1, 64)),
});

export const eventsQuery = z.strictObject({
  limit: limitSchema,
  cursor: cursorSchema,
  type: z.optional(eventTypeSchema),
});

export type CreateWebhookInput = z.infer<ReturnType<typeof webhookSchemas>["create"]>;
export type UpdateWebhookInput = z.infer<ReturnType<typeof webhookSchemas>["update"]>;
