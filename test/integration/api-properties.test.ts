/**
 * Every route of the API, through the local API Gateway shim and the real handlers over the real engines, fed
 * generated requests that reach past the first checks: real webhook, delivery and event ids, real and forged
 * cursors, list limits at and past their bounds, recovery windows of every kind, nested and deeply nested JSON.
 * Whatever comes in: never a 5xx; every 4xx is a problem document (a 400 names each failing field); and a 4xx
 * leaves the table, the queues and the secrets exactly as they were.
 */
import type { LookupAddress } from "node:dns";
import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiRoute, apiRoutes } from "#core/api-routes.ts";
import { checkWebhookUrl } from "#core/destination-policy.ts";
import { MAX_DATA_DEPTH } from "#core/model.ts";
import { webhookSchemas } from "#core/webhook-schemas.ts";
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

/** Ids of things that exist (or existed), picked by index when a request is made: the pools change as it runs. */
type IdChoice =
  | { readonly kind: "webhook" | "delivery" | "event" | "gone"; readonly n: number }
  | { readonly kind: "raw"; readonly value: string };

interface Request {
  readonly route: ApiRoute;
  readonly id: IdChoice;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

/** A 4xx answer: an RFC 9457 problem document; a 400 lists every failing field with a message. */
function expectProblemDocument(response: Awaited<ReturnType<Pipeline["api"]>>, label: string) {
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
  const real = {
    webhooks: [] as string[],
    deliveries: [] as string[],
    events: [] as string[],
    gone: [] as string[],
  };
  /** Real listings with a second page: where a forged cursor reaches the Query if it gets past validation. */
  const listings: { route: ApiRoute; id: string; query: Record<string, string>; cursor: string }[] = [];

  const createWebhook = async () => {
    const created = await pipeline.api("POST", "/webhooks", {
      url: "https://hooks.example.com/in",
      eventTypes: ["prop.*"],
    });
    expect(created.status).toBe(201);
    return created.json.id as string;
  };

  beforeAll(async () => {
    // Production destination rules; every host resolves to a private address, so a delivery fails at once
    // (destination_blocked) and lands in the DLQ without any network: real failed deliveries, attempts, DLQ.
    const privateAddress: LookupAddress[] = [{ address: "10.0.0.1", family: 4 }];
    pipeline = await startPipeline({
      strictDestinations: true,
      schedule: "1",
      runtime: { resolver: async () => privateAddress },
    });
    for (let n = 0; n < 4; n += 1) real.webhooks.push(await createWebhook());
    for (let n = 0; n < 2; n += 1)
      real.events.push(
        (await pipeline.publishApi({ type: "prop.test", data: { n } })).json.eventId as string,
      );
    await pipeline.drain();
    for (const eventId of real.events) {
      const event = await pipeline.api("GET", `/events/${eventId}`);
      real.deliveries.push(...(event.json.deliveries as { id: string }[]).map((delivery) => delivery.id));
    }
    expect(real.deliveries).toHaveLength(8);
    const [first, second] = real.deliveries;
    // A second series of attempts for one delivery; another one retried and then dropped (webhook deleted).
    expect((await pipeline.api("POST", `/deliveries/${first}/retry`)).status).toBe(202);
    const doomed = (await pipeline.api("GET", `/deliveries/${second}`)).json.webhookId as string;
    expect((await pipeline.api("POST", `/deliveries/${second}/retry`)).status).toBe(202);
    expect((await pipeline.api("DELETE", `/webhooks/${doomed}`)).status).toBe(204);
    real.webhooks = real.webhooks.filter((id) => id !== doomed);
    real.gone.push(doomed);
    real.webhooks.push(await createWebhook());
    await pipeline.drain();
    const owner = (await pipeline.api("GET", `/deliveries/${first}`)).json.webhookId as string;
    const route = (resource: string) =>
      apiRoutes.find(
        (candidate) => candidate.method === "GET" && candidate.resource === resource,
      ) as ApiRoute;
    const toPage: { route: ApiRoute; id: string; query: Record<string, string> }[] = [
      { route: route("/webhooks"), id: "", query: {} },
      { route: route("/webhooks"), id: "", query: { event_type: "prop.test" } },
      { route: route("/webhooks/{id}/attempts"), id: owner, query: {} },
      { route: route("/deliveries/{id}/attempts"), id: first as string, query: {} },
    ];
    for (const listing of toPage) {
      const path = listing.route.resource.replace("{id}", listing.id);
      const page = await pipeline.api(
        "GET",
        `${path}?${new URLSearchParams({ ...listing.query, limit: "1" })}`,
      );
      expect(page.json.nextCursor, path).toEqual(expect.any(String));
      listings.push({ ...listing, cursor: page.json.nextCursor as string });
    }
  });
  afterAll(() => pipeline.close());

  function arbitraries() {
    const cursors = listings.map((listing) => listing.cursor);
    const positions = cursors.map(decode);
    const ids = [...real.webhooks, ...real.deliveries, ...real.events, ...real.gone];
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

    /** Mostly a real id of the kind the route takes, sometimes one of another kind, or anything. */
    const idChoice = (route: ApiRoute): fc.Arbitrary<IdChoice> => {
      const own = route.resource.startsWith("/webhooks/")
        ? "webhook"
        : route.resource.startsWith("/deliveries/")
          ? "delivery"
          : "event";
      return fc.oneof(
        { weight: 8, arbitrary: fc.nat().map((n) => ({ kind: own, n }) as const) },
        ...(["webhook", "delivery", "event", "gone"] as const).map((kind) =>
          fc.nat().map((n) => ({ kind, n }) as const),
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
      "eventType",
      "after",
      "x",
    );
    const keyValue = fc.oneof(
      fc.constantFrom(...new Set(positions.flatMap((position) => Object.values(position)))),
      fc.constantFrom("META", "WEBHOOKS", "ATTEMPT#000000#000001", "ATTEMPT#", "", "prop.test"),
      anyRealId,
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
      "GET /webhooks": fc.record(
        { limit, cursor, event_type: eventType, active: fc.constantFrom("true", "false", "yes", "") },
        { requiredKeys: [] },
      ),
      "GET /webhooks/{id}/attempts": fc.record(
        { limit, cursor, status: fc.constantFrom("succeeded", "failed", "pending", "") },
        { requiredKeys: [] },
      ),
      "GET /deliveries/{id}/attempts": fc.record({ limit, cursor }, { requiredKeys: [] }),
      "GET /dlq": fc.record({ limit, webhook_id: webhookIdParam }, { requiredKeys: [] }),
    };
    const strayQuery = fc.dictionary(
      fc.oneof(
        fc.constantFrom("limit", "cursor", "event_type", "active", "status", "webhook_id"),
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
          fc.constantFrom(...real.events),
          fc.string({ maxLength: 140 }),
          fc.constantFrom("evt_prop", "a:b.c-d"),
        ),
        source: fc.oneof(fc.string({ maxLength: 300 }), nested),
        timestamp: time,
      },
      { requiredKeys: ["type", "data"] },
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
      "POST /webhooks": fc.oneof(
        { weight: 3, arbitrary: validCreate },
        { weight: 3, arbitrary: withOneField(validCreate, createFields) },
        fc
          .constantFrom(...createFields)
          .chain((field) => deepField(field, { url: "https://hooks.example.com/a" })),
      ),
      "PATCH /webhooks/{id}": fc.oneof(
        { weight: 3, arbitrary: patch },
        withOneField(patch, [...createFields, "version"]),
        fc.constantFrom("headers", "eventTypes", "version").chain((field) => deepField(field)),
      ),
      "POST /webhooks/{id}/rotate-secret": fc.oneof(
        fc.constant(undefined),
        fc.record({ gracePeriodSeconds: count }, { requiredKeys: [] }),
      ),
      "POST /webhooks/{id}/recover": fc.oneof({ weight: 4, arbitrary: window }, deepField("since")),
      "POST /events": fc.oneof(
        { weight: 4, arbitrary: publish },
        deepField("data", { type: "prop.test" }),
        deep.map(([depth, as]) => `{"type":"prop.test","data":{"x":${deepJson(depth, as)}}}`),
      ),
      "POST /dlq/redrive": fc.record({ webhookId: webhookIdParam, limit: count }, { requiredKeys: [] }),
    };
    const ifMatch = fc.option(
      fc.constantFrom('"1"', '"2"', '"3"', 'W/"2"', "*", "garbage", '"99999999999999"', ""),
      { freq: 2 },
    );

    const request: fc.Arbitrary<Request> = fc.constantFrom(...apiRoutes).chain((route) => {
      const key = `${route.method} ${route.resource}`;
      return fc.record({
        route: fc.constant(route),
        id: idChoice(route),
        query: fc.oneof({ weight: 6, arbitrary: queries[key] ?? fc.constant({}) }, strayQuery),
        body: fc.oneof({ weight: 6, arbitrary: bodies[key] ?? generic }, generic),
        headers:
          key === "PATCH /webhooks/{id}"
            ? ifMatch.map((value): Record<string, string> => (value === null ? {} : { "if-match": value }))
            : fc.constant({}),
      });
    });
    /** The next page of a real listing, with its cursor kept, mutated, or taken from another listing. */
    const paging: fc.Arbitrary<Request> = fc.constantFrom(...listings).chain((listing) =>
      fc.record({
        route: fc.constant(listing.route),
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
            ...(listing.route.resource === "/webhooks/{id}/attempts" && status ? { status } : {}),
            ...(listing.route.resource === "/webhooks" && active ? { active } : {}),
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

  const pickId = (choice: IdChoice): string => {
    if (choice.kind === "raw") return choice.value;
    const pool = { webhook: real.webhooks, delivery: real.deliveries, event: real.events, gone: real.gone }[
      choice.kind
    ];
    return pool[choice.n % pool.length] as string;
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

  it("answers 2xx or a 4xx problem document naming the fields, never a 5xx, and a 4xx stores nothing", {
    timeout: 300_000,
  }, async () => {
    const { request } = arbitraries();
    let before = await storedState();
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ route, id: choice, query, body, headers }) => {
        const id = pickId(choice);
        const path = route.resource.replace("{id}", encodeURIComponent(id));
        const search = new URLSearchParams(query).toString();
        const url = `${path}${search ? `?${search}` : ""}`;
        const callsBefore = pipeline.calls.calls.length;
        const response = await pipeline.api(route.method, url, body, headers);
        const secretWrites = pipeline.calls.calls
          .slice(callsBefore)
          .filter((name) => SECRET_WRITES.has(name));
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const label = `${route.method} ${url} ${String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 300)} → ${response.status} ${response.body.slice(0, 300)}`;
        expect(response.status, label).toBeLessThan(500);
        if (response.status < 400) {
          if (route.method === "DELETE" && real.webhooks.includes(id)) {
            real.webhooks = real.webhooks.filter((webhook) => webhook !== id);
            real.gone.push(id);
            real.webhooks.push(await createWebhook());
          }
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
  });

  it("a refused create names the field it refused; whatever it stored satisfies the creation rules", async () => {
    const { createChanged } = arbitraries();
    await fc.assert(
      fc.asyncProperty(createChanged, async ({ body, field }) => {
        const response = await pipeline.api("POST", "/webhooks", body);
        expect([201, 400], response.body).toContain(response.status);
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
    const webhooks = [];
    let cursor: Json | undefined;
    do {
      const page = await pipeline.runtime.webhooks.list(100, cursor);
      webhooks.push(...page.webhooks);
      cursor = page.cursor;
    } while (cursor);
    expect(webhooks.length).toBeGreaterThan(5);
    for (const webhook of webhooks) {
      expect(() => checkWebhookUrl(webhook.url, pipeline.config.destinationPolicy)).not.toThrow();
      const reparsed = schemas.create.safeParse({
        url: webhook.url,
        eventTypes: webhook.eventTypes,
        headers: webhook.headers,
        ...(webhook.description === undefined ? {} : { description: webhook.description }),
        ...(webhook.maxAttempts === undefined ? {} : { maxAttempts: webhook.maxAttempts }),
      });
      expect(reparsed.success, JSON.stringify(webhook)).toBe(true);
    }
  });
});

describe("deeply nested event data", () => {
  it("is accepted up to MAX_DATA_DEPTH levels and refused one level deeper, naming data, at any depth", async () => {
    const pipeline = await startPipeline({ strictDestinations: true });
    const publish = (depth: number, as: "array" | "object") =>
      pipeline.api("POST", "/events", `{"type":"deep.one","data":{"x":${deepJson(depth - 1, as)}}}`);
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
      const response = await pipeline.api("GET", `/webhooks?${name}=1&${name}=2`);
      expect(response.status, name).toBe(400);
      expect(response.json.errors).toBeDefined();
    }
    const polluted = await pipeline.api(
      "POST",
      "/webhooks",
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
