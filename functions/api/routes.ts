/**
 * One function per management route: parse the request with zod, call the use case, shape the response.
 * Errors travel as named domain errors to the single mapping in `problemResponse`.
 */

import { withParts } from "#aws/runtime.ts";
import { cursorShapes } from "#aws/table-keys.ts";
import {
  type RecoveryDeps,
  recoverFailures,
  requireDelivery,
  retryDelivery,
  settleLetters,
} from "#core/delivery/recovery.ts";
import { maxAttemptsOf } from "#core/delivery/retry-policy.ts";
import { decodeCursor, encodeCursor } from "#core/http/cursor.ts";
import { headerOf, type ProxyRequest, parseJsonBody, parseWith, queryOf } from "#core/http/http-request.ts";
import { type HttpResponse, reply } from "#core/http/http-response.ts";
import {
  createWebhook,
  deleteWebhook,
  healthResource,
  type ManagementDeps,
  rotateSecret,
  sendTestEvent,
  testWebhookFilter,
  updateWebhook,
  webhookResources,
} from "#core/management/management.ts";
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
} from "#core/management/webhook-schemas.ts";
import type { CatalogueDeps } from "#core/routing/catalogue-admin.ts";
import { patternsMatching } from "#core/routing/event-types.ts";
import { loadCatalogueTools } from "#core/routing/lazy-modules.ts";
import { NotFoundError } from "#core/shared/errors.ts";
import { ID_SOURCES } from "#core/shared/ids.ts";
import { EVENT_ID_PATTERN, MAX_EVENT_BYTES, type Webhook } from "#core/shared/model.ts";
import { PLATFORM_VERSION } from "#core/signing/signing.ts";
import {
  deleteTenant,
  isTenantId,
  putTenant,
  putTenantSchema,
  requireTenant,
  type TenantDeps,
  tenantResource,
} from "#core/tenants/tenants.ts";
import type { ApiRuntime, TenantRoutesRuntime } from "./runtime.ts";

const MAX_BODY_BYTES = 64 * 1024;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const WEBHOOK_ID = new RegExp(`^${ID_SOURCES.webhook}$`);

export interface RouteContext {
  readonly runtime: TenantRoutesRuntime;
  readonly deps: ManagementDeps;
  readonly recovery: RecoveryDeps;
  readonly tenantDeps: TenantDeps;
  readonly schemas: ReturnType<typeof webhookSchemas>;
  readonly catalogue: CatalogueDeps;
}

/** The api's routes also read and redrive the DLQ (the portal's never do). */
export interface ApiRouteContext extends RouteContext {
  readonly runtime: ApiRuntime;
}

/** The routes' ports. Each part is read from the runtime on use: a client no request needed is never built. */
export function routeContext(runtime: TenantRoutesRuntime): RouteContext {
  return {
    runtime,
    deps: withParts<
      Pick<ManagementDeps, "maxWebhooksPerTenant" | "now">,
      Omit<ManagementDeps, "maxWebhooksPerTenant" | "now">
    >(
      { maxWebhooksPerTenant: runtime.config.maxWebhooksPerTenant, now: runtime.now },
      {
        tenants: () => runtime.tenants,
        webhooks: () => runtime.webhooks,
        secrets: () => runtime.secrets,
        deliveries: () => runtime.deliveries,
        events: () => runtime.events,
        subscriptions: () => runtime.webhooks,
        queue: () => runtime.queue,
        notices: () => runtime.notices,
        catalogue: () => ({ strict: runtime.config.strictEventTypes, store: runtime.eventTypes }),
      },
    ),
    recovery: withParts<Pick<RecoveryDeps, "now" | "random">, Omit<RecoveryDeps, "now" | "random">>(
      { now: runtime.now, random: runtime.random },
      {
        deliveries: () => runtime.deliveries,
        events: () => runtime.events,
        queue: () => runtime.queue,
      },
    ),
    schemas: webhookSchemas({
      policy: runtime.config.destinationPolicy,
      maxAttempts: maxAttemptsOf(runtime.config.retryPolicy),
      allowAuthorizationHeader: runtime.config.allowAuthorizationHeader,
    }),
    tenantDeps: withParts<Pick<TenantDeps, "now" | "contents">, Omit<TenantDeps, "now" | "contents">>(
      {
        contents: {
          webhookIds: (tenantId, limit) => runtime.webhooks.idsOfTenant(tenantId, limit),
          // A webhook deleted meanwhile (by its owner, or by an earlier try of this delete) is already done.
          deleteWebhook: (tenantId, webhookId) =>
            deleteWebhook(tenantId, webhookId, {
              webhooks: runtime.webhooks,
              secrets: runtime.secrets,
            }).catch((error: unknown) => {
              if (!(error instanceof NotFoundError)) throw error;
            }),
          deleteEvents: (tenantId, limit) => runtime.events.deleteSome(tenantId, limit),
        },
        now: runtime.now,
      },
      { tenants: () => runtime.tenants },
    ),
    catalogue: withParts<Pick<CatalogueDeps, "now">, Omit<CatalogueDeps, "now">>(
      { now: runtime.now },
      { store: () => runtime.eventTypes },
    ),
  };
}

/** A path id; anything that could not be an id of ours is simply not found. */
function idOf(event: ProxyRequest, what: "webhook" | "delivery"): string {
  const id = event.pathParameters?.[`${what}Id`] ?? "";
  if (!ID_PATTERN.test(id)) throw new NotFoundError(`${what} ${id.slice(0, 64)}`);
  return id;
}

/** The path's tenant id, shaped as one (its existence is checked where it matters: 404 like any unknown id). */
function tenantOf(event: ProxyRequest): string {
  const id = event.pathParameters?.tenantId ?? "";
  if (!isTenantId(id)) throw new NotFoundError(`tenant ${id.slice(0, 64)}`);
  return id;
}

const etag = (webhook: Webhook) => ({ etag: `"${webhook.version}"` });

/** `If-Match: "3"` (or `3`, or `W/"3"`) → 3; anything else cannot match a version and fails the precondition. */
function ifMatchVersion(event: ProxyRequest): number | undefined {
  const header = headerOf(event, "if-match");
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,12})"?$/.exec(header.trim());
  return match ? Number(match[1]) : -1;
}

async function listTenantsRoute(event: ProxyRequest, { runtime }: RouteContext): Promise<HttpResponse> {
  const query = parseWith(pageQuery, queryOf(event), "query");
  const cursor = decodeCursor(query.cursor, cursorShapes.tenantListing());
  const page = await runtime.tenants.list(query.limit ?? 50, cursor);
  return reply("GET /tenants", 200, {
    data: page.tenants.filter((tenant) => !tenant.deleting).map(tenantResource),
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

async function putTenantRoute(event: ProxyRequest, context: RouteContext): Promise<HttpResponse> {
  const id = tenantOf(event);
  const input = parseWith(putTenantSchema, parseJsonBody(event, MAX_BODY_BYTES));
  const { tenant, created } = await putTenant(id, input, context.tenantDeps);
  return reply(
    "PUT /tenants/{tenantId}",
    created ? 201 : 200,
    tenantResource(tenant),
    created ? { location: `/tenants/${id}` } : {},
  );
}

async function getTenantRoute(event: ProxyRequest, { runtime }: RouteContext): Promise<HttpResponse> {
  return reply(
    "GET /tenants/{tenantId}",
    200,
    tenantResource(await requireTenant(runtime.tenants, tenantOf(event))),
  );
}

async function deleteTenantRoute(event: ProxyRequest, context: RouteContext): Promise<HttpResponse> {
  const { complete } = await deleteTenant(tenantOf(event), context.tenantDeps);
  if (!complete)
    return reply("DELETE /tenants/{tenantId}", 202, {
      deleting: true,
      detail: "the delete goes on: repeat DELETE until it answers 204",
    });
  return { statusCode: 204, headers: {}, body: "" };
}

const shown = async (webhook: Webhook, context: RouteContext) => {
  const [resource] = await webhookResources([webhook], context.deps.catalogue);
  if (!resource) throw new Error("webhookResources answers one resource per webhook");
  return resource;
};

async function listWebhooks(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const { runtime } = context;
  const query = parseWith(listWebhooksQuery, queryOf(event), "query");
  await requireTenant(runtime.tenants, tenantId);
  const limit = query.limit ?? 50;
  const active = query.active === undefined ? undefined : query.active === "true";
  if (query.event_type === undefined) {
    const cursor = decodeCursor(query.cursor, cursorShapes.webhookListing(tenantId));
    const page = await runtime.webhooks.list(tenantId, limit, cursor, active);
    return reply("GET /tenants/{tenantId}/webhooks", 200, {
      data: await webhookResources(page.webhooks, context.deps.catalogue),
      nextCursor: encodeCursor(page.cursor) ?? null,
    });
  }
  // Which of the tenant's webhooks would receive this type: one index Query per matching pattern, then the page.
  const type = query.event_type;
  const perPattern = await Promise.all(
    patternsMatching(type).map((pattern) => runtime.webhooks.subscribedWebhookIds(tenantId, pattern)),
  );
  const ids = [
    ...new Set(
      perPattern
        .flat()
        .filter((entry) => active === undefined || entry.active === active)
        .map((entry) => entry.id),
    ),
  ].sort();
  const after = decodeCursor(query.cursor, { eventType: type, after: WEBHOOK_ID })?.after;
  const remaining = after === undefined ? ids : ids.filter((id) => id > after);
  const pageIds = remaining.slice(0, limit);
  const last = pageIds.at(-1);
  const webhooks = await runtime.webhooks.getMany(tenantId, pageIds);
  const next =
    remaining.length > limit && last !== undefined
      ? encodeCursor({ eventType: type, after: last })
      : undefined;
  return reply("GET /tenants/{tenantId}/webhooks", 200, {
    data: await webhookResources(webhooks, context.deps.catalogue),
    nextCursor: next ?? null,
  });
}

async function createRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId, basePath }: TenantScope,
): Promise<HttpResponse> {
  const input = parseWith(context.schemas.create, parseJsonBody(event, MAX_BODY_BYTES));
  const { webhook, secret } = await createWebhook(tenantId, input, context.deps);
  return reply(
    "POST /tenants/{tenantId}/webhooks",
    201,
    { ...(await shown(webhook, context)), secret },
    { location: `${basePath}/webhooks/${webhook.id}`, ...etag(webhook) },
  );
}

async function getWebhookRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const [webhook, health] = await Promise.all([
    context.runtime.webhooks.require(tenantId, id),
    context.runtime.health.get(tenantId, id),
  ]);
  return reply(
    "GET /tenants/{tenantId}/webhooks/{webhookId}",
    200,
    { ...(await shown(webhook, context)), health: healthResource(health) },
    etag(webhook),
  );
}

async function updateRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const input = parseWith(context.schemas.update, parseJsonBody(event, MAX_BODY_BYTES));
  const ifMatch = ifMatchVersion(event);
  const webhook = await updateWebhook(
    tenantId,
    id,
    input,
    ifMatch ?? input.version,
    ifMatch !== undefined,
    context.deps,
  );
  return reply(
    "PATCH /tenants/{tenantId}/webhooks/{webhookId}",
    200,
    await shown(webhook, context),
    etag(webhook),
  );
}

async function deleteRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  await deleteWebhook(tenantId, idOf(event, "webhook"), context.deps);
  return { statusCode: 204, headers: {}, body: "" };
}

async function rotateRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const input = parseWith(rotateSecretSchema, parseJsonBody(event, MAX_BODY_BYTES, true));
  const { webhook, secret } = await rotateSecret(tenantId, id, input.gracePeriodSeconds, context.deps);
  return reply(
    "POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret",
    200,
    { secret, previousSecretValidUntil: webhook.previousSecretValidUntil ?? null, version: webhook.version },
    etag(webhook),
  );
}

async function testRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  return reply(
    "POST /tenants/{tenantId}/webhooks/{webhookId}/test",
    202,
    await sendTestEvent(tenantId, idOf(event, "webhook"), context.deps),
  );
}

async function filterTestRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  // An event as large as a publish may carry, plus a filter.
  const input = parseWith(filterTestSchema, parseJsonBody(event, MAX_EVENT_BYTES + 8192));
  return reply(
    "POST /tenants/{tenantId}/webhooks/{webhookId}/filter-test",
    200,
    await testWebhookFilter(tenantId, id, input, context.deps),
  );
}

async function webhookAttemptsRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const query = parseWith(attemptsQuery, queryOf(event), "query");
  await runtime.webhooks.require(tenantId, id);
  const cursor = decodeCursor(query.cursor, cursorShapes.attemptsOfWebhook(id));
  const page = await runtime.deliveries.attemptsOfWebhook(id, query.limit ?? 50, cursor, query.status);
  return reply("GET /tenants/{tenantId}/webhooks/{webhookId}/attempts", 200, {
    data: page.items,
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

async function webhookDeliveriesRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const query = parseWith(webhookDeliveriesQuery, queryOf(event), "query");
  await runtime.webhooks.require(tenantId, id);
  const cursor = decodeCursor(query.cursor, cursorShapes.deliveriesOfWebhook(id));
  const page = await runtime.deliveries.deliveriesOfWebhook(id, query.limit ?? 50, cursor, query.status);
  return reply("GET /tenants/{tenantId}/webhooks/{webhookId}/deliveries", 200, {
    data: page.items,
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

/**
 * A time as the store writes it (`toISOString`), clamped to years 0000–9999: past them `toISOString` writes
 * `+010000-…` or `-000001-…`, which no longer sorts as text with the stored times a window is compared to.
 */
const EARLIEST = Date.parse("0000-01-01T00:00:00.000Z");
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");
const storedTime = (iso: string) =>
  new Date(Math.min(Math.max(Date.parse(iso), EARLIEST), LATEST)).toISOString();

async function recoverRoute(
  event: ProxyRequest,
  { runtime, recovery }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "webhook");
  const range = parseWith(recoverSchema, parseJsonBody(event, MAX_BODY_BYTES));
  await runtime.webhooks.require(tenantId, id);
  const since = storedTime(range.since);
  const until = storedTime(range.until ?? runtime.now().toISOString());
  return reply(
    "POST /tenants/{tenantId}/webhooks/{webhookId}/recover",
    202,
    await recoverFailures(tenantId, id, { since, until }, recovery),
  );
}

async function listEventsRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const query = parseWith(eventsQuery, queryOf(event), "query");
  await requireTenant(runtime.tenants, tenantId);
  const cursor = decodeCursor(query.cursor, cursorShapes.eventListing(tenantId));
  const page = await runtime.events.list(tenantId, query.limit ?? 50, cursor, query.type);
  return reply("GET /tenants/{tenantId}/events", 200, {
    data: page.items,
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

async function getEventRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  await requireTenant(runtime.tenants, tenantId);
  const id = event.pathParameters?.eventId ?? "";
  if (!EVENT_ID_PATTERN.test(id)) throw new NotFoundError(`event ${id.slice(0, 64)}`);
  const stored = await runtime.events.get(tenantId, id);
  if (!stored) throw new NotFoundError(`event ${id}`);
  const deliveries = await runtime.deliveries.deliveriesOfEvent(tenantId, id);
  const { body: _body, fingerprint: _fingerprint, recipients: _recipients, ...envelope } = stored;
  return reply("GET /tenants/{tenantId}/events/{eventId}", 200, {
    ...envelope,
    deliveries: deliveries.items,
  });
}

async function getDeliveryRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const tenant = await requireTenant(runtime.tenants, tenantId);
  return reply(
    "GET /tenants/{tenantId}/deliveries/{deliveryId}",
    200,
    await requireDelivery(runtime.deliveries, tenant, idOf(event, "delivery")),
  );
}

async function deliveryAttemptsRoute(
  event: ProxyRequest,
  { runtime }: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const id = idOf(event, "delivery");
  const query = parseWith(pageQuery, queryOf(event), "query");
  const tenant = await requireTenant(runtime.tenants, tenantId);
  await requireDelivery(runtime.deliveries, tenant, id);
  const cursor = decodeCursor(query.cursor, cursorShapes.attemptsOfDelivery(id));
  const page = await runtime.deliveries.attemptsOfDelivery(id, query.limit ?? 50, cursor);
  return reply("GET /tenants/{tenantId}/deliveries/{deliveryId}/attempts", 200, {
    data: page.items,
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

async function retryRoute(
  event: ProxyRequest,
  context: RouteContext,
  { tenantId }: TenantScope,
): Promise<HttpResponse> {
  const tenant = await requireTenant(context.runtime.tenants, tenantId);
  return reply(
    "POST /tenants/{tenantId}/deliveries/{deliveryId}/retry",
    202,
    await retryDelivery(tenant, idOf(event, "delivery"), context.recovery),
  );
}

async function dlqRoute(event: ProxyRequest, { runtime }: ApiRouteContext): Promise<HttpResponse> {
  const query = parseWith(dlqQuery, queryOf(event), "query");
  const { messages, truncated } = await runtime.dlq.peek(query.limit ?? 50, {
    tenantId: query.tenant_id,
    webhookId: query.webhook_id,
  });
  return reply("GET /dlq", 200, { data: messages, truncated });
}

async function redriveRoute(
  event: ProxyRequest,
  { runtime, recovery }: ApiRouteContext,
): Promise<HttpResponse> {
  const input = parseWith(redriveSchema, parseJsonBody(event, MAX_BODY_BYTES, true));
  const result = await runtime.dlq.redrive(
    { tenantId: input.tenantId, webhookId: input.webhookId, limit: input.limit ?? 100 },
    (letters) => settleLetters(letters, recovery),
    async (moved) => {
      // The moved messages outrank these records, so a failed write here cannot send anything twice.
      const unwritten = await runtime.deliveries
        .saveAll(moved)
        .catch(() => new Set(moved.map(({ delivery }) => delivery.id)));
      if (unwritten.size > 0)
        runtime.logger.warn("redrive: delivery records not reset", { deliveries: unwritten.size });
    },
  );
  return reply("POST /dlq/redrive", 200, result);
}

const typeNameOf = (event: ProxyRequest) => event.pathParameters?.name ?? "";

// The catalogue's routes load its tools (use cases, ajv, the OpenAPI export) on first use.

async function putEventTypeRoute(event: ProxyRequest, { catalogue }: RouteContext): Promise<HttpResponse> {
  const tools = await loadCatalogueTools();
  const name = typeNameOf(event);
  const input = parseWith(tools.putEventTypeSchema, parseJsonBody(event, MAX_BODY_BYTES));
  const { eventType, created } = await tools.putEventType(name, input, catalogue);
  const resource = tools.eventTypeResource(eventType);
  if (!created) return reply("PUT /event-types/{name}", 200, resource);
  return reply("PUT /event-types/{name}", 201, resource, {
    location: `/event-types/${encodeURIComponent(name)}`,
  });
}

async function listEventTypesRoute(event: ProxyRequest, { catalogue }: RouteContext): Promise<HttpResponse> {
  const tools = await loadCatalogueTools();
  const query = parseWith(tools.eventTypeListQuery, queryOf(event), "query");
  const cursor = decodeCursor(query.cursor, cursorShapes.eventTypeListing());
  const page = await tools.listEventTypes(query.limit ?? 100, cursor, query.archived === "true", catalogue);
  return reply("GET /event-types", 200, {
    data: page.items.map(tools.eventTypeResource),
    nextCursor: encodeCursor(page.cursor) ?? null,
  });
}

async function getEventTypeRoute(event: ProxyRequest, { catalogue }: RouteContext): Promise<HttpResponse> {
  const tools = await loadCatalogueTools();
  const eventType = await tools.getEventType(typeNameOf(event), catalogue);
  return reply("GET /event-types/{name}", 200, tools.eventTypeResource(eventType));
}

async function archiveEventTypeRoute(
  event: ProxyRequest,
  { catalogue }: RouteContext,
): Promise<HttpResponse> {
  await (await loadCatalogueTools()).archiveEventType(typeNameOf(event), catalogue);
  return { statusCode: 204, headers: {}, body: "" };
}

async function openApiRoute(_event: ProxyRequest, { catalogue }: RouteContext): Promise<HttpResponse> {
  const tools = await loadCatalogueTools();
  const document = tools.openApiDocument(await tools.liveEventTypes(catalogue), {
    title: "Serverless Webhooks: event types",
    version: PLATFORM_VERSION,
  });
  return reply("GET /event-types/openapi.json", 200, document);
}

export type RouteHandler = (event: ProxyRequest, context: ApiRouteContext) => Promise<HttpResponse>;

/** Whose data a tenant route works on, and where its resources live for the caller (for `location`). */
export interface TenantScope {
  readonly tenantId: string;
  /** `/tenants/<id>` on the management API, `/api` on the portal API. */
  readonly basePath: string;
}

/**
 * A route on one tenant's data. The front door decides the tenant: the management API from the path (IAM
 * decides who may call it), the portal API from the verified token (functions/portal/).
 */
export type TenantRouteHandler = (
  event: ProxyRequest,
  context: RouteContext,
  scope: TenantScope,
) => Promise<HttpResponse>;

const TENANT = "/tenants/{tenantId}";
const WEBHOOK = `${TENANT}/webhooks/{webhookId}`;
const DELIVERY = `${TENANT}/deliveries/{deliveryId}`;

/** The routes on one tenant's data, keyed by their management API `<METHOD> <resource>`. */
export const tenantRouteHandlers: Readonly<Record<string, TenantRouteHandler>> = {
  [`POST ${TENANT}/webhooks`]: createRoute,
  [`GET ${TENANT}/webhooks`]: listWebhooks,
  [`GET ${WEBHOOK}`]: getWebhookRoute,
  [`PATCH ${WEBHOOK}`]: updateRoute,
  [`DELETE ${WEBHOOK}`]: deleteRoute,
  [`POST ${WEBHOOK}/rotate-secret`]: rotateRoute,
  [`POST ${WEBHOOK}/test`]: testRoute,
  [`POST ${WEBHOOK}/filter-test`]: filterTestRoute,
  [`GET ${WEBHOOK}/attempts`]: webhookAttemptsRoute,
  [`POST ${WEBHOOK}/recover`]: recoverRoute,
  [`GET ${WEBHOOK}/deliveries`]: webhookDeliveriesRoute,
  [`GET ${TENANT}/events`]: listEventsRoute,
  [`GET ${TENANT}/events/{eventId}`]: getEventRoute,
  [`GET ${DELIVERY}`]: getDeliveryRoute,
  [`GET ${DELIVERY}/attempts`]: deliveryAttemptsRoute,
  [`POST ${DELIVERY}/retry`]: retryRoute,
};

/** Reads of the operator's event-type catalogue, which tenants may make too (the portal's event-type picker). */
export const catalogueReadHandlers: Readonly<Record<string, TenantRouteHandler>> = {
  "GET /event-types": (event, context) => listEventTypesRoute(event, context),
  "GET /event-types/{name}": (event, context) => getEventTypeRoute(event, context),
};

/** The management API's front door to a tenant route: the tenant is the path's. */
const fromPath =
  (route: TenantRouteHandler): RouteHandler =>
  (event, context) => {
    const tenantId = tenantOf(event);
    return route(event, context, { tenantId, basePath: `/tenants/${tenantId}` });
  };

/** Keyed by `<METHOD> <resource>`, exactly as in `apiRoutes` (those whose target is `api`). */
export const routeHandlers: Readonly<Record<string, RouteHandler>> = {
  "GET /tenants": listTenantsRoute,
  [`PUT ${TENANT}`]: putTenantRoute,
  [`GET ${TENANT}`]: getTenantRoute,
  [`DELETE ${TENANT}`]: deleteTenantRoute,
  ...Object.fromEntries(Object.entries(tenantRouteHandlers).map(([key, route]) => [key, fromPath(route)])),
  "GET /dlq": dlqRoute,
  "POST /dlq/redrive": redriveRoute,
  "GET /event-types": listEventTypesRoute,
  "GET /event-types/openapi.json": openApiRoute,
  "PUT /event-types/{name}": putEventTypeRoute,
  "GET /event-types/{name}": getEventTypeRoute,
  "DELETE /event-types/{name}": archiveEventTypeRoute,
};
