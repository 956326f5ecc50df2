/**
 * One plain function per operation, named by its OpenAPI `operationId`: `await listWebhooks(client, { path:
 * { tenantId } })`. Each is `client.call(<operation>, params)`, typed from the contract; a bundler keeps only
 * the ones imported. Adding a route: one line here (a test compares these with docs/openapi.json).
 */
import type { OperationKey, ParamsArgument, Result, WebhooksClient } from "./client.ts";

const operation =
  <K extends OperationKey>(key: K) =>
  (client: WebhooksClient, ...params: ParamsArgument<K>): Promise<Result<K>> =>
    client.call(key, ...params);

/** List tenants, by id. */
export const listTenants = /*#__PURE__*/ operation("GET /tenants");

/** Create (201) or update (200) a tenant; idempotent. */
export const putTenant = /*#__PURE__*/ operation("PUT /tenants/{tenantId}");

/** One tenant, with its webhook count. */
export const getTenant = /*#__PURE__*/ operation("GET /tenants/{tenantId}");

/** Delete a tenant with its webhooks, subscriptions, secrets and events. */
export const deleteTenant = /*#__PURE__*/ operation("DELETE /tenants/{tenantId}");

/** Create a webhook; the answer carries its signing secret, shown only here. */
export const createWebhook = /*#__PURE__*/ operation("POST /tenants/{tenantId}/webhooks");

/** The tenant's webhooks; `event_type` lists those that would receive that type. */
export const listWebhooks = /*#__PURE__*/ operation("GET /tenants/{tenantId}/webhooks");

/** One webhook (never its secret). */
export const getWebhook = /*#__PURE__*/ operation("GET /tenants/{tenantId}/webhooks/{webhookId}");

/** Partial update; `If-Match` (→ 412) or `version` in the body (→ 409) for optimistic concurrency. */
export const updateWebhook = /*#__PURE__*/ operation("PATCH /tenants/{tenantId}/webhooks/{webhookId}");

/** Delete a webhook, its subscriptions and its secret; its pending deliveries are dropped. */
export const deleteWebhook = /*#__PURE__*/ operation("DELETE /tenants/{tenantId}/webhooks/{webhookId}");

/** Rotate the signing secret; the old one keeps signing until the grace period ends. */
export const rotateSecret = /*#__PURE__*/ operation(
  "POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret",
);

/** Send a `webhook.test` event to this webhook only, through the normal pipeline. */
export const sendTestEvent = /*#__PURE__*/ operation("POST /tenants/{tenantId}/webhooks/{webhookId}/test");

/** The webhook's delivery attempts, newest first. */
export const listWebhookAttempts = /*#__PURE__*/ operation(
  "GET /tenants/{tenantId}/webhooks/{webhookId}/attempts",
);

/** The webhook's deliveries, most recently updated first (dropped ones with their reason). */
export const listWebhookDeliveries = /*#__PURE__*/ operation(
  "GET /tenants/{tenantId}/webhooks/{webhookId}/deliveries",
);

/** Re-enqueue the webhook's failed deliveries of a time window (up to 1000 a call). */
export const recoverWebhook = /*#__PURE__*/ operation(
  "POST /tenants/{tenantId}/webhooks/{webhookId}/recover",
);

/** Publish an event to the tenant's subscribed webhooks; idempotent on `id`. */
export const publishEvent = /*#__PURE__*/ operation("POST /tenants/{tenantId}/events");

/**
 * Publish up to 100 events (3 MB) in one request; one result per event, in order. Every event without an id gets
 * one first, so that the client's retries (and yours, of the events whose result is a 5xx) are idempotent.
 */
export const publishEvents = /*#__PURE__*/ operation("POST /tenants/{tenantId}/events/batch");

/** The tenant's events, newest first. */
export const listEvents = /*#__PURE__*/ operation("GET /tenants/{tenantId}/events");

/** One event with its data, fan-out result and deliveries. */
export const getEvent = /*#__PURE__*/ operation("GET /tenants/{tenantId}/events/{eventId}");

/** One delivery: status, attempts, last outcome, reason. */
export const getDelivery = /*#__PURE__*/ operation("GET /tenants/{tenantId}/deliveries/{deliveryId}");

/** The delivery's attempts. */
export const listDeliveryAttempts = /*#__PURE__*/ operation(
  "GET /tenants/{tenantId}/deliveries/{deliveryId}/attempts",
);

/** Start a settled delivery again (same `webhook-id`). */
export const retryDelivery = /*#__PURE__*/ operation(
  "POST /tenants/{tenantId}/deliveries/{deliveryId}/retry",
);

/** Mint a customer portal session: a token and the portal link with it in the fragment (docs/portal.md). */
export const createPortalSession = /*#__PURE__*/ operation("POST /tenants/{tenantId}/portal-sessions");

/** Revoke every portal session of the tenant issued until now. */
export const revokePortalSessions = /*#__PURE__*/ operation(
  "POST /tenants/{tenantId}/portal-sessions/revoke",
);

/** What sits in the delivery dead-letter queue (operator-wide). */
export const peekDeadLetters = /*#__PURE__*/ operation("GET /dlq");

/** Move dead letters back to the delivery queue (optionally one tenant's or webhook's). */
export const redriveDeadLetters = /*#__PURE__*/ operation("POST /dlq/redrive");

/** Would this webhook receive an event, and which clause of its filter failed. */
export const testWebhookFilter = /*#__PURE__*/ operation(
  "POST /tenants/{tenantId}/webhooks/{webhookId}/filter-test",
);

/** The event-type catalogue (global), by name. */
export const listEventTypes = /*#__PURE__*/ operation("GET /event-types");

/** The catalogue as an OpenAPI 3.1 document of the webhooks receivers get. */
export const exportEventTypes = /*#__PURE__*/ operation("GET /event-types/openapi.json");

/** Create or replace a catalogued event type. */
export const putEventType = /*#__PURE__*/ operation("PUT /event-types/{name}");

/** One catalogued event type. */
export const getEventType = /*#__PURE__*/ operation("GET /event-types/{name}");

/** Archive an event type. */
export const archiveEventType = /*#__PURE__*/ operation("DELETE /event-types/{name}");
