/**
 * Tenants through the API: create or update (PUT, idempotent), list, read with the webhook count, delete with
 * everything the tenant owns, the per-tenant webhook limit under concurrency, and isolation — another tenant's
 * ids under a tenant's path answer exactly like ids that do not exist, and no delivery ever crosses tenants.
 */
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiRoute, apiRoutes } from "#core/http/api-routes.ts";
import { deliveryIdFor, newEventId, newWebhookId } from "#core/shared/ids.ts";
import { secretOwner } from "#core/signing/signing-secrets.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

type Json = Record<string, unknown>;
type Response = Awaited<ReturnType<Pipeline["api"]>>;

let pipeline: Pipeline;
let receiver: Receiver;

beforeAll(async () => {
  pipeline = await startPipeline({ schedule: "1" });
  receiver = await startReceiver();
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
});

const put = (tenant: string, body: unknown, target = pipeline) =>
  target.api("PUT", `/tenants/${tenant}`, body);
const createWebhook = (tenant: string, body: Json, target = pipeline) =>
  target.api("POST", target.under("/webhooks", tenant), body);

/** A 404 problem document, as every unknown id gets. */
function expectNotFound(response: Response, label: string) {
  expect(response.status, `${label}: ${response.body}`).toBe(404);
  expect(response.headers["content-type"], label).toBe("application/problem+json");
  expect(response.json, label).toMatchObject({ type: "about:blank", title: "Not found", status: 404 });
}

describe("PUT /tenants/{tenantId}", () => {
  it("creates (201, Location), then updates (200) idempotently, replacing name and metadata", async () => {
    const created = await put("t_put-1", { name: "ACME", metadata: { plan: "pro", region: "eu" } });
    expect(created).toMatchObject({
      status: 201,
      headers: { location: "/tenants/t_put-1" },
      json: {
        id: "t_put-1",
        name: "ACME",
        metadata: { plan: "pro", region: "eu" },
        webhookCount: 0,
        createdAt: expect.any(String),
        updatedAt: created.json.createdAt,
      },
    });
    const again = await put("t_put-1", { name: "ACME", metadata: { plan: "pro", region: "eu" } });
    expect(again.status).toBe(200);
    expect(again.headers.location).toBeUndefined();
    const twice = await put("t_put-1", { name: "ACME", metadata: { plan: "pro", region: "eu" } });
    expect(twice.status).toBe(200);
    const { updatedAt: _first, ...state } = again.json;
    const { updatedAt: _second, ...sameState } = twice.json;
    expect(sameState).toEqual(state);
    expect(state).toMatchObject({ createdAt: created.json.createdAt, name: "ACME", webhookCount: 0 });

    // A PUT is the whole tenant: a new name, and no metadata means none. The webhook count is not the caller's.
    expect((await createWebhook("t_put-1", { url: receiver.url, eventTypes: ["a.b"] })).status).toBe(201);
    const renamed = await put("t_put-1", { name: "  ACME Corp  " });
    expect(renamed).toMatchObject({
      status: 200,
      json: {
        id: "t_put-1",
        name: "ACME Corp",
        metadata: {},
        webhookCount: 1,
        createdAt: created.json.createdAt,
      },
    });
    expect((await pipeline.api("GET", "/tenants/t_put-1")).json).toEqual(renamed.json);
  });

  const invalid: [string, Json, string][] = [
    ["name required", {}, "name"],
    ["name not empty", { name: "" }, "name"],
    ["name not blank", { name: "   " }, "name"],
    ["name ≤ 256 characters", { name: "n".repeat(257) }, "name"],
    ["name a string", { name: 5 }, "name"],
    ["metadata an object", { name: "A", metadata: "plan=pro" }, "metadata"],
    ["metadata values strings", { name: "A", metadata: { plan: 5 } }, "metadata.plan"],
    [
      "metadata values ≤ 1024 characters",
      { name: "A", metadata: { plan: "v".repeat(1025) } },
      "metadata.plan",
    ],
    [
      "metadata keys ≤ 64 characters",
      { name: "A", metadata: { ["k".repeat(65)]: "v" } },
      `metadata.${"k".repeat(65)}`,
    ],
    ["metadata keys not empty", { name: "A", metadata: { "": "v" } }, "metadata"],
    [
      "≤ 20 metadata entries",
      { name: "A", metadata: Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`k${n}`, "v"])) },
      "metadata",
    ],
    ["no unknown field", { name: "A", webhookCount: 99 }, "body"],
  ];

  it.each(invalid)(
    "refuses with 400 naming the field, creating and changing nothing: %s",
    async (_rule, body, field) => {
      for (const tenant of ["t_put-new", pipeline.tenantId]) {
        const before = await pipeline.api("GET", `/tenants/${tenant}`);
        // Through the gateway (its model, or the Lambda behind it) and the Lambda's own validation alone.
        expect((await put(tenant, body)).status, tenant).toBe(400);
        const response = await pipeline.lambdaApi("PUT", `/tenants/${tenant}`, body);
        expect(response.status, tenant).toBe(400);
        expect(response.headers["content-type"]).toBe("application/problem+json");
        expect(response.json).toMatchObject({ status: 400, title: "Invalid request" });
        expect((response.json.errors as { field: string }[]).map((issue) => issue.field)).toContain(field);
        const after = await pipeline.api("GET", `/tenants/${tenant}`);
        expect(after.status).toBe(before.status);
        expect(after.json).toEqual(before.json);
      }
    },
  );

  it("answers 404 for a tenant id that cannot be one, on every tenant route, and creates nothing", async () => {
    const before = await pipeline.api("GET", "/tenants?limit=100");
    for (const bad of ["a b", "a#b", "ä", "t".repeat(65), "*", "a%2Fb", "%00", "a+b", "(x)"]) {
      const tenant = encodeURIComponent(decodeURIComponent(bad));
      expectNotFound(await pipeline.api("PUT", `/tenants/${tenant}`, { name: "Bad" }), `PUT ${bad}`);
      expectNotFound(await pipeline.api("GET", `/tenants/${tenant}`), `GET ${bad}`);
      expectNotFound(await pipeline.api("DELETE", `/tenants/${tenant}`), `DELETE ${bad}`);
      expectNotFound(
        await pipeline.api("POST", `/tenants/${tenant}/webhooks`, { url: receiver.url, eventTypes: ["a"] }),
        `POST webhooks ${bad}`,
      );
      expectNotFound(await pipeline.api("GET", `/tenants/${tenant}/webhooks`), `GET webhooks ${bad}`);
      expectNotFound(await pipeline.api("GET", `/tenants/${tenant}/events`), `GET events ${bad}`);
      expectNotFound(
        await pipeline.api("POST", `/tenants/${tenant}/events`, { type: "a", data: {} }),
        `POST events ${bad}`,
      );
    }
    // The longest id there can be is one.
    expect((await put("t".repeat(64), { name: "Long" })).status).toBe(201);
    const after = await pipeline.api("GET", "/tenants?limit=100");
    expect((after.json.data as unknown[]).length).toBe((before.json.data as unknown[]).length + 1);
  });
});

describe("GET /tenants and GET /tenants/{tenantId}", () => {
  it("lists every live tenant by id, paginated, and shows each one's webhook count", async () => {
    const fresh = await startPipeline();
    const ids = ["t_list-c", "t_list-a", "t_list-b", "t_list-d"];
    for (const id of ids) expect((await put(id, { name: id.toUpperCase() }, fresh)).status).toBe(201);
    for (let n = 0; n < 2; n += 1)
      expect(
        (await createWebhook("t_list-b", { url: receiver.url, eventTypes: [`l.${n}`] }, fresh)).status,
      ).toBe(201);
    const seen: Json[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Response = await fresh.api("GET", `/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...(page.json.data as Json[]));
      cursor = page.json.nextCursor as string | null;
      pages += 1;
    } while (cursor);
    const all = [fresh.tenantId, ...ids].sort();
    expect(seen.map((tenant) => tenant.id)).toEqual(all);
    expect(pages).toBe(3);
    expect(seen.find((tenant) => tenant.id === "t_list-b")).toMatchObject({
      name: "T_LIST-B",
      webhookCount: 2,
    });

    const one = await fresh.api("GET", "/tenants/t_list-b");
    expect(one).toMatchObject({ status: 200, json: { id: "t_list-b", webhookCount: 2, metadata: {} } });
    const [first] = (await fresh.api("GET", fresh.under("/webhooks", "t_list-b"))).json.data as {
      id: string;
    }[];
    expect((await fresh.api("DELETE", fresh.under(`/webhooks/${first?.id}`, "t_list-b"))).status).toBe(204);
    expect((await fresh.api("GET", "/tenants/t_list-b")).json.webhookCount).toBe(1);

    expectNotFound(await fresh.api("GET", "/tenants/t_list-z"), "unknown tenant");
    // Deleted, and being deleted: neither listed nor found.
    expect((await fresh.api("DELETE", "/tenants/t_list-a")).status).toBe(204);
    await fresh.runtime.tenants.markDeleting("t_list-c", new Date().toISOString());
    expectNotFound(await fresh.api("GET", "/tenants/t_list-a"), "deleted");
    expectNotFound(await fresh.api("GET", "/tenants/t_list-c"), "being deleted");
    const listed = (await fresh.api("GET", "/tenants?limit=100")).json.data as Json[];
    expect(listed.map((tenant) => tenant.id)).toEqual(
      all.filter((id) => id !== "t_list-a" && id !== "t_list-c"),
    );
    for (const limit of ["0", "101", "x"])
      expect((await fresh.api("GET", `/tenants?limit=${limit}`)).json).toMatchObject({
        status: 400,
        errors: [{ field: "query.limit" }],
      });
    expect((await fresh.api("GET", "/tenants?name=x")).status).toBe(400);
    fresh.close();
  });
});

describe("DELETE /tenants/{tenantId}", () => {
  it("removes its webhooks, subscriptions and secrets; pending deliveries end dropped; then 404 for everything", async () => {
    const tenant = "t_delete-me";
    const bystander = "t_delete-bystander";
    expect((await put(tenant, { name: "Leaving" })).status).toBe(201);
    expect((await put(bystander, { name: "Staying" })).status).toBe(201);
    const hook = await startReceiver();
    const other = await startReceiver();
    const ids: string[] = [];
    for (const eventTypes of [["gone.*", "gone.one"], ["*"]])
      ids.push((await createWebhook(tenant, { url: hook.url, eventTypes })).json.id as string);
    const kept = (await createWebhook(bystander, { url: other.url, eventTypes: ["*"] })).json.id as string;
    // Published before the delete, delivered after it.
    const pending = await pipeline.publishApi({ type: "gone.one", data: {} }, tenant);
    expect(pending).toMatchObject({ statusCode: 202, json: { deliveries: 2 } });

    expect((await pipeline.api("DELETE", `/tenants/${tenant}`)).status).toBe(204);

    expectNotFound(await pipeline.api("GET", `/tenants/${tenant}`), "GET tenant");
    expectNotFound(await pipeline.api("DELETE", `/tenants/${tenant}`), "DELETE again");
    expectNotFound(await pipeline.api("GET", pipeline.under("/webhooks", tenant)), "its webhooks");
    expectNotFound(await pipeline.api("GET", pipeline.under(`/webhooks/${ids[0]}`, tenant)), "a webhook");
    expectNotFound(
      await pipeline.api("POST", pipeline.under("/webhooks", tenant), { url: hook.url, eventTypes: ["a"] }),
      "a new webhook",
    );
    const later = await pipeline.publishApi({ type: "gone.one", data: {} }, tenant);
    expect(later.statusCode).toBe(404);
    expect(later.json).toMatchObject({ status: 404, title: "Not found" });
    const listed = (await pipeline.api("GET", "/tenants?limit=100")).json.data as Json[];
    expect(listed.map((entry) => entry.id)).not.toContain(tenant);
    expect(listed.map((entry) => entry.id)).toContain(bystander);

    // Nothing of it is left in the table but its events and deliveries, which expire with their retention.
    const { Items = [] } = await pipeline.clients.documents.send(
      new ScanCommand({ TableName: pipeline.resources.tableName, ConsistentRead: true }),
    );
    const left = Items.filter(
      (item) => item.pk === `TENANT#${tenant}` || String(item.pk).startsWith(`SUB#${tenant}#`),
    );
    expect(left).toEqual([]);
    for (const id of ids) {
      expect(await pipeline.runtime.webhooks.get(tenant, id)).toBeUndefined();
      // Scheduled for deletion after the recovery window, not erased at once.
      const secret = await pipeline.clients.secretsManager.send(
        new DescribeSecretCommand({
          SecretId: `${pipeline.config.secretNamePrefix}${secretOwner(tenant, id)}`,
        }),
      );
      expect(secret.DeletedDate?.getTime(), id).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    }

    await pipeline.drain();
    expect(hook.requests).toEqual([]);
    const deliveries = await pipeline.runtime.deliveries.deliveriesOfEvent(
      tenant,
      pending.json.eventId as string,
    );
    expect(
      deliveries.items.map((delivery) => [delivery.webhookId, delivery.status, delivery.reason]).sort(),
    ).toEqual(ids.map((id) => [id, "dropped", "tenant_deleted"]).sort());

    // The other tenant has all it had.
    expect((await pipeline.api("GET", pipeline.under(`/webhooks/${kept}`, bystander))).status).toBe(200);
    expect((await pipeline.api("GET", `/tenants/${bystander}`)).json.webhookCount).toBe(1);
    await pipeline.publishApi({ type: "gone.one", data: {} }, bystander);
    await pipeline.drain();
    expect(other.requests).toHaveLength(1);
    await hook.close();
    await other.close();
  });

  it("a delete that stopped midway is finished by repeating it; meanwhile the tenant is gone and cannot be put", async () => {
    const tenant = "t_delete-midway";
    expect((await put(tenant, { name: "Midway" })).status).toBe(201);
    const id = (await createWebhook(tenant, { url: receiver.url, eventTypes: ["mid.way"] })).json
      .id as string;
    await pipeline.runtime.tenants.markDeleting(tenant, new Date().toISOString());
    expectNotFound(await pipeline.api("GET", `/tenants/${tenant}`), "GET");
    expect((await pipeline.publishApi({ type: "mid.way", data: {} }, tenant)).statusCode).toBe(404);
    expect(await put(tenant, { name: "Back" })).toMatchObject({ status: 409, json: { title: "Conflict" } });
    expect((await pipeline.api("DELETE", `/tenants/${tenant}`)).status).toBe(204);
    expect(await pipeline.runtime.webhooks.get(tenant, id)).toBeUndefined();
    expect(await put(tenant, { name: "Back" })).toMatchObject({ status: 201, json: { webhookCount: 0 } });
  });
});

describe("maxWebhooksPerTenant", () => {
  let limited: Pipeline;
  beforeAll(async () => {
    limited = await startPipeline({ environment: { MAX_WEBHOOKS_PER_TENANT: "3" } });
  });
  afterAll(() => limited.close());

  const make = (tenant: string, n: number) =>
    createWebhook(tenant, { url: receiver.url, eventTypes: [`limit.${n}`] }, limited);
  const stored = async (tenant: string) => {
    const listed = (await limited.api("GET", limited.under("/webhooks?limit=100", tenant))).json
      .data as Json[];
    const count = (await limited.api("GET", `/tenants/${tenant}`)).json.webhookCount;
    return { listed: listed.length, count };
  };

  it("refuses one more with a 409 problem naming the limit; a deleted webhook frees its place", async () => {
    const tenant = limited.tenantId;
    for (let n = 0; n < 3; n += 1) expect((await make(tenant, n)).status).toBe(201);
    const refused = await make(tenant, 3);
    expect(refused).toMatchObject({
      status: 409,
      headers: { "content-type": "application/problem+json" },
      json: { type: "about:blank", title: "Conflict", status: 409 },
    });
    expect(refused.json.detail).toMatch(/maxWebhooksPerTenant/);
    expect(refused.json.detail).toMatch(/\b3\b/);
    expect(await stored(tenant)).toEqual({ listed: 3, count: 3 });
    // Per tenant: another one has its own three.
    expect((await put("t_limit-other", { name: "Other" }, limited)).status).toBe(201);
    for (let n = 0; n < 3; n += 1) expect((await make("t_limit-other", n)).status).toBe(201);
    expect((await make("t_limit-other", 3)).status).toBe(409);
    const [first] = (await limited.api("GET", limited.under("/webhooks", tenant))).json.data as {
      id: string;
    }[];
    expect((await limited.api("DELETE", limited.under(`/webhooks/${first?.id}`, tenant))).status).toBe(204);
    expect((await make(tenant, 4)).status).toBe(201);
    expect((await make(tenant, 5)).status).toBe(409);
    expect(await stored(tenant)).toEqual({ listed: 3, count: 3 });
  });

  it("never lets concurrent creates (and deletes) go past it", async () => {
    const tenant = "t_limit-race";
    expect((await put(tenant, { name: "Race" }, limited)).status).toBe(201);
    const statuses = (await Promise.all(Array.from({ length: 8 }, (_, n) => make(tenant, n)))).map(
      (response) => response.status,
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 409)).toHaveLength(5);
    expect(await stored(tenant)).toEqual({ listed: 3, count: 3 });
    // Deletes racing creates: whatever interleaving, never more than three, and the count stays exact.
    const existing = (await limited.api("GET", limited.under("/webhooks", tenant))).json.data as {
      id: string;
    }[];
    const raced = await Promise.all([
      ...existing
        .slice(0, 2)
        .map(({ id }) => limited.api("DELETE", limited.under(`/webhooks/${id}`, tenant))),
      ...Array.from({ length: 6 }, (_, n) => make(tenant, 10 + n)),
    ]);
    expect(raced.slice(0, 2).map((response) => response.status)).toEqual([204, 204]);
    const created = raced.slice(2).filter((response) => response.status === 201).length;
    expect(raced.slice(2).every((response) => [201, 409].includes(response.status))).toBe(true);
    expect(created).toBeLessThanOrEqual(2);
    expect(await stored(tenant)).toEqual({ listed: 1 + created, count: 1 + created });
    // Whatever the race left free is there to take, and not one place more.
    const refill = [];
    for (let n = 0; n < 3; n += 1) refill.push((await make(tenant, 20 + n)).status);
    expect(refill).toEqual([...Array(2 - created).fill(201), ...Array(1 + created).fill(409)]);
    expect(await stored(tenant)).toEqual({ listed: 3, count: 3 });
  });
});

describe("isolation between tenants", () => {
  const [A, B] = ["t_iso-a", "t_iso-b"];
  /** Each tenant's real ids: webhooks, events, and deliveries (delivered, and failed for good). */
  const own = {} as Record<string, { webhooks: string[]; events: string[]; deliveries: string[] }>;
  let flaky: Receiver;
  let down: Receiver;

  beforeAll(async () => {
    // The first attempt fails and the retry succeeds; the other receiver always fails (the delivery ends failed).
    flaky = await startReceiver((request) => ({
      status: request.headers["x-webhook-attempt"] === "1" ? 500 : 204,
    }));
    down = await startReceiver(() => ({ status: 500 }));
    for (const tenant of [A, B]) {
      expect((await put(tenant, { name: tenant })).status).toBe(201);
      const webhooks = [
        (await createWebhook(tenant, { url: flaky.url, eventTypes: ["iso.*"] })).json.id as string,
        (await createWebhook(tenant, { url: down.url, eventTypes: ["*"] })).json.id as string,
      ];
      const events: string[] = [];
      for (let n = 0; n < 2; n += 1)
        events.push(
          (await pipeline.publishApi({ type: "iso.made", data: { tenant, n } }, tenant)).json
            .eventId as string,
        );
      own[tenant] = { webhooks, events, deliveries: [] };
    }
    await pipeline.drain();
    for (const tenant of [A, B]) {
      const ids = own[tenant] as { events: string[]; deliveries: string[] };
      for (const eventId of ids.events) {
        const event = await pipeline.api("GET", pipeline.under(`/events/${eventId}`, tenant));
        ids.deliveries.push(...(event.json.deliveries as { id: string }[]).map((delivery) => delivery.id));
      }
      expect(ids.deliveries).toHaveLength(4);
    }
  });
  afterAll(async () => {
    await flaky.close();
    await down.close();
  });

  const parameterOf = (route: ApiRoute) => /\{(webhookId|eventId|deliveryId)\}/.exec(route.resource)?.[1];
  /** A body each route takes (valid, so that only the id decides the answer). */
  const bodyFor = (route: ApiRoute): unknown =>
    route.resource.endsWith("/filter-test")
      ? { event: { type: "order.completed", data: { n: 1 } } }
      : route.resource.endsWith("/rotate-secret")
        ? { gracePeriodSeconds: 60 }
        : route.resource.endsWith("/recover")
          ? { since: "2000-01-01T00:00:00Z" }
          : route.method === "PATCH"
            ? { description: "taken over" }
            : undefined;
  const unknownId = {
    webhookId: newWebhookId(),
    eventId: newEventId(),
    deliveryId: deliveryIdFor("evt_x", "wh_x"),
  };
  /** The answer with the id itself taken out of it: what must not tell an id of another tenant from none. */
  const shape = (response: Response, id: string) => ({
    status: response.status,
    headers: response.headers,
    json: JSON.parse(response.body.replaceAll(id, "<id>")) as unknown,
  });

  /** `route` under `tenant` with each of `other`'s ids of its kind answers as with an id nobody has. */
  async function expectSameAsUnknown(route: ApiRoute, tenant: string, other: string): Promise<number> {
    const parameter = parameterOf(route) as keyof typeof unknownId;
    const theirs = own[other] as { webhooks: string[]; events: string[]; deliveries: string[] };
    const foreignIds = { webhookId: theirs.webhooks, eventId: theirs.events, deliveryId: theirs.deliveries }[
      parameter
    ];
    const at = (id: string) =>
      route.resource.replace("{tenantId}", tenant).replace(`{${parameter}}`, encodeURIComponent(id));
    const missing = await pipeline.api(route.method, at(unknownId[parameter]), bodyFor(route));
    const label = `${route.method} ${route.resource} under ${tenant}`;
    expectNotFound(missing, `${label} (unknown id)`);
    for (const id of foreignIds) {
      const foreign = await pipeline.api(route.method, at(id), bodyFor(route));
      expect(shape(foreign, id), `${label} with ${other}'s ${id}`).toEqual(
        shape(missing, unknownId[parameter]),
      );
    }
    return foreignIds.length;
  }

  it("every tenant-scoped route answers another tenant's id exactly as an id that does not exist, and changes nothing", async () => {
    const routes = apiRoutes.filter(
      (route) => route.resource.startsWith("/tenants/{tenantId}/") && parameterOf(route),
    );
    // Every one of them, the health and routing routes included (a webhook's deliveries, filter-test).
    expect(routes.map((route) => `${route.method} ${route.resource}`)).toHaveLength(13);
    const snapshot = async () => {
      const tenants = await Promise.all([A, B].map((tenant) => pipeline.api("GET", `/tenants/${tenant}`)));
      const webhooks = await Promise.all(
        [A, B].flatMap((tenant) =>
          (own[tenant]?.webhooks ?? []).map((id) =>
            pipeline.api("GET", pipeline.under(`/webhooks/${id}`, tenant)),
          ),
        ),
      );
      const deliveries = await Promise.all(
        [A, B].flatMap((tenant) =>
          (own[tenant]?.deliveries ?? []).map((id) =>
            pipeline.api("GET", pipeline.under(`/deliveries/${id}`, tenant)),
          ),
        ),
      );
      return [...tenants, ...webhooks, ...deliveries].map((response) => response.json);
    };
    const before = await snapshot();
    let compared = 0;
    for (const [tenant, other] of [
      [A, B],
      [B, A],
    ] as const)
      for (const route of routes) compared += await expectSameAsUnknown(route, tenant, other);
    // Both ways: 9 webhook routes × 2 webhooks, 1 event route × 2 events, 3 delivery routes × 4 deliveries.
    expect(compared).toBe(2 * (9 * 2 + 1 * 2 + 3 * 4));
    // Nothing was sent, retried, recovered, rotated, changed or deleted by any of it.
    expect(await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  /** What `tenant`'s listings, attempts and DLQ letters show holds none of `other`'s ids. */
  async function expectOwnListings(tenant: string, other: string) {
    const theirs = Object.values(own[other] ?? {}).flat();
    for (const path of ["/webhooks", "/webhooks?event_type=iso.made", "/events", "/events?type=iso.made"]) {
      const listed = await pipeline.api("GET", pipeline.under(path, tenant));
      expect(listed.status, path).toBe(200);
      expect((listed.json.data as Json[]).length, path).toBeGreaterThan(0);
      for (const id of theirs) expect(listed.body, `${tenant} ${path}`).not.toContain(id);
    }
    for (const id of own[tenant]?.webhooks ?? []) {
      const attempts = await pipeline.api("GET", pipeline.under(`/webhooks/${id}/attempts`, tenant));
      expect((attempts.json.data as Json[]).length).toBeGreaterThan(0);
      for (const foreign of theirs) expect(attempts.body).not.toContain(foreign);
    }
    const letters = (await pipeline.api("GET", `/dlq?tenant_id=${tenant}`)).json.data as Json[];
    expect(letters.length).toBeGreaterThan(0);
    for (const letter of letters) expect(letter.tenantId).toBe(tenant);
  }

  it("a tenant's listings show its own items only, and its event ids are its own", async () => {
    await expectOwnListings(A, B);
    await expectOwnListings(B, A);
    // B's event id, published to A with other content: A's own event (idempotency is per tenant), not a 409.
    const [reused] = own[B]?.events ?? [];
    const published = await pipeline.publishApi({ id: reused, type: "iso.reused", data: { by: A } }, A);
    expect(published).toMatchObject({ statusCode: 202, json: { eventId: reused, deliveries: 2 } });
    expect((await pipeline.api("GET", pipeline.under(`/events/${reused}`, A))).json).toMatchObject({
      type: "iso.reused",
      tenantId: A,
      data: { by: A },
    });
    expect((await pipeline.api("GET", pipeline.under(`/events/${reused}`, B))).json).toMatchObject({
      type: "iso.made",
      tenantId: B,
      data: { tenant: B },
    });
    await pipeline.drain();
  });

  interface Subscriber {
    readonly tenant: string;
    readonly patterns: string[];
    readonly receiver: Receiver;
    readonly webhookId: string;
  }
  interface Published {
    readonly tenant: string;
    readonly id: string;
    readonly type: string;
    readonly marker: string;
  }
  const matches = (pattern: string, type: string) =>
    pattern === "*" || pattern === type || (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1)));
  const subscribes = (subscriber: Subscriber, event: Published) =>
    subscriber.tenant === event.tenant && subscriber.patterns.some((pattern) => matches(pattern, event.type));

  /** The run's tenants, each webhook with its own receiver on 127.0.0.1. */
  async function setUpTenants(run: number, webhookPatterns: string[][][], subscribers: Subscriber[]) {
    const tenantIds = webhookPatterns.map((_, n) => `t_prop${run}.${n}`);
    for (const [n, tenant] of tenantIds.entries()) {
      expect((await put(tenant, { name: tenant })).status).toBe(201);
      for (const eventTypes of webhookPatterns[n] ?? []) {
        const target = await startReceiver();
        const created = await createWebhook(tenant, { url: target.url, eventTypes });
        subscribers.push({
          tenant,
          patterns: eventTypes,
          receiver: target,
          webhookId: created.json.id as string,
        });
        expect(created.status, created.body).toBe(201);
      }
    }
    return tenantIds;
  }

  /** Publishes each event to its tenant, marked with it; an id shared between tenants when the scenario says. */
  async function publishAll(
    run: number,
    tenantIds: string[],
    events: { tenant: number; type: string; sharedId: number | null }[],
  ): Promise<Published[]> {
    const published: Published[] = [];
    for (const [n, event] of events.entries()) {
      const tenant = tenantIds[event.tenant % tenantIds.length] as string;
      const shared = event.sharedId === null ? undefined : `evt_shared-${run}-${event.sharedId}`;
      // An id once per tenant (a second use with other content would rightly be a 409).
      const id =
        shared && !published.some((p) => p.tenant === tenant && p.id === shared) ? shared : undefined;
      const marker = `${tenant}/${n}`;
      const response = await pipeline.publishApi(
        { ...(id ? { id } : {}), type: event.type, data: { marker } },
        tenant,
      );
      expect(response.statusCode, response.body).toBe(202);
      published.push({ tenant, id: response.json.eventId as string, type: event.type, marker });
    }
    return published;
  }

  it("no delivery ever reaches another tenant's receiver (random tenants, overlapping patterns, events)", {
    timeout: 60_000,
  }, async () => {
    const patterns = ["*", "order.*", "order.created", "invoice.*", "invoice.paid", "user.*"];
    const types = [
      "order.created",
      "order.paid",
      "invoice.paid",
      "invoice.voided",
      "user.signed_up",
      "other",
    ];
    const scenario = fc.record({
      tenants: fc.array(fc.array(fc.subarray(patterns, { minLength: 1 }), { minLength: 1, maxLength: 3 }), {
        minLength: 2,
        maxLength: 3,
      }),
      // Which tenant publishes, what, and sometimes with an id another tenant uses too.
      events: fc.array(
        fc.record({
          tenant: fc.nat(),
          type: fc.constantFrom(...types),
          sharedId: fc.option(fc.nat({ max: 2 })),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ tenants: webhookPatterns, events }) => {
        run += 1;
        const subscribers: Subscriber[] = [];
        try {
          const tenantIds = await setUpTenants(run, webhookPatterns, subscribers);
          const published = await publishAll(run, tenantIds, events);
          await pipeline.drain();
          for (const subscriber of subscribers) {
            const got = subscriber.receiver.requests.map((request) => {
              const body = JSON.parse(request.body) as { id: string; data: { marker: string } };
              return `${body.id} ${body.data.marker}`;
            });
            const expected = published
              .filter((event) => subscribes(subscriber, event))
              .map((event) => `${event.id} ${event.marker}`);
            expect(got.sort(), `${subscriber.tenant} ${subscriber.patterns.join(",")}`).toEqual(
              expected.sort(),
            );
          }
          // And the records agree: each event fanned out to its own tenant's subscribers only, all delivered.
          for (const event of published) {
            const stored = await pipeline.api("GET", pipeline.under(`/events/${event.id}`, event.tenant));
            const deliveries = stored.json.deliveries as { webhookId: string; status: string }[];
            const expected = subscribers.filter((subscriber) => subscribes(subscriber, event));
            expect(stored.json.fanout, event.marker).toMatchObject({ deliveries: expected.length });
            expect(deliveries.map((delivery) => [delivery.webhookId, delivery.status]).sort()).toEqual(
              expected.map((subscriber) => [subscriber.webhookId, "delivered"]).sort(),
            );
          }
        } finally {
          await Promise.all(subscribers.map(({ receiver: target }) => target.close()));
        }
      }),
      { numRuns: 15 },
    );
  });
});
