/**
 * Every route of the API, through the local API Gateway shim and the real handlers over the real engines, fed
 * generated requests that reach past the first checks: real tenant ids (the ids' own tenant and another real one),
 * a deleted tenant's and forged ones; real webhook, delivery and event ids of both tenants, real and forged
 * cursors, list limits at and past their bounds, recovery windows of every kind, nested and deeply nested JSON.
 * Whatever comes in: never a 5xx; every 4xx is a problem document (a 400 names each failing field); and a 4xx
 * leaves the table, the queues and the secrets exactly as they were.
 */
import type { LookupAddress } from "node:dns";
import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWebhookUrl } from "#core/delivery/destination-policy.ts";
import { type ApiRoute, apiRoutes } from "#core/http/api-routes.ts";
import { webhookSchemas } from "#core/management/webhook-schemas.ts";
import { MAX_DATA_DEPTH, type Webhook } from "#core/shared/model.ts";
import { INVALID_BODY_RESPONSE } from "#local/api-gateway.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";

type Json = Record<string, unknown>;

const encode = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Json;

/** JSON text nested `depth` levels deep, as arrays or as objects. */
const deepJson = (depth: number, as: "array" | "object", leaf = "1") =>
  as === "array"
    ? `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;

const SECRET_WRITES = new Set([
  "CreateSecretCommand",
  "PutSecretValueCommand",
  "UpdateSecretVersionStageCommand",
  "DeleteSecretCommand",
  "RestoreSecretCommand",
]);

/**
 * The tenant in the path: one of the real tenants, one deleted before the run, a well-formed id nobody created
 * (yet: a PUT creates it), or anything at all.
 */
type TenantChoice =
  | { readonly kind: "real"; readonly n: number }
  | { readonly kind: "deleted" }
  | { readonly kind: "fresh"; readonly n: number }
  | { readonly kind: "raw"; readonly value: string };

type IdKind = "webhook" | "delivery" | "event" | "gone";

/**
 * Ids of things that exist (or existed), picked by index when a request is made (the pools change as it runs):
 * the path tenant's own, or another real tenant's.
 */
type IdChoice =
  | { readonly kind: IdKind; readonly owner: "own" | "other"; readonly n: number }
  | { readonly kind: "raw"; readonly value: string };

interface Request {
  readonly route: ApiRoute;
  readonly tenant: TenantChoice;
  readonly id: IdChoice;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

/** Which id a route's path takes besides the tenant's, if any. */
const idParameter = (route: ApiRoute) => /\{(webhookId|eventId|deliveryId)\}/.exec(route.resource)?.[1];

type Response = Awaited<ReturnType<Pipeline["api"]>>;

/** API Gateway's own refusal of a body its request model does not admit (the Lambda never sees it). */
const isGatewayRefusal = (response: Response) =>
  response.status === INVALID_BODY_RESPONSE.statusCode &&
  response.body === INVALID_BODY_RESPONSE.body &&
  response.headers["content-type"] === INVALID_BODY_RESPONSE.headers["content-type"];

/**
 * A 4xx answer: an RFC 9457 problem document; a 400 lists every failing field with a message. Or, for a body
 * the request model refuses, exactly API Gateway's answer to it.
 */
function expectProblemDocument(response: Response, label: string) {
  if (isGatewayRefusal(response)) return;
  expect(response.headers["content-type"], label).toBe("application/problem+json");
  expect(response.json, label).toMatchObject({
    type: "about:blank",
    status: response.status,
    title: expect.any(String),
  });
  if (response.status === 400) {
    const errors = response.json.errors as { field: unknown; message: unknown }[] | undefined;
    expect(errors?.length, label).toBeGreaterThan(0);
    for (const issue of errors ?? []) {
      expect(issue.field, label).toEqual(expect.stringMatching(/\S/));
      expect(issue.message, label).toEqual(expect.stringMatching(/\S/));
    }
  }
}

describe("every route, fed generated input", () => {
  let pipeline: Pipeline;
  /** The real tenants: the pipeline's own and a second one, each with webhooks, events and deliveries. */
  const tenants = ["t_test", "t_prop-second"];
  /** A tenant that existed, with a webhook, events and deliveries, and was deleted before the run. */
  const deletedTenant = "t_prop.deleted";
  interface Pool {
    webhooks: string[];
    deliveries: string[];
    events: string[];
    gone: string[];
  }
  const emptyPool = (): Pool => ({ webhooks: [], deliveries: [], events: [], gone: [] });
  /** What a create answered with, for each webhook created while the properties ran. */
  type Created = Pick<Webhook, "url" | "eventTypes" | "headers"> & {
    description?: string | null;
    maxAttempts?: number | null;
  };
  const accepted: Created[] = [];
  const pools = new Map<string, Pool>([...tenants, deletedTenant].map((tenant) => [tenant, emptyPool()]));
  const poolOf = (tenant: string) => pools.get(tenant) as Pool;
  /** Real listings with a second page: where a forged cursor reaches the Query if it gets past validation. */
  const listings: {
    route: ApiRoute;
    tenant: string;
    id: string;
    query: Record<string, string>;
    cursor: string;
  }[] = [];

  const createWebhook = async (tenant: string) => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks", tenant), {
      url: "https://hooks.example.com/in",
      eventTypes: ["prop.*"],
    });
    expect(created.status, created.body).toBe(201);
    return created.json.id as string;
  };

  /** Webhooks, two events fanned out to each, their deliveries failed and dead-lettered. */
  async function populate(tenant: string, webhooks: number) {
    const pool = poolOf(tenant);
    for (let n = 0; n < webhooks; n += 1) pool.webhooks.push(await createWebhook(tenant));
    for (let n = 0; n < 2; n += 1)
      pool.events.push(
        (await pipeline.publishApi({ type: "prop.test", data: { n } }, tenant)).json.eventId as string,
      );
    await pipeline.drain();
    for (const eventId of pool.events) {
      const event = await pipeline.api("GET", pipeline.under(`/events/${eventId}`, tenant));
      pool.deliveries.push(...(event.json.deliveries as { id: string }[]).map((delivery) => delivery.id));
    }
    expect(pool.deliveries).toHaveLength(2 * webhooks);
  }

  beforeAll(async () => {
    // Production destination rules; every host resolves to a private address, so a delivery fails at once
    // (destination_blocked) and lands in the DLQ without any network: real failed deliveries, attempts, DLQ.
    const privateAddress: LookupAddress[] = [{ address: "10.0.0.1", family: 4 }];
    pipeline = await startPipeline({
      strictDestinations: true,
      schedule: "1",
      runtime: { resolver: async () => privateAddress },
      // The creates below add well over the default 50 webhooks to a tenant; the limit has its own tests.
      environment: { MAX_WEBHOOKS_PER_TENANT: "1000" },
    });
    expect(pipeline.tenantId).toBe(tenants[0]);
    for (const tenant of [tenants[1], deletedTenant])
      expect((await pipeline.api("PUT", `/tenants/${tenant}`, { name: tenant })).status).toBe(201);
    await populate(tenants[0] as string, 4);
    await populate(tenants[1] as string, 2);
    await populate(deletedTenant, 1);
    expect((await pipeline.api("DELETE", `/tenants/${deletedTenant}`)).status).toBe(204);
    const deleted = poolOf(deletedTenant);
    deleted.gone.push(...deleted.webhooks.splice(0));

    const own = poolOf(tenants[0] as string);
    const [first, second] = own.deliveries;
    const at = (path: string) => pipeline.under(path);
    // A second series of attempts for one delivery; another one retried and then dropped (webhook deleted).
    expect((await pipeline.api("POST", at(`/deliveries/${first}/retry`))).status).toBe(202);
    const doomed = (await pipeline.api("GET", at(`/deliveries/${second}`))).json.webhookId as string;
    expect((await pipeline.api("POST", at(`/deliveries/${second}/retry`))).status).toBe(202);
    expect((await pipeline.api("DELETE", at(`/webhooks/${doomed}`))).status).toBe(204);
    own.webhooks = own.webhooks.filter((id) => id !== doomed);
    own.gone.push(doomed);
    own.webhooks.push(await createWebhook(pipeline.tenantId));
    await pipeline.drain();
    const owner = (await pipeline.api("GET", at(`/deliveries/${first}`))).json.webhookId as string;
    const route = (resource: string) =>
      apiRoutes.find(
        (candidate) => candidate.method === "GET" && candidate.resource === resource,
      ) as ApiRoute;
    const [ownTenant, otherTenant] = tenants as [string, string];
    const toPage: { route: ApiRoute; tenant: string; id: string; query: Record<string, string> }[] = [
      { route: route("/tenants"), tenant: "", id: "", query: {} },
      { route: route("/tenants/{tenantId}/webhooks"), tenant: ownTenant, id: "", query: {} },
      { route: route("/tenants/{tenantId}/webhooks"), tenant: otherTenant, id: "", query: {} },
      {
        route: route("/tenants/{tenantId}/webhooks"),
        tenant: ownTenant,
        id: "",
        query: { event_type: "prop.test" },
      },
      {
        route: route("/tenants/{tenantId}/webhooks/{webhookId}/attempts"),
        tenant: ownTenant,
        id: owner,
        query: {},
      },
      {
        route: route("/tenants/{tenantId}/deliveries/{deliveryId}/attempts"),
        tenant: ownTenant,
        id: first as string,
        query: {},
      },
      { route: route("/tenants/{tenantId}/events"), tenant: ownTenant, id: "", query: {} },
      {
        route: route("/tenants/{tenantId}/events"),
        tenant: otherTenant,
        id: "",
        query: { type: "prop.test" },
      },
    ];
    for (const listing of toPage) {
      const page = await pipeline.api(
        "GET",
        `${pathOf(listing.route, listing.tenant, listing.id)}?${new URLSearchParams({ ...listing.query, limit: "1" })}`,
      );
      expect(page.json.nextCursor, listing.route.resource).toEqual(expect.any(String));
      listings.push({ ...listing, cursor: page.json.nextCursor as string });
    }
  });
  afterAll(() => pipeline.close());

  /** The route's path with its parameters filled in (encoded as a client would). */
  function pathOf(route: ApiRoute, tenant: string, id: string) {
    return route.resource
      .replace("{tenantId}", encodeURIComponent(tenant))
      .replace(/\{(webhookId|eventId|deliveryId)\}/, encodeURIComponent(id));
  }

  function arbitraries() {
    const cursors = listings.map((listing) => listing.cursor);
    const positions = cursors.map(decode);
    const allPools = [...pools.values()];
    const ids = allPools.flatMap((pool) => [
      ...pool.webhooks,
      ...pool.deliveries,
      ...pool.events,
      ...pool.gone,
    ]);
    const isoTime = fc.oneof(
      fc
        .date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
        .map((date) => date.toISOString()),
      fc.constantFrom(
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00+01:00",
        "1970-01-01T00:00:00Z",
        "2024-02-29T12:00:00+05:30",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-14:00",
        "2026-01-01T00:00:00.123456789Z",
      ),
      // Around now, so that a window can hold the real failed deliveries.
      fc
        .integer({ min: -7200, max: 7200 })
        .map((seconds) => new Date(Date.now() + seconds * 1000).toISOString()),
    );
    const time = fc.oneof(
      { weight: 6, arbitrary: isoTime },
      fc.date().map((date) => (Number.isNaN(date.getTime()) ? "Invalid Date" : date.toISOString())),
      fc.constantFrom("2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T00:00Z", "now", "", "1767225600"),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const ordered = fc
      .tuple(isoTime, isoTime)
      .map(([a, b]) => (Date.parse(a) <= Date.parse(b) ? [a, b] : [b, a]));
    const window = fc.oneof(
      fc.record({ since: time, until: time }, { requiredKeys: ["since"] }),
      isoTime.map((at) => ({ since: at, until: at })),
      ordered.map(([since, until]) => ({ since, until })),
      ordered.map(([since, until]) => ({ since: until, until: since })),
      fc.record({ since: time, until: time, extra: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
    );

    /** Forged tenant ids: not of the pattern, of it but unknown, or one character off a real one. */
    const forgedTenant = fc.oneof(
      fc.string({ minLength: 1, maxLength: 70 }),
      fc.constantFrom(
        "t_missing",
        "T_TEST",
        "t_test ",
        " t_test",
        "t_test.",
        "t_tes",
        "t-test",
        "t_prop-second#",
        "TENANT#t_test",
        "a".repeat(64),
        "a".repeat(65),
        "a b",
        "a/b",
        "..",
        ".",
        "%2F",
        "*",
      ),
    );
    const tenantChoice: fc.Arbitrary<TenantChoice> = fc.oneof(
      { weight: 10, arbitrary: fc.nat().map((n) => ({ kind: "real", n }) as const) },
      fc.constant({ kind: "deleted" } as const),
      { weight: 2, arbitrary: fc.nat().map((n) => ({ kind: "fresh", n }) as const) },
      { weight: 2, arbitrary: forgedTenant.map((value) => ({ kind: "raw", value }) as const) },
    );
    /** A tenant id as a query parameter or body field: real, deleted or forged. */
    const anyTenantId = fc.oneof(fc.constantFrom(...tenants, deletedTenant), forgedTenant);

    /** Mostly a real id of the kind the route takes, of the path's tenant or another's; sometimes anything. */
    const idChoice = (route: ApiRoute): fc.Arbitrary<IdChoice> => {
      const parameter = idParameter(route);
      const own: IdKind =
        parameter === "webhookId" ? "webhook" : parameter === "deliveryId" ? "delivery" : "event";
      const owner = fc.constantFrom("own", "other") as fc.Arbitrary<"own" | "other">;
      return fc.oneof(
        { weight: 6, arbitrary: fc.nat().map((n) => ({ kind: own, owner: "own", n }) as const) },
        { weight: 3, arbitrary: fc.nat().map((n) => ({ kind: own, owner: "other", n }) as const) },
        ...(["webhook", "delivery", "event", "gone"] as const).map((kind) =>
          fc.tuple(owner, fc.nat()).map(([whose, n]) => ({ kind, owner: whose, n }) as const),
        ),
        fc
          .oneof(
            fc.string({ minLength: 1 }),
            fc.constantFrom("wh_x", "dlv_x", "evt_x", "wh_00000000000000000000000000", "..", "%2F", "a b"),
          )
          .map((value) => ({ kind: "raw", value }) as const),
      );
    };
    const anyRealId = fc.constantFrom(...ids);

    const keyName = fc.constantFrom(
      "pk",
      "sk",
      "gsi1pk",
      "gsi1sk",
      "gsi2pk",
      "gsi2sk",
      "gsi4pk",
      "gsi4sk",
      "eventType",
      "after",
      "x",
    );
    const keyValue = fc.oneof(
      fc.constantFrom(...new Set(positions.flatMap((position) => Object.values(position)))),
      fc.constantFrom("META", "TENANTS", "ATTEMPT#000000#000001", "ATTEMPT#", "", "prop.test"),
      anyRealId,
      anyTenantId.map((tenant) => `TENANT#${tenant}`),
      anyTenantId.map((tenant) => `TENANT#${tenant}#EVENTS`),
      fc.tuple(anyTenantId, anyRealId).map(([tenant, id]) => `TENANT#${tenant}#EVENT#${id}`),
      anyRealId.map((id) => `WEBHOOK#${id}`),
      anyRealId.map((id) => `DELIVERY#${id}`),
      anyRealId.map((id) => `WEBHOOK#${id}#ATTEMPTS`),
      fc.tuple(isoTime, anyRealId).map(([at, id]) => `${at}#${id}`),
      fc.tuple(isoTime, anyRealId).map(([at, id]) => `${at}#${id}#000001`),
      fc.string(),
      fc.string({ minLength: 1000, maxLength: 1100 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    /** A real position with attributes dropped, replaced or added. */
    const mutated = (position: Json) =>
      fc
        .tuple(fc.subarray(Object.keys(position)), fc.dictionary(keyName, keyValue, { maxKeys: 2 }))
        .map(([dropped, changes]) => {
          const forged: Json = { ...position };
          for (const name of dropped) delete forged[name];
          return { ...forged, ...changes };
        });
    const forgedPosition = fc.oneof(
      fc.constantFrom(...positions).chain(mutated),
      fc.dictionary(keyName, keyValue, { maxKeys: 6 }),
    );
    const cursor = fc.oneof(
      fc.constantFrom(...cursors),
      { weight: 4, arbitrary: forgedPosition.map(encode) },
      fc.string().map((text) => Buffer.from(text).toString("base64url")),
      fc.jsonValue({ maxDepth: 3 }).map(encode),
      fc.string({ maxLength: 40 }),
    );
    const limit = fc.oneof(
      fc.constantFrom(
        "0",
        "1",
        "50",
        "100",
        "101",
        "-1",
        "abc",
        "1.5",
        "1e2",
        " 5",
        "05",
        "",
        "1000",
        "0001",
      ),
      fc.integer().map(String),
      fc.string({ maxLength: 5 }),
    );
    const webhookIdParam = fc.oneof(anyRealId, fc.string({ maxLength: 70 }));
    const eventType = fc.oneof(
      fc.constantFrom("prop.test", "prop.other", "a.b", "a", "*", "a.*", "", ".", "a..b"),
      fc.string({ maxLength: 30 }),
    );
    const queries: Partial<Record<string, fc.Arbitrary<Record<string, string>>>> = {
      "GET /tenants": fc.record({ limit, cursor }, { requiredKeys: [] }),
      "GET /tenants/{tenantId}/webhooks": fc.record(
        { limit, cursor, event_type: eventType, active: fc.constantFrom("true", "false", "yes", "") },
        { requiredKeys: [] },
      ),
      "GET /tenants/{tenantId}/webhooks/{webhookId}/attempts": fc.record(
        { limit, cursor, status: fc.constantFrom("succeeded", "failed", "pending", "") },
        { requiredKeys: [] },
      ),
      "GET /tenants/{tenantId}/deliveries/{deliveryId}/attempts": fc.record(
        { limit, cursor },
        { requiredKeys: [] },
      ),
      "GET /tenants/{tenantId}/events": fc.record({ limit, cursor, type: eventType }, { requiredKeys: [] }),
      "GET /dlq": fc.record(
        { limit, tenant_id: anyTenantId, webhook_id: webhookIdParam },
        { requiredKeys: [] },
      ),
    };
    const strayQuery = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          "limit",
          "cursor",
          "event_type",
          "active",
          "status",
          "webhook_id",
          "tenant_id",
          "type",
        ),
        fc.string({ maxLength: 10 }),
      ),
      fc.string({ maxLength: 30 }),
      { maxKeys: 3 },
    );

    const nested = fc.jsonValue({ maxDepth: 8, depthSize: "medium" });
    const deep = fc.tuple(
      fc.integer({ min: 20, max: 6000 }),
      fc.constantFrom("array", "object") as fc.Arbitrary<"array" | "object">,
    );
    /** A JSON body text with `field` nested deep. */
    const deepField = (field: string, around: Json = {}) =>
      deep.map(([depth, as]) => {
        const rest = JSON.stringify(around).slice(1, -1);
        return `{${rest}${rest ? "," : ""}"${field}":${deepJson(depth, as)}}`;
      });
    const validCreate = fc.record(
      {
        url: fc.constantFrom(
          "https://hooks.example.com/a",
          "https://api.example.org/in?x=1",
          "https://1.1.1.1/",
        ),
        eventTypes: fc.uniqueArray(fc.constantFrom("a.b", "a.*", "*", "prop.test", "x-y.z_1"), {
          minLength: 1,
        }),
        headers: fc.dictionary(
          fc.constantFrom("X-Tenant", "X-Env", "Accept-Language"),
          fc.string({ maxLength: 20 }).filter((value) => !/[\r\n\0]/.test(value)),
        ),
        description: fc.string({ maxLength: 50 }),
        maxAttempts: fc.integer({ min: 1, max: 2 }),
        signatureScheme: fc.constantFrom("standard", "standard+github"),
        active: fc.boolean(),
      },
      { requiredKeys: ["url", "eventTypes"] },
    );
    /** A body with one field (which one is returned too) replaced by arbitrary JSON. */
    const oneFieldChanged = <T extends Json>(base: fc.Arbitrary<T>, fields: string[]) =>
      fc
        .tuple(base, fc.constantFrom(...fields), fc.oneof(nested, fc.string(), fc.integer(), fc.double()))
        .map(([body, field, value]) => ({ body: { ...body, [field]: value }, field }));
    const withOneField = <T extends Json>(base: fc.Arbitrary<T>, fields: string[]) =>
      oneFieldChanged(base, fields).map(({ body }) => body);
    const createFields = [
      "url",
      "eventTypes",
      "headers",
      "description",
      "maxAttempts",
      "signatureScheme",
      "active",
    ];
    const patch = fc.record(
      {
        url: fc.constantFrom("https://hooks.example.com/b", "http://hooks.example.com/", "https://10.0.0.1/"),
        eventTypes: fc.array(fc.constantFrom("prop.*", "a.b", "*", "a"), { maxLength: 3 }),
        headers: fc.dictionary(
          fc.constantFrom("X-Tenant", "Host", "x-webhook-id"),
          fc.string({ maxLength: 10 }),
        ),
        description: fc.option(fc.string({ maxLength: 30 })),
        maxAttempts: fc.option(fc.integer({ min: -1, max: 3 })),
        active: fc.boolean(),
        version: fc.integer({ min: -1, max: 6 }),
      },
      { requiredKeys: [] },
    );
    const number = fc.oneof(
      fc.constantFrom(1e308, -1e308, 5e-324, 1e126, 1e125, 1e-130, 1e-131, 2 ** 53 + 1, 0.1, -0),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const publish = fc.record(
      {
        type: eventType,
        data: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 10 }), nested),
          fc.dictionary(fc.string(), number),
          nested,
        ),
        id: fc.oneof(
          // Another tenant's event ids too: ids are unique per tenant only.
          fc.constantFrom(...allPools.flatMap((pool) => pool.events)),
          fc.string({ maxLength: 140 }),
          fc.constantFrom("evt_prop", "a:b.c-d"),
        ),
        source: fc.oneof(fc.string({ maxLength: 300 }), nested),
        timestamp: time,
      },
      { requiredKeys: ["type", "data"] },
    );
    const validTenant = fc.record(
      {
        name: fc.string({ minLength: 1, maxLength: 50 }).filter((name) => name.trim() !== ""),
        metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 50 }), {
          maxKeys: 5,
        }),
      },
      { requiredKeys: ["name"] },
    );
    const tenant = fc.record(
      {
        name: fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom("", " ", "ACME", "x".repeat(256), "x".repeat(257)),
          nested,
        ),
        metadata: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 70 }), fc.string({ maxLength: 1100 }), { maxKeys: 22 }),
          fc.dictionary(fc.string({ maxLength: 10 }), nested, { maxKeys: 3 }),
          nested,
        ),
      },
      { requiredKeys: [] },
    );
    const count = fc.oneof(
      fc.constantFrom(0, 1, 100, 1000, 1001, -1, 1.5, 604800, 604801, 86400),
      fc.integer(),
      fc.string({ maxLength: 5 }),
      nested,
    );
    const generic = fc.oneof(
      fc.constant(undefined),
      fc.json(),
      fc.string(),
      nested,
      deep.map(([depth, as]) => deepJson(depth, as)),
    );
    const bodies: Partial<Record<string, fc.Arbitrary<unknown>>> = {
      "PUT /tenants/{tenantId}": fc.oneof(
        { weight: 4, arbitrary: validTenant },
        { weight: 2, arbitrary: tenant },
        fc.constantFrom("name", "metadata").chain((field) => deepField(field, { name: "Deep" })),
      ),
      "POST /tenants/{tenantId}/webhooks": fc.oneof(
        { weight: 6, arbitrary: validCreate },
        { weight: 3, arbitrary: withOneField(validCreate, createFields) },
        fc
          .constantFrom(...createFields)
          .chain((field) => deepField(field, { url: "https://hooks.example.com/a" })),
      ),
      "PATCH /tenants/{tenantId}/webhooks/{webhookId}": fc.oneof(
        { weight: 3, arbitrary: patch },
        withOneField(patch, [...createFields, "version"]),
        fc.constantFrom("headers", "eventTypes", "version").chain((field) => deepField(field)),
      ),
      "POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret": fc.oneof(
        fc.constant(undefined),
        fc.record({ gracePeriodSeconds: count }, { requiredKeys: [] }),
      ),
      "POST /tenants/{tenantId}/webhooks/{webhookId}/recover": fc.oneof(
        { weight: 4, arbitrary: window },
        deepField("since"),
      ),
      "POST /tenants/{tenantId}/events": fc.oneof(
        { weight: 4, arbitrary: publish },
        deepField("data", { type: "prop.test" }),
        deep.map(([depth, as]) => `{"type":"prop.test","data":{"x":${deepJson(depth, as)}}}`),
      ),
      "POST /tenants/{tenantId}/events/batch": fc.oneof(
        { weight: 4, arbitrary: fc.record({ events: fc.array(publish, { minLength: 1, maxLength: 4 }) }) },
        fc.record({ events: fc.array(fc.oneof(publish, generic), { maxLength: 3 }) }, { requiredKeys: [] }),
        deepField("events"),
        deep.map(([depth, as]) => `{"events":[{"type":"prop.test","data":{"x":${deepJson(depth, as)}}}]}`),
      ),
      "POST /dlq/redrive": fc.record(
        { tenantId: anyTenantId, webhookId: webhookIdParam, limit: count },
        { requiredKeys: [] },
      ),
    };
    const ifMatch = fc.option(
      fc.constantFrom('"1"', '"2"', '"3"', 'W/"2"', "*", "garbage", '"99999999999999"', ""),
      { freq: 2 },
    );

    const request: fc.Arbitrary<Request> = fc.constantFrom(...apiRoutes).chain((route) => {
      const key = `${route.method} ${route.resource}`;
      return fc.record({
        route: fc.constant(route),
        tenant: tenantChoice,
        id: idChoice(route),
        query: fc.oneof({ weight: 6, arbitrary: queries[key] ?? fc.constant({}) }, strayQuery),
        body: fc.oneof({ weight: 6, arbitrary: bodies[key] ?? generic }, generic),
        headers:
          key === "PATCH /tenants/{tenantId}/webhooks/{webhookId}"
            ? ifMatch.map((value): Record<string, string> => (value === null ? {} : { "if-match": value }))
            : fc.constant({}),
      });
    });
    /** The next page of a real listing, with its cursor kept, mutated, or taken from another listing. */
    const paging: fc.Arbitrary<Request> = fc.constantFrom(...listings).chain((listing) =>
      fc.record({
        route: fc.constant(listing.route),
        tenant: fc.constant({ kind: "raw", value: listing.tenant } as const),
        id: fc.constant({ kind: "raw", value: listing.id } as const),
        query: fc
          .record(
            {
              cursor: fc.oneof({ weight: 4, arbitrary: mutated(decode(listing.cursor)).map(encode) }, cursor),
              limit: fc.constantFrom("1", "2", "100"),
              status: fc.constantFrom("succeeded", "failed"),
              active: fc.constantFrom("true", "false"),
            },
            { requiredKeys: ["cursor"] },
          )
          .map(({ status, active, ...rest }) => ({
            ...listing.query,
            ...rest,
            ...(listing.route.resource.endsWith("/attempts") &&
            listing.route.resource.includes("{webhookId}") &&
            status
              ? { status }
              : {}),
            ...(listing.route.resource === "/tenants/{tenantId}/webhooks" && active ? { active } : {}),
          })),
        body: fc.constant(undefined),
        headers: fc.constant({}),
      }),
    );
    return {
      request: fc.oneof({ weight: 4, arbitrary: request }, paging),
      createChanged: oneFieldChanged(validCreate, createFields),
    };
  }

  const pickTenant = (choice: TenantChoice): string => {
    if (choice.kind === "raw") return choice.value;
    if (choice.kind === "deleted") return deletedTenant;
    if (choice.kind === "fresh") return `t_fresh-${choice.n}`;
    return tenants[choice.n % tenants.length] as string;
  };

  /** The id, from the pool of the path's tenant (`own`) or of another real tenant (`other`). */
  const pickId = (choice: IdChoice, tenant: string): string => {
    if (choice.kind === "raw") return choice.value;
    const ownTenant = pools.has(tenant) ? tenant : (tenants[0] as string);
    const others = [...pools.keys()].filter((candidate) => candidate !== ownTenant);
    const pool = poolOf(choice.owner === "own" ? ownTenant : (others[choice.n % others.length] as string));
    const ids = {
      webhook: pool.webhooks,
      delivery: pool.deliveries,
      event: pool.events,
      gone: pool.gone,
    }[choice.kind];
    // A pool can be empty (the deleted tenant has no live webhook): then its gone ones.
    const from = ids.length > 0 ? ids : pool.gone;
    return from[choice.n % from.length] as string;
  };

  /** What a 4xx must not change: every item of the table, both queues' depths, and no secret written. */
  async function storedState() {
    const scan = async () => {
      const items: string[] = [];
      let start: ScanCommandOutput["LastEvaluatedKey"];
      do {
        const page = await pipeline.clients.documents.send(
          new ScanCommand({
            TableName: pipeline.resources.tableName,
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        items.push(...(page.Items ?? []).map((item) => JSON.stringify(Object.entries(item).sort())));
        start = page.LastEvaluatedKey;
      } while (start);
      return items.sort();
    };
    const [items, deliveryQueue, deadLetterQueue] = await Promise.all([
      scan(),
      pipeline.queueDepth(pipeline.resources.deliveryQueueUrl),
      pipeline.queueDepth(pipeline.resources.deadLetterQueueUrl),
    ]);
    return { items, deliveryQueue, deadLetterQueue };
  }

  /**
   * After a 2xx: keeps what a create answered; after a DELETE, keeps the pools real (what was deleted is gone,
   * and a new one takes its place).
   */
  async function afterSuccess(route: ApiRoute, tenant: string, id: string, response: Response) {
    if (response.status === 201 && route.resource.endsWith("/webhooks"))
      accepted.push(response.json as unknown as Created);
    const pool = pools.get(tenant);
    if (route.method !== "DELETE" || !pool) return;
    if (route.resource === "/tenants/{tenantId}") {
      // The tenant went with its webhooks: it comes back (as its customer would) with a new one.
      pool.gone.push(...pool.webhooks.splice(0));
      if (tenant === deletedTenant) return;
      expect((await pipeline.api("PUT", `/tenants/${tenant}`, { name: tenant })).status).toBe(201);
      pool.webhooks.push(await createWebhook(tenant));
    } else if (pool.webhooks.includes(id)) {
      pool.webhooks = pool.webhooks.filter((webhook) => webhook !== id);
      pool.gone.push(id);
      pool.webhooks.push(await createWebhook(tenant));
    }
  }

  it("answers 2xx or a 4xx problem document naming the fields, never a 5xx, and a 4xx stores nothing", {
    timeout: 300_000,
  }, async () => {
    const { request } = arbitraries();
    let before = await storedState();
    const seen = new Map<number, number>();
    const tenantKinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ route, tenant: tenantChoice, id: choice, query, body, headers }) => {
        const tenant = pickTenant(tenantChoice);
        const id = pickId(choice, tenant);
        const path = pathOf(route, tenant, id);
        const search = new URLSearchParams(query).toString();
        const url = `${path}${search ? `?${search}` : ""}`;
        const callsBefore = pipeline.calls.calls.length;
        const response = await pipeline.api(route.method, url, body, headers);
        const secretWrites = pipeline.calls.calls
          .slice(callsBefore)
          .filter((name) => SECRET_WRITES.has(name));
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const kind = `${tenantChoice.kind} ${response.status < 300 ? "2xx" : response.status}`;
        if (route.resource.includes("{tenantId}")) tenantKinds.set(kind, (tenantKinds.get(kind) ?? 0) + 1);
        const label = `${route.method} ${url} ${String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 300)} → ${response.status} ${response.body.slice(0, 300)}`;
        expect(response.status, label).toBeLessThan(500);
        if (response.status < 400) {
          await afterSuccess(route, tenant, id, response);
          before = await storedState();
          return;
        }
        expectProblemDocument(response, label);
        expect(secretWrites, label).toEqual([]);
        expect(await storedState(), label).toEqual(before);
      }),
      { numRuns: 400 },
    );
    // The generators reach the use cases, not only the validation at the door.
    for (const status of [200, 201, 202, 204, 400, 404])
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    // Real tenants got through to their resources (and to other tenants' ids: 404); deleted, unknown and forged
    // ones were turned away.
    expect(tenantKinds.get("real 2xx") ?? 0).toBeGreaterThan(0);
    expect(tenantKinds.get("real 404") ?? 0).toBeGreaterThan(0);
    expect(tenantKinds.get("deleted 404") ?? 0).toBeGreaterThan(0);
    expect(tenantKinds.get("raw 404") ?? 0).toBeGreaterThan(0);
    expect(tenantKinds.get("fresh 404") ?? 0).toBeGreaterThan(0);
  });

  it("a refused create names the field it refused; whatever it stored satisfies the creation rules", async () => {
    const { createChanged } = arbitraries();
    await fc.assert(
      fc.asyncProperty(createChanged, async ({ body, field }) => {
        const through = await pipeline.api("POST", pipeline.under("/webhooks"), body);
        // What the gateway's model refuses without naming a field, the Lambda's own validation must name.
        const response = isGatewayRefusal(through)
          ? await pipeline.lambdaApi("POST", pipeline.under("/webhooks"), body)
          : through;
        expect([201, 400], response.body).toContain(response.status);
        if (response.status === 201) accepted.push(response.json as unknown as Created);
        if (response.status === 400) {
          for (const issue of response.json.errors as { field: string }[])
            expect(issue.field === field || issue.field.startsWith(`${field}.`), response.body).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
    const schemas = webhookSchemas({
      policy: pipeline.config.destinationPolicy,
      maxAttempts: 2,
      allowAuthorizationHeader: false,
    });
    // Every webhook stored now, in every tenant (those the runs created included), and every webhook a create
    // answered with during the runs (a tenant deleted since took its own with it).
    const webhooks: Created[] = [...accepted];
    let tenantCursor: Json | undefined;
    do {
      const tenantPage = await pipeline.runtime.tenants.list(100, tenantCursor);
      for (const { id } of tenantPage.tenants) {
        let cursor: Json | undefined;
        do {
          const page = await pipeline.runtime.webhooks.list(id, 100, cursor);
          webhooks.push(...page.webhooks);
          cursor = page.cursor;
        } while (cursor);
      }
      tenantCursor = tenantPage.cursor;
    } while (tenantCursor);
    // Creates were accepted (by this property and the routes' one above, whose share of creates shrinks as routes
    // are added), so the checks below judge real stored webhooks, not an empty list.
    expect(accepted.length).toBeGreaterThan(0);
    for (const webhook of webhooks) {
      expect(() => checkWebhookUrl(webhook.url, pipeline.config.destinationPolicy)).not.toThrow();
      const reparsed = schemas.create.safeParse({
        url: webhook.url,
        eventTypes: webhook.eventTypes,
        headers: webhook.headers,
        ...(webhook.description == null ? {} : { description: webhook.description }),
        ...(webhook.maxAttempts == null ? {} : { maxAttempts: webhook.maxAttempts }),
      });
      expect(reparsed.success, JSON.stringify(webhook)).toBe(true);
    }
  });
});

describe("deeply nested event data", () => {
  it("is accepted up to MAX_DATA_DEPTH levels and refused one level deeper, naming data, at any depth", async () => {
    const pipeline = await startPipeline({ strictDestinations: true });
    const publish = (depth: number, as: "array" | "object") =>
      pipeline.api(
        "POST",
        pipeline.under("/events"),
        `{"type":"deep.one","data":{"x":${deepJson(depth - 1, as)}}}`,
      );
    for (const as of ["array", "object"] as const) {
      // `data` is level 1; `x`'s value is level 2, so depth - 1 nested levels under `x` reach `depth`.
      expect((await publish(MAX_DATA_DEPTH, as)).status, as).toBe(202);
      for (const depth of [MAX_DATA_DEPTH + 1, 10_000, 40_000]) {
        const refused = await publish(depth, as);
        expect(refused.json, `${as} ${depth}`).toMatchObject({ status: 400, errors: [{ field: "data" }] });
      }
    }
    pipeline.close();
  });
});

describe("hostile keys", () => {
  it("treat __proto__, constructor and valueOf as plain names in queries and headers", async () => {
    const pipeline = await startPipeline({ strictDestinations: true });
    for (const name of ["__proto__", "constructor", "valueOf", "toString", "hasOwnProperty"]) {
      const response = await pipeline.api("GET", pipeline.under(`/webhooks?${name}=1&${name}=2`));
      expect(response.status, name).toBe(400);
      expect(response.json.errors).toBeDefined();
    }
    const polluted = await pipeline.api(
      "POST",
      pipeline.under("/webhooks"),
      '{"url":"https://example.com/","eventTypes":["a"],"headers":{"__proto__":"x"}}',
    );
    // zod's record parsing drops the key without touching any prototype: nothing odd is stored or answered.
    expect(polluted.status).toBe(201);
    expect(Object.hasOwn(polluted.json.headers as object, "__proto__")).toBe(false);
    expect(Object.getPrototypeOf(polluted.json.headers)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    pipeline.close();
  });
});
