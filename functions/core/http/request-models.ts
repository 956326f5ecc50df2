/**
 * JSON Schemas (draft-04, what API Gateway speaks) for every body-bearing route, as plain data: the CDK stack
 * turns each into an API Gateway model (lib/constructs/request-models.ts), and local mode validates bodies
 * against the same objects (local/api-gateway.ts), so a body the deployed gateway refuses is refused locally
 * too. They check shape only — types, required fields, no unknown fields; the Lambda's zod schemas apply the
 * full rules and name the failing field.
 */

import { PORTAL_CAPABILITIES } from "../portal/capabilities.ts";

export interface RequestSchema {
  readonly $schema?: string;
  readonly type: string | readonly string[];
  readonly properties?: Readonly<Record<string, RequestSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | RequestSchema;
  readonly items?: RequestSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly string[];
}

export const DRAFT_04 = "http://json-schema.org/draft-04/schema#";

const string = (maxLength: number): RequestSchema => ({ type: "string", maxLength });
const patterns: RequestSchema = { type: "array", minItems: 1, maxItems: 50, items: string(256) };
const headers: RequestSchema = { type: "object", maxProperties: 20, additionalProperties: string(4096) };
const integer = (minimum: number, maximum: number): RequestSchema => ({ type: "integer", minimum, maximum });
/** An object with exactly these properties; draft-04 forbids an empty `required`, so it is left out then. */
const object = (properties: Record<string, RequestSchema>, required: string[] = []): RequestSchema => ({
  $schema: DRAFT_04,
  type: "object",
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});

const webhookFields = {
  url: string(2048),
  eventTypes: patterns,
  headers,
  description: { type: ["string", "null"], maxLength: 1024 },
  maxAttempts: { type: ["integer", "null"], minimum: 1, maximum: 100 },
  rateLimitPerSecond: { type: ["integer", "null"], minimum: 1, maximum: 10_000 },
  signatureScheme: { type: "string", enum: ["standard", "standard+github"] },
  active: { type: "boolean" },
  filter: { type: ["object", "null"] },
} satisfies Record<string, RequestSchema>;

/** Keyed by `<METHOD> <resource>`, as in `apiRoutes`; every route with `body: true` has one. */
export const requestModels: Readonly<Record<string, RequestSchema>> = {
  "PUT /tenants/{tenantId}": object(
    {
      name: string(256),
      metadata: { type: "object", maxProperties: 20, additionalProperties: string(1024) },
    },
    ["name"],
  ),
  "POST /tenants/{tenantId}/webhooks": object({ ...webhookFields, filter: { type: "object" } }, [
    "url",
    "eventTypes",
  ]),
  "PATCH /tenants/{tenantId}/webhooks/{webhookId}": object({ ...webhookFields, version: integer(1, 1e12) }),
  "POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret": object({
    gracePeriodSeconds: integer(0, 604_800),
  }),
  "POST /tenants/{tenantId}/webhooks/{webhookId}/recover": object({ since: string(64), until: string(64) }, [
    "since",
  ]),
  "POST /tenants/{tenantId}/events": object(
    {
      id: string(128),
      type: string(256),
      source: string(256),
      timestamp: string(64),
      data: { type: "object" },
    },
    ["type", "data"],
  ),
  // Each event is only "an object" here: the Lambda checks its fields and names the failing one
  // (`events.57.type`), which a gateway refusal cannot; it also answers for 0 or more than 100 events (`events`).
  "POST /tenants/{tenantId}/events/batch": object({ events: { type: "array", items: { type: "object" } } }, [
    "events",
  ]),
  "POST /tenants/{tenantId}/portal-sessions": object({
    expiresInSeconds: integer(300, 604_800),
    capabilities: {
      type: "array",
      minItems: 1,
      maxItems: 5,
      items: {
        type: "string",
        enum: PORTAL_CAPABILITIES,
      },
    },
  }),
  "POST /tenants/{tenantId}/webhooks/{webhookId}/filter-test": object(
    { event: { type: "object" }, filter: { type: "object" } },
    ["event"],
  ),
  "PUT /event-types/{name}": object(
    {
      description: string(1024),
      schema: { type: "object" },
      example: { type: "object" },
      deprecated: { type: "boolean" },
      validate: { type: "boolean" },
    },
    ["description"],
  ),
  "POST /dlq/redrive": object({ tenantId: string(64), webhookId: string(64), limit: integer(1, 1000) }),
};

/**
 * What API Gateway answers when a body fails its route's model: a problem document like every other 4xx, naming
 * `body` (the gateway can only substitute its own message, already a JSON string, into the template). The stack
 * installs it as the BAD_REQUEST_BODY gateway response; local mode answers the same.
 */
export const BAD_REQUEST_BODY_TEMPLATE =
  '{"type":"about:blank","title":"Invalid request","status":400,"detail":$context.error.messageString,' +
  '"errors":[{"field":"body","message":$context.error.messageString}]}';
export const BAD_REQUEST_BODY_MESSAGE = "Invalid request body";
