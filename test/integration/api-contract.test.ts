/**
 * The OpenAPI document against the real handlers over the real engines: every route's success and its main error
 * statuses, each response checked by `pipeline.api` (test/support/contract.ts). The last test checks that every
 * documented operation was answered here at least once with a success and (where it has any) an error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "#core/http/api-routes.ts";
import { assertMatchesContract, ContractViolation, openApi, seenResponses } from "#test/support/contract.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let receiver: Receiver;
let failing = true;

beforeAll(async () => {
  pipeline = await startPipeline({ schedule: "1" });
  receiver = await startReceiver(() => ({ status: failing ? 500 : 200 }));
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
});

describe("every route answers as docs/openapi.json says", () => {
  it("tenants", async () => {
    const { api } = pipeline;
    expect(
      (await api("PUT", "/tenants/contract-t", { name: "Contract", metadata: { plan: "pro" } })).status,
    ).toBe(201);
    expect((await api("PUT", "/tenants/contract-t", { name: "Contract 2" })).status).toBe(200);
    expect((await api("PUT", "/tenants/contract-t", { name: 5 })).status).toBe(400);
    expect((await pipeline.lambdaApi("PUT", "/tenants/contract-t", { name: "" })).status).toBe(400);
    expect((await api("PUT", "/tenants/bad%20id", { name: "x" })).status).toBe(404);
    expect((await api("GET", "/tenants?limit=1")).status).toBe(200);
    expect((await api("GET", "/tenants?limit=0")).status).toBe(400);
    expect((await api("GET", "/tenants/contract-t")).status).toBe(200);
    expect((await api("GET", "/tenants/nobody")).status).toBe(404);
    expect((await api("DELETE", "/tenants/contract-t")).status).toBe(204);
    expect((await api("DELETE", "/tenants/contract-t")).status).toBe(404);
  });

  it("webhooks", async () => {
    const { api, under } = pipeline;
    const created = await api("POST", under("/webhooks"), { url: receiver.url, eventTypes: ["contract.*"] });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect((await api("POST", under("/webhooks"), { url: "ftp://x", eventTypes: ["a"] })).status).toBe(400);
    expect(
      (await api("POST", "/tenants/nobody/webhooks", { url: receiver.url, eventTypes: ["a"] })).status,
    ).toBe(404);
    expect((await api("GET", under("/webhooks?limit=1"))).status).toBe(200);
    expect((await api("GET", under("/webhooks?event_type=contract.x&active=true"))).status).toBe(200);
    expect((await api("GET", under("/webhooks?cursor=forged"))).status).toBe(400);
    expect((await api("GET", under(`/webhooks/${id}`))).status).toBe(200);
    expect((await api("GET", under("/webhooks/wh_missing"))).status).toBe(404);
    expect((await api("PATCH", under(`/webhooks/${id}`), { description: "d" })).status).toBe(200);
    expect((await api("PATCH", under(`/webhooks/${id}`), { active: false, version: 1 })).status).toBe(409);
    expect(
      (await api("PATCH", under(`/webhooks/${id}`), { active: true }, { "if-match": '"1"' })).status,
    ).toBe(412);
    expect((await api("PATCH", under(`/webhooks/${id}`), { maxAttempts: "x" })).status).toBe(400);
    expect(
      (await api("POST", under(`/webhooks/${id}/rotate-secret`), { gracePeriodSeconds: 60 })).status,
    ).toBe(200);
    expect(
      (await api("POST", under(`/webhooks/${id}/rotate-secret`), { gracePeriodSeconds: -1 })).status,
    ).toBe(400);
    expect((await api("POST", under(`/webhooks/${id}/test`))).status).toBe(202);
    expect((await api("POST", under("/webhooks/wh_missing/test"))).status).toBe(404);
    await pipeline.drain();
    expect((await api("GET", under(`/webhooks/${id}/attempts?status=failed`))).status).toBe(200);
    expect((await api("GET", under(`/webhooks/${id}/attempts?status=maybe`))).status).toBe(400);
    expect((await api("GET", under(`/webhooks/${id}/deliveries?status=dropped`))).status).toBe(200);
    expect((await api("GET", under(`/webhooks/${id}/deliveries?status=gone`))).status).toBe(400);
    const since = new Date(Date.now() - 60_000).toISOString();
    expect((await api("POST", under(`/webhooks/${id}/recover`), { since })).status).toBe(202);
    expect((await api("POST", under(`/webhooks/${id}/recover`), { since: "yesterday" })).status).toBe(400);
    await pipeline.drain();
    expect((await api("DELETE", under(`/webhooks/${id}`))).status).toBe(204);
    expect((await api("DELETE", under(`/webhooks/${id}`))).status).toBe(404);
  });

  it("events, deliveries and the dead-letter queue", async () => {
    const { api, under } = pipeline;
    failing = true;
    await api("POST", under("/webhooks"), { url: receiver.url, eventTypes: ["order.*"] });
    const published = await api("POST", under("/events"), {
      id: "evt_contract_1",
      type: "order.paid",
      data: { n: 1 },
    });
    expect(published.status).toBe(202);
    expect(
      (await api("POST", under("/events"), { id: "evt_contract_1", type: "order.paid", data: { n: 2 } }))
        .status,
    ).toBe(409);
    expect((await api("POST", under("/events"), { type: "order paid", data: {} })).status).toBe(400);
    expect((await api("POST", "/tenants/nobody/events", { type: "order.paid", data: {} })).status).toBe(404);
    const batch = under("/events/batch");
    expect(
      (
        await api("POST", batch, {
          events: [
            { id: "evt_contract_2", type: "order.paid", data: { n: 3 } },
            { id: "evt_contract_1", type: "order.paid", data: { n: 2 } },
          ],
        })
      ).status,
    ).toBe(200);
    expect((await api("POST", batch, { events: [] })).status).toBe(400);
    expect(
      (await api("POST", "/tenants/nobody/events/batch", { events: [{ type: "a", data: {} }] })).status,
    ).toBe(404);
    const oversized = JSON.stringify({ events: [{ type: "a", data: { pad: "x".repeat(3_000_000) } }] });
    expect((await api("POST", batch, oversized)).status).toBe(413);
    await pipeline.drain();
    expect((await api("GET", under("/events?limit=5&type=order.paid"))).status).toBe(200);
    expect((await api("GET", under("/events?limit=500"))).status).toBe(400);
    const event = await api("GET", under("/events/evt_contract_1"));
    expect(event.status).toBe(200);
    expect((await api("GET", under("/events/evt_missing"))).status).toBe(404);
    const deliveryId = (event.json.deliveries as { id: string }[])[0]?.id ?? "";
    expect((await api("GET", under(`/deliveries/${deliveryId}`))).status).toBe(200);
    expect((await api("GET", under("/deliveries/dlv_missing"))).status).toBe(404);
    expect((await api("GET", under(`/deliveries/${deliveryId}/attempts?limit=1`))).status).toBe(200);
    expect((await api("GET", under(`/deliveries/${deliveryId}/attempts?cursor=x`))).status).toBe(400);
    expect((await api("GET", "/dlq?limit=10")).status).toBe(200);
    expect((await api("GET", "/dlq?limit=x")).status).toBe(400);
    expect((await api("POST", "/dlq/redrive", { limit: 10 })).status).toBe(200);
    expect((await api("POST", "/dlq/redrive", { limit: 0 })).status).toBe(400);
    await pipeline.drain();
    failing = false;
    expect((await api("POST", under(`/deliveries/${deliveryId}/retry`))).status).toBe(202);
    expect((await api("POST", under(`/deliveries/${deliveryId}/retry`))).status).toBe(409);
    expect((await api("POST", under("/deliveries/dlv_missing/retry"))).status).toBe(404);
    await pipeline.drain();
  });

  it("customer portal sessions", async () => {
    const { api, under } = pipeline;
    expect((await api("POST", under("/portal-sessions"), { expiresInSeconds: 600 })).status).toBe(201);
    expect((await api("POST", under("/portal-sessions"), { expiresInSeconds: 10 })).status).toBe(400);
    expect((await api("POST", under("/portal-sessions/revoke"))).status).toBe(200);
    expect((await api("POST", "/tenants/nobody/portal-sessions/revoke")).status).toBe(404);
  });

  it("routing: filter-test and the event-type catalogue", async () => {
    const { api, under } = pipeline;
    const created = await api("POST", under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["routing.*"],
      filter: { data: { n: [{ numeric: [">", 1] }] } },
    });
    expect(created.status).toBe(201);
    const test = `/webhooks/${created.json.id as string}/filter-test`;
    expect((await api("POST", under(test), { event: { type: "routing.x", data: { n: 0 } } })).status).toBe(
      200,
    );
    expect(
      (await api("POST", under(test), { event: { type: "routing.x", data: {} }, filter: {} })).status,
    ).toBe(400);
    expect(
      (await api("POST", under("/webhooks/wh_missing/filter-test"), { event: { type: "a", data: {} } }))
        .status,
    ).toBe(404);
    // The catalogue (after the webhooks above: once it holds types, subscriptions must match them).
    const type = { description: "Contract type", schema: { type: "object" }, example: { a: 1 } };
    expect((await api("PUT", "/event-types/routing.contract", type)).status).toBe(201);
    expect((await api("PUT", "/event-types/routing.contract", { ...type, deprecated: true })).status).toBe(
      200,
    );
    expect(
      (await api("PUT", "/event-types/routing.bad", { description: "x", schema: { type: 5 } })).status,
    ).toBe(400);
    expect((await api("PUT", "/event-types/bad%20name", { description: "x" })).status).toBe(404);
    expect((await api("GET", "/event-types?limit=10")).status).toBe(200);
    expect((await api("GET", "/event-types?limit=0")).status).toBe(400);
    expect((await api("GET", "/event-types/routing.contract")).status).toBe(200);
    expect((await api("GET", "/event-types/routing.missing")).status).toBe(404);
    expect((await api("GET", "/event-types/openapi.json")).status).toBe(200);
    expect((await api("DELETE", "/event-types/routing.contract")).status).toBe(204);
    expect((await api("DELETE", "/event-types/routing.missing")).status).toBe(404);
    expect((await api("DELETE", under(`/webhooks/${created.json.id as string}`))).status).toBe(204);
  });

  it("the gateway's own answers: unknown routes and methods are problem documents", async () => {
    expect((await pipeline.api("GET", "/nowhere")).status).toBe(404);
    expect((await pipeline.api("PUT", "/tenants")).status).toBe(405);
  });

  it("answered every documented operation with a success, and with an error where it documents any", () => {
    const missing = apiRoutes.flatMap(({ method, resource }) => {
      const operation = openApi.paths[resource]?.[method.toLowerCase()];
      const statuses = Object.keys(operation?.responses ?? {}).filter(
        (status) => !["403", "429", "500"].includes(status),
      );
      const seen = statuses.filter((status) => seenResponses.has(`${method} ${resource} ${status}`));
      const gaps = [];
      if (!seen.some((status) => status.startsWith("2"))) gaps.push(`${method} ${resource}: no success`);
      if (statuses.some((status) => status.startsWith("4")) && !seen.some((status) => status.startsWith("4")))
        gaps.push(`${method} ${resource}: no error`);
      return gaps;
    });
    expect(missing).toEqual([]);
  });
});

describe("the contract check itself", () => {
  const webhook = {
    id: "wh_1",
    url: "https://example.com/hook",
    eventTypes: ["a.b"],
    filter: null,
    eventTypeNotices: [],
    headers: {},
    description: null,
    active: true,
    disabledReason: null,
    maxAttempts: null,
    rateLimitPerSecond: null,
    signatureScheme: "standard",
    previousSecretValidUntil: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    version: 1,
  };
  const answer = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => ({
    statusCode,
    headers: { "content-type": "application/json", etag: '"1"', ...headers },
    body: JSON.stringify(body),
  });
  const path = "/tenants/t/webhooks/wh_1";

  it("accepts a response as documented", () => {
    expect(() => assertMatchesContract("GET", path, answer(200, webhook))).not.toThrow();
  });

  it.each([
    ["an undocumented field (a leaked secret version)", answer(200, { ...webhook, secretVersion: "v1" })],
    ["a missing field", answer(200, { ...webhook, version: undefined })],
    ["a field of the wrong type", answer(200, { ...webhook, active: "yes" })],
    ["a time that is not a date-time", answer(200, { ...webhook, createdAt: "yesterday" })],
    ["an undocumented status", answer(201, webhook)],
    [
      "a documented header missing",
      { ...answer(200, webhook), headers: { "content-type": "application/json" } },
    ],
    ["an error that is not a problem document", answer(404, { message: "no" })],
    [
      "a problem document without its detail",
      answer(
        404,
        { type: "about:blank", title: "x", status: 404 },
        {
          "content-type": "application/problem+json",
        },
      ),
    ],
  ])("refuses %s", (_what, response) => {
    expect(() => assertMatchesContract("GET", path, response)).toThrow(ContractViolation);
  });
});
