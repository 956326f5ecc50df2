/**
 * What the management API accepts. Every rule names its field; anything a delivery would choke on (CR/LF in a
 * header, a private address) is refused here, and checked again at send time.
 */
import { z } from "zod";
import { checkWebhookUrl, type DestinationPolicy, DestinationRefusedError } from "./destination-policy.ts";
import { MAX_EVENT_TYPE_LENGTH, MAX_PATTERNS_PER_WEBHOOK, SUBSCRIPTION_PATTERN } from "./event-types.ts";
import { eventTypeSchema } from "./model.ts";
import { MAX_ROTATION_GRACE_SECONDS } from "./signing-secrets.ts";

export const MAX_HEADERS = 20;
export const MAX_HEADER_VALUE_BYTES = 4096;
export const MAX_DESCRIPTION_LENGTH = 1024;
/** RFC 7230 `token`. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const FORBIDDEN_IN_VALUE = /[\r\n\u0000]/;
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

function urlSchema(policy: DestinationPolicy) {
  return z.string().superRefine((value, context) => {
    try {
      checkWebhookUrl(value, policy);
    } catch (error) {
      context.addIssue({
        code: "custom",
        message: error instanceof DestinationRefusedError ? error.reason : "invalid URL",
      });
    }
  });
}

const patternsSchema = z
  .array(
    z
      .string()
      .max(MAX_EVENT_TYPE_LENGTH, `at most ${MAX_EVENT_TYPE_LENGTH} characters`)
      .regex(SUBSCRIPTION_PATTERN, "an event type (a.b), a prefix wildcard (a.*) or *"),
  )
  .min(1, "subscribe to at least one event type")
  .max(MAX_PATTERNS_PER_WEBHOOK, `at most ${MAX_PATTERNS_PER_WEBHOOK} patterns`);

function headersSchema(allowAuthorization: boolean) {
  return z.record(z.string(), z.string()).superRefine((headers, context) => {
    const entries = Object.entries(headers);
    if (entries.length > MAX_HEADERS)
      context.addIssue({ code: "custom", message: `at most ${MAX_HEADERS} headers` });
    const seen = new Set<string>();
    for (const [name, value] of entries) {
      const path = [name];
      if (!HEADER_NAME.test(name))
        context.addIssue({ code: "custom", path, message: "not a valid header name (RFC 7230 token)" });
      const reserved = reservedHeaderReason(name, allowAuthorization);
      if (reserved) context.addIssue({ code: "custom", path, message: reserved });
      if (seen.has(name.toLowerCase()))
        context.addIssue({
          code: "custom",
          path,
          message: "duplicate header name (names are case-insensitive)",
        });
      seen.add(name.toLowerCase());
      if (FORBIDDEN_IN_VALUE.test(value))
        context.addIssue({ code: "custom", path, message: "value must not contain CR, LF or NUL" });
      if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES) {
        context.addIssue({
          code: "custom",
          path,
          message: `value longer than ${MAX_HEADER_VALUE_BYTES} bytes`,
        });
      }
    }
  });
}

export function webhookSchemas(options: WebhookSchemaOptions) {
  const fields = {
    url: urlSchema(options.policy),
    eventTypes: patternsSchema,
    headers: headersSchema(options.allowAuthorizationHeader),
    description: z.string().max(MAX_DESCRIPTION_LENGTH, `at most ${MAX_DESCRIPTION_LENGTH} characters`),
    maxAttempts: z.number().int().min(1).max(options.maxAttempts),
    signatureScheme: z.enum(["standard", "standard+github"]),
  };
  return {
    create: z.strictObject({
      url: fields.url,
      eventTypes: fields.eventTypes,
      headers: fields.headers.optional(),
      description: fields.description.optional(),
      maxAttempts: fields.maxAttempts.optional(),
      signatureScheme: fields.signatureScheme.optional(),
      active: z.boolean().optional(),
    }),
    update: z
      .strictObject({
        url: fields.url.optional(),
        eventTypes: fields.eventTypes.optional(),
        headers: fields.headers.optional(),
        description: fields.description.nullable().optional(),
        maxAttempts: fields.maxAttempts.nullable().optional(),
        signatureScheme: fields.signatureScheme.optional(),
        active: z.boolean().optional(),
        /** Alternative to `If-Match`: the version the caller last read. */
        version: z.number().int().min(1).optional(),
      })
      .refine((update) => Object.keys(update).some((key) => key !== "version"), {
        message: "change at least one field",
      }),
  };
}

export const rotateSecretSchema = z.strictObject({
  gracePeriodSeconds: z.number().int().min(0).max(MAX_ROTATION_GRACE_SECONDS).optional(),
});

export const recoverSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((range) => range.until === undefined || Date.parse(range.until) > Date.parse(range.since), {
    message: "until must be after since",
    path: ["until"],
  });

export const redriveSchema = z.strictObject({
  webhookId: z.string().min(1).max(64).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});

const limitSchema = z
  .string()
  .regex(/^\d{1,3}$/, "an integer from 1 to 100")
  .transform(Number)
  .pipe(z.number().int().min(1, "an integer from 1 to 100").max(100, "an integer from 1 to 100"))
  .optional();

export const listWebhooksQuery = z.strictObject({
  limit: limitSchema,
  cursor: z.string().max(2048).optional(),
  event_type: eventTypeSchema.optional(),
  active: z.enum(["true", "false"]).optional(),
});

export const attemptsQuery = z.strictObject({
  limit: limitSchema,
  cursor: z.string().max(2048).optional(),
  status: z.enum(["succeeded", "failed"]).optional(),
});

export const pageQuery = z.strictObject({ limit: limitSchema, cursor: z.string().max(2048).optional() });

export const dlqQuery = z.strictObject({
  limit: limitSchema,
  webhook_id: z.string().min(1).max(64).optional(),
});

export type CreateWebhookInput = z.infer<ReturnType<typeof webhookSchemas>["create"]>;
export type UpdateWebhookInput = z.infer<ReturnType<typeof webhookSchemas>["update"]>;
