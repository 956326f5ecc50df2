/**
 * The API's contract as data: for every route of `apiRoutes`, the zod schemas of its request (the very schemas the
 * handlers parse with) and of each response it can answer. `openapi.ts` turns it into the OpenAPI document, the
 * client (`client/`) takes its types from it, and the route functions check their response bodies against it at
 * compile time (`ResponseBody<…>`, a type-only import: nothing here reaches a Lambda bundle).
 *
 * Adding a route: add it to `apiRoutes`, then one entry to `operations` below (a test fails until both exist).
 */
import * as z from "zod/mini";
import { strictDestinationPolicy } from "../delivery/destination-policy.ts";
import { defaultRetryPolicy, maxAttemptsOf } from "../delivery/retry-policy.ts";
import {
  attemptsQuery,
  dlqQuery,
  eventsQuery,
  filterTestSchema,
  listWebhooksQuery,
  pageQuery,
  recoverSchema,
  redriveSchema,
  rotateSecretSchema,
  webhookDeliveriesQuery,
  webhookSchemas,
} from "../management/webhook-schemas.ts";
import { publishBatchRequestSchema } from "../publishing/batch.ts";
import { eventTypeListQuery, putEventTypeSchema } from "../routing/catalogue-schemas.ts";
import { publishRequestSchema } from "../shared/model.ts";
import { putTenantSchema } from "../tenants/tenants.ts";
import "../shared/zod.ts";

// ── Responses ────────────────────────────────────────────────────────────────────────────────────────────────
// Objects are closed (`additionalProperties: false` in the document): a field a response leaks without the
// contract naming it fails the contract test.

import { createSessionSchema, revokedSchema, sessionSchema } from "../portal/sessions.ts";

const time = z.string().register(z.globalRegistry, { format: "date-time" });
const nullable = <T extends z.ZodMiniType>(schema: T) => z.nullable(schema);
const count = z.int().check(z.minimum(0));

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().check(z.minimum(400), z.maximum(599)),
    detail: z.string(),
    errors: z.optional(
      z.array(z.object({ field: z.string(), message: z.string() })).register(z.globalRegistry, {
        description: "One entry per failing field (400; 422 for a subscription no catalogued type matches).",
      }),
    ),
  })
  .register(z.globalRegistry, {
    id: "Problem",
    description: "RFC 9457 problem document (`application/problem+json`).",
  });

export const tenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    metadata: z.record(z.string(), z.string()),
    webhookCount: count,
    createdAt: time,
    updatedAt: time,
  })
  .register(z.globalRegistry, { id: "Tenant" });

export const tenantDeletingSchema = z
  .object({ deleting: z.literal(true), detail: z.string() })
  .register(z.globalRegistry, {
    id: "TenantDeleting",
    description: "The delete ran out of time and goes on: repeat DELETE until it answers 204.",
  });

const filterSchema = z.record(z.string(), z.unknown()).register(z.globalRegistry, {
  id: "Filter",
  description:
    "A payload filter in EventBridge's content-filter syntax over `type`, `source` and `data` (docs/routing.md).",
});

export const eventTypeNoticeSchema = z
  .object({ eventType: z.string(), status: z.enum(["deprecated", "archived"]) })
  .register(z.globalRegistry, {
    id: "EventTypeNotice",
    description: "A type the webhook subscribes to by name that the catalogue marks deprecated or archived.",
  });

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    filter: nullable(filterSchema),
    eventTypeNotices: z.array(eventTypeNoticeSchema),
    headers: z.record(z.string(), z.string()),
    description: nullable(z.string()),
    active: z.boolean(),
    disabledReason: nullable(z.string()),
    maxAttempts: nullable(z.int()),
    rateLimitPerSecond: nullable(z.int()),
    signatureScheme: z.enum(["standard", "standard+github"]),
    previousSecretValidUntil: nullable(time),
    createdAt: time,
    updatedAt: time,
    version: z.int().check(z.minimum(1)),
    /** Only on `GET …/webhooks/{id}` (docs/endpoint-health.md). */
    health: z.optional(
      z
        .object({
          circuit: z.enum(["closed", "open", "half_open"]),
          openedAt: nullable(time),
          nextProbeAt: nullable(time),
          failingSince: nullable(time),
          lastSuccessAt: nullable(time),
          window: z.object({ startedAt: nullable(time), attempts: z.int(), failures: z.int() }),
        })
        .register(z.globalRegistry, {
          id: "WebhookHealth",
          description: "The circuit and the failure clock.",
        }),
    ),
  })
  .register(z.globalRegistry, { id: "Webhook", description: "A webhook; never its secret." });

const secret = z
  .string()
  .register(z.globalRegistry, { description: "`whsec_` + base64 of 32 bytes; shown only once." });

export const createdWebhookSchema = z
  .object({ ...webhookSchema.shape, secret })
  .register(z.globalRegistry, { id: "CreatedWebhook" });

export const rotatedSecretSchema = z
  .object({ secret, previousSecretValidUntil: nullable(time), version: z.int() })
  .register(z.globalRegistry, { id: "RotatedSecret" });

const retentionExpiry = z.optional(
  z.int().register(z.globalRegistry, { description: "Unix seconds after which the record expires." }),
);

export const deliverySchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    eventId: z.string(),
    webhookId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "retrying", "delivered", "failed", "dropped"]),
    attempts: count,
    series: z.optional(count),
    copy: z.optional(count),
    nextAttemptAt: z.optional(time),
    lastStatusCode: z.optional(z.int()),
    lastError: z.optional(z.string()),
    reason: z.optional(z.string()),
    createdAt: time,
    updatedAt: time,
    expiresAt: retentionExpiry,
  })
  .register(z.globalRegistry, { id: "Delivery" });

export const attemptSchema = z
  .object({
    deliveryId: z.string(),
    tenantId: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    attempt: z.int().check(z.minimum(1)),
    series: z.optional(count),
    status: z.enum(["succeeded", "failed"]),
    statusCode: z.optional(z.int()),
    responseBody: z.optional(
      z.string().register(z.globalRegistry, {
        description:
          "A failed attempt's response body (first 4 KiB) or transport error; absent on succeeded attempts.",
      }),
    ),
    durationMs: z.number().check(z.minimum(0)),
    errorClass: z.optional(z.string()),
    timestamp: time,
    expiresAt: retentionExpiry,
  })
  .register(z.globalRegistry, { id: "Attempt" });

export const eventSummarySchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    type: z.string(),
    timestamp: time,
    source: z.string(),
    createdAt: time,
  })
  .register(z.globalRegistry, { id: "EventSummary" });

export const eventDetailSchema = z
  .object({
    ...eventSummarySchema.shape,
    version: z.string(),
    data: z.record(z.string(), z.unknown()),
    fanout: z.optional(z.object({ deliveries: count, completedAt: time })),
    expiresAt: retentionExpiry,
    deliveries: z.array(deliverySchema),
  })
  .register(z.globalRegistry, {
    id: "EventDetail",
    description: "The event with its `data`, its fan-out result once complete, and its deliveries so far.",
  });

export const publishedSchema = z
  .object({ eventId: z.string(), deliveries: count })
  .register(z.globalRegistry, { id: "Published" });

export const batchResultSchema = z
  .union([
    z
      .object({
        status: z.literal(202),
        eventId: z.string(),
        deliveries: count,
        duplicate: z.boolean().register(z.globalRegistry, {
          description:
            "Published before with the same content: nothing new was sent, `deliveries` as the first time.",
        }),
      })
      .register(z.globalRegistry, { id: "BatchEventAccepted", description: "The event was published." }),
    z
      .object({
        status: z.int().check(z.minimum(400), z.maximum(599)),
        eventId: z.string().register(z.globalRegistry, {
          description: "The event's id (generated if the request had none): publish it again with this id.",
        }),
        problem: problemSchema,
      })
      .register(z.globalRegistry, {
        id: "BatchEventFailed",
        description:
          "The event was not published: 409 (its id was published with other content), 413 (envelope over 256 KiB), " +
          "422 (its type's catalogue schema refuses `data`), 503 (not completed; publishing it again with the same " +
          "id is safe).",
      }),
  ])
  .register(z.globalRegistry, { id: "BatchEventResult" });

export const batchPublishedSchema = z
  .object({
    results: z.array(batchResultSchema).register(z.globalRegistry, {
      description: "One per event, in request order.",
    }),
  })
  .register(z.globalRegistry, { id: "BatchPublished" });

export const testSentSchema = z
  .object({ eventId: z.string(), deliveryId: z.string() })
  .register(z.globalRegistry, { id: "TestSent" });

export const recoveredSchema = z
  .object({
    recovered: count,
    truncated: z.boolean().register(z.globalRegistry, { description: "More failures than one call takes." }),
  })
  .register(z.globalRegistry, { id: "Recovered" });

export const deadLetterSchema = z
  .object({
    messageId: z.string(),
    deliveryId: nullable(z.string()),
    tenantId: nullable(z.string()),
    webhookId: nullable(z.string()),
    eventId: nullable(z.string()),
    reason: nullable(z.string()),
    attempts: nullable(z.int()),
    failedAt: nullable(z.string()),
  })
  .register(z.globalRegistry, { id: "DeadLetter" });

export const deadLetterPeekSchema = z
  .object({ data: z.array(deadLetterSchema), truncated: z.boolean() })
  .register(z.globalRegistry, { id: "DeadLetterPeek" });

export const redriveResultSchema = z
  .object({ moved: count, discarded: count, left: count })
  .register(z.globalRegistry, { id: "RedriveResult" });

export const filterTestResultSchema = z
  .object({
    matches: z.boolean(),
    failedClause: z.optional(
      z.object({
        path: z.string().register(z.globalRegistry, {
          description:
            "Where the failing clause looks in the event (`type` when no pattern matches the type).",
        }),
        clause: z
          .unknown()
          .register(z.globalRegistry, { description: "The clause, as written in the filter." }),
      }),
    ),
  })
  .register(z.globalRegistry, { id: "FilterTestResult" });

export const eventTypeResourceSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    schema: nullable(z.record(z.string(), z.unknown())),
    example: nullable(z.record(z.string(), z.unknown())),
    deprecated: z.boolean(),
    validate: z.boolean(),
    archived: z.boolean(),
    archivedAt: nullable(time),
    createdAt: time,
    updatedAt: time,
    version: z.int().check(z.minimum(1)),
  })
  .register(z.globalRegistry, { id: "EventType", description: "A catalogued event type (global)." });

export const eventTypesDocumentSchema = z.record(z.string(), z.unknown()).register(z.globalRegistry, {
  id: "EventTypesDocument",
  description: "An OpenAPI 3.1 document whose `webhooks` describe every catalogued type's request.",
});

/** A page of a listing: `nextCursor` is null on the last page. */
const page = <T extends z.ZodMiniType>(item: T, id: string) =>
  z
    .object({ data: z.array(item), nextCursor: nullable(z.string()) })
    .register(z.globalRegistry, { id, description: "One page; pass `nextCursor` as `cursor` for the next." });

export const tenantPageSchema = page(tenantSchema, "TenantPage");
export const webhookPageSchema = page(webhookSchema, "WebhookPage");
export const attemptPageSchema = page(attemptSchema, "AttemptPage");
export const deliveryPageSchema = page(deliverySchema, "DeliveryPage");
export const eventPageSchema = page(eventSummarySchema, "EventPage");
export const eventTypePageSchema = page(eventTypeResourceSchema, "EventTypePage");

// ── Requests: the handlers' own schemas ──────────────────────────────────────────────────────────────────────

/**
 * The webhook schemas with the default stack settings (https on 443, public addresses, the default schedule's
 * attempts): the handlers build theirs from the stack's configuration, with the same shape.
 */
export const defaultWebhookSchemas = webhookSchemas({
  policy: strictDestinationPolicy,
  maxAttempts: maxAttemptsOf(defaultRetryPolicy),
  allowAuthorizationHeader: false,
});

// ── Operations ──────────────────────────────────────────────────────────────────────────────────────────────

export type Auth = "iam" | "bearer";

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: Auth;
  readonly body?: z.ZodMiniType;
  /** `true`: a body is optional (`{}` when absent locally; API Gateway still wants JSON). */
  readonly bodyOptional?: boolean;
  readonly query?: z.ZodMiniObject;
  /** Request headers the route reads. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Success statuses and their bodies (`null`: no body); problem statuses are listed in `errors`. */
  readonly responses: Readonly<Record<number, z.ZodMiniType | null>>;
  readonly errors: readonly number[];
  /** Response headers worth naming, by status. */
  readonly responseHeaders?: Readonly<Record<number, Readonly<Record<string, string>>>>;
}

const TENANT = "/tenants/{tenantId}";
const WEBHOOK = `${TENANT}/webhooks/{webhookId}`;
const DELIVERY = `${TENANT}/deliveries/{deliveryId}`;
const etag = { ETag: 'The webhook\'s version, e.g. `"3"`: send it back as `If-Match`.' };

/** Keyed by `<METHOD> <resource>`, exactly as in `apiRoutes`. */
export const operations = {
  "GET /tenants": {
    operationId: "listTenants",
    summary: "List tenants, by id",
    tag: "Tenants",
    auth: "iam",
    query: pageQuery,
    responses: { 200: tenantPageSchema },
    errors: [400],
  },
  [`PUT ${TENANT}`]: {
    operationId: "putTenant",
    summary: "Create (201) or update (200) a tenant; idempotent",
    tag: "Tenants",
    auth: "iam",
    body: putTenantSchema,
    responses: { 200: tenantSchema, 201: tenantSchema },
    errors: [400, 404, 409, 413],
    responseHeaders: { 201: { Location: "The tenant's path." } },
  },
  [`GET ${TENANT}`]: {
    operationId: "getTenant",
    summary: "One tenant, with its webhook count",
    tag: "Tenants",
    auth: "iam",
    responses: { 200: tenantSchema },
    errors: [404],
  },
  [`DELETE ${TENANT}`]: {
    operationId: "deleteTenant",
    summary: "Delete a tenant with its webhooks, subscriptions, secrets and events",
    tag: "Tenants",
    auth: "iam",
    responses: { 202: tenantDeletingSchema, 204: null },
    errors: [404],
  },
  [`POST ${TENANT}/webhooks`]: {
    operationId: "createWebhook",
    summary: "Create a webhook; the answer carries its signing secret, shown only here",
    tag: "Webhooks",
    auth: "iam",
    body: defaultWebhookSchemas.create,
    responses: { 201: createdWebhookSchema },
    errors: [400, 404, 409, 413, 422],
    responseHeaders: { 201: { Location: "The webhook's path.", ...etag } },
  },
  [`GET ${TENANT}/webhooks`]: {
    operationId: "listWebhooks",
    summary: "The tenant's webhooks; `event_type` lists those that would receive that type",
    tag: "Webhooks",
    auth: "iam",
    query: listWebhooksQuery,
    responses: { 200: webhookPageSchema },
    errors: [400, 404],
  },
  [`GET ${WEBHOOK}`]: {
    operationId: "getWebhook",
    summary: "One webhook (never its secret)",
    tag: "Webhooks",
    auth: "iam",
    responses: { 200: webhookSchema },
    errors: [404],
    responseHeaders: { 200: etag },
  },
  [`PATCH ${WEBHOOK}`]: {
    operationId: "updateWebhook",
    summary: "Partial update; `If-Match` (→ 412) or `version` in the body (→ 409) for optimistic concurrency",
    tag: "Webhooks",
    auth: "iam",
    body: defaultWebhookSchemas.update,
    headers: { "If-Match": 'The version last read, e.g. `"3"` (from `ETag`).' },
    responses: { 200: webhookSchema },
    errors: [400, 404, 409, 412, 413, 422],
    responseHeaders: { 200: etag },
  },
  [`DELETE ${WEBHOOK}`]: {
    operationId: "deleteWebhook",
    summary: "Delete a webhook, its subscriptions and its secret; its pending deliveries are dropped",
    tag: "Webhooks",
    auth: "iam",
    responses: { 204: null },
    errors: [404],
  },
  [`POST ${WEBHOOK}/rotate-secret`]: {
    operationId: "rotateSecret",
    summary: "Rotate the signing secret; the old one keeps signing until the grace period ends",
    tag: "Webhooks",
    auth: "iam",
    body: rotateSecretSchema,
    bodyOptional: true,
    responses: { 200: rotatedSecretSchema },
    errors: [400, 404, 409, 413],
    responseHeaders: { 200: etag },
  },
  [`POST ${WEBHOOK}/test`]: {
    operationId: "sendTestEvent",
    summary: "Send a `webhook.test` event to this webhook only, through the normal pipeline",
    tag: "Webhooks",
    auth: "iam",
    responses: { 202: testSentSchema },
    errors: [404],
  },
  [`POST ${WEBHOOK}/filter-test`]: {
    operationId: "testWebhookFilter",
    summary:
      "Would this webhook receive an event (its patterns, then its filter or a draft one), and which clause failed",
    tag: "Webhooks",
    auth: "iam",
    body: filterTestSchema,
    responses: { 200: filterTestResultSchema },
    errors: [400, 404, 413],
  },
  [`GET ${WEBHOOK}/attempts`]: {
    operationId: "listWebhookAttempts",
    summary: "The webhook's delivery attempts, newest first",
    tag: "Webhooks",
    auth: "iam",
    query: attemptsQuery,
    responses: { 200: attemptPageSchema },
    errors: [400, 404],
  },
  [`GET ${WEBHOOK}/deliveries`]: {
    operationId: "listWebhookDeliveries",
    summary: "The webhook's deliveries, most recently updated first (dropped ones with their reason)",
    tag: "Webhooks",
    auth: "iam",
    query: webhookDeliveriesQuery,
    responses: { 200: deliveryPageSchema },
    errors: [400, 404],
  },
  [`POST ${WEBHOOK}/recover`]: {
    operationId: "recoverWebhook",
    summary: "Re-enqueue the webhook's failed deliveries of a time window (up to 1000 a call)",
    tag: "Webhooks",
    auth: "iam",
    body: recoverSchema,
    responses: { 202: recoveredSchema },
    errors: [400, 404, 413],
  },
  [`POST ${TENANT}/events`]: {
    operationId: "publishEvent",
    summary: "Publish an event to the tenant's subscribed webhooks; idempotent on `id`",
    tag: "Events",
    auth: "iam",
    body: publishRequestSchema,
    responses: { 202: publishedSchema },
    errors: [400, 404, 409, 413],
  },
  [`POST ${TENANT}/events/batch`]: {
    operationId: "publishEvents",
    summary:
      "Publish up to 100 events (3 MB) in one request, each as `POST …/events` would, with one result per event",
    tag: "Events",
    auth: "iam",
    body: publishBatchRequestSchema,
    responses: { 200: batchPublishedSchema },
    errors: [400, 404, 413],
  },
  [`GET ${TENANT}/events`]: {
    operationId: "listEvents",
    summary: "The tenant's events, newest first",
    tag: "Events",
    auth: "iam",
    query: eventsQuery,
    responses: { 200: eventPageSchema },
    errors: [400, 404],
  },
  [`GET ${TENANT}/events/{eventId}`]: {
    operationId: "getEvent",
    summary: "One event with its data, fan-out result and deliveries",
    tag: "Events",
    auth: "iam",
    responses: { 200: eventDetailSchema },
    errors: [404],
  },
  [`GET ${DELIVERY}`]: {
    operationId: "getDelivery",
    summary: "One delivery: status, attempts, last outcome, reason",
    tag: "Deliveries",
    auth: "iam",
    responses: { 200: deliverySchema },
    errors: [404],
  },
  [`GET ${DELIVERY}/attempts`]: {
    operationId: "listDeliveryAttempts",
    summary: "The delivery's attempts",
    tag: "Deliveries",
    auth: "iam",
    query: pageQuery,
    responses: { 200: attemptPageSchema },
    errors: [400, 404],
  },
  [`POST ${DELIVERY}/retry`]: {
    operationId: "retryDelivery",
    summary: "Start a settled delivery again (same `webhook-id`)",
    tag: "Deliveries",
    auth: "iam",
    responses: { 202: deliverySchema },
    errors: [404, 409],
  },
  [`POST ${TENANT}/portal-sessions`]: {
    operationId: "createPortalSession",
    summary: "Mint a customer portal session: a token and the portal link with it in the fragment",
    tag: "Customer portal",
    auth: "iam",
    body: createSessionSchema,
    bodyOptional: true,
    responses: { 201: sessionSchema },
    errors: [400, 404, 413],
  },
  [`POST ${TENANT}/portal-sessions/revoke`]: {
    operationId: "revokePortalSessions",
    summary: "Revoke every portal session of the tenant issued until now",
    tag: "Customer portal",
    auth: "iam",
    responses: { 200: revokedSchema },
    errors: [404],
  },
  "GET /dlq": {
    operationId: "peekDeadLetters",
    summary: "What sits in the delivery dead-letter queue (operator-wide)",
    tag: "Dead letters",
    auth: "iam",
    query: dlqQuery,
    responses: { 200: deadLetterPeekSchema },
    errors: [400],
  },
  "POST /dlq/redrive": {
    operationId: "redriveDeadLetters",
    summary: "Move dead letters back to the delivery queue (optionally one tenant's or webhook's)",
    tag: "Dead letters",
    auth: "iam",
    body: redriveSchema,
    bodyOptional: true,
    responses: { 200: redriveResultSchema },
    errors: [400, 413],
  },
  "GET /event-types": {
    operationId: "listEventTypes",
    summary: "The event-type catalogue (global), by name; `archived=true` adds archived types",
    tag: "Event types",
    auth: "iam",
    query: eventTypeListQuery,
    responses: { 200: eventTypePageSchema },
    errors: [400],
  },
  "GET /event-types/openapi.json": {
    operationId: "exportEventTypes",
    summary: "The catalogue as an OpenAPI 3.1 document of the webhooks receivers get",
    tag: "Event types",
    auth: "iam",
    responses: { 200: eventTypesDocumentSchema },
    errors: [],
  },
  "PUT /event-types/{name}": {
    operationId: "putEventType",
    summary: "Create (201) or replace (200) a catalogued event type; its schema must compile",
    tag: "Event types",
    auth: "iam",
    body: putEventTypeSchema,
    responses: { 200: eventTypeResourceSchema, 201: eventTypeResourceSchema },
    errors: [400, 404, 409, 413],
    responseHeaders: { 201: { Location: "The event type's path." } },
  },
  "GET /event-types/{name}": {
    operationId: "getEventType",
    summary: "One catalogued event type, archived or not",
    tag: "Event types",
    auth: "iam",
    responses: { 200: eventTypeResourceSchema },
    errors: [404],
  },
  "DELETE /event-types/{name}": {
    operationId: "archiveEventType",
    summary: "Archive an event type: no new subscriptions; existing ones keep working",
    tag: "Event types",
    auth: "iam",
    responses: { 204: null },
    errors: [404],
  },
} as const satisfies Record<string, Operation>;

export type Operations = typeof operations;
export type OperationKey = keyof Operations;

type ResponsesOf<K extends OperationKey> = Operations[K]["responses"];
/** The body a route answers with a success status, as the contract states it. */
export type ResponseBody<
  K extends OperationKey,
  S extends keyof ResponsesOf<K>,
> = ResponsesOf<K>[S] extends z.ZodMiniType ? z.infer<ResponsesOf<K>[S]> : undefined;

export type Problem = z.infer<typeof problemSchema>;
export type TenantResource = z.infer<typeof tenantSchema>;
export type WebhookResource = z.infer<typeof webhookSchema>;
export type EventTypeResource = z.infer<typeof eventTypeResourceSchema>;
export type DeliveryResource = z.infer<typeof deliverySchema>;
export type AttemptResource = z.infer<typeof attemptSchema>;
export type EventSummaryResource = z.infer<typeof eventSummarySchema>;
export type EventDetailResource = z.infer<typeof eventDetailSchema>;
export type DeadLetterResource = z.infer<typeof deadLetterSchema>;
