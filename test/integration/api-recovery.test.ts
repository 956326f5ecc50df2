import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let healthy = false;
let receiver: Receiver;
let other: Receiver;

beforeAll(async () => {
  pipeline = await startPipeline({ schedule: "1" });
  receiver = await startReceiver(() => ({ status: healthy ? 200 : 503 }));
  other = await startReceiver(() => ({ status: 400 }));
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
  await other.close();
});

async function failingWebhook(target: Receiver, type: string) {
  const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
    url: target.url,
    eventTypes: [type],
  });
  return created.json.id as string;
}

describe("events and deliveries", () => {
  it("GET …/events/{eventId} shows the event and its deliveries; GET …/deliveries/{deliveryId} and its attempts", async () => {
    healthy = false;
    const webhookId = await failingWebhook(receiver, "shown.event");
    const published = await pipeline.publishApi({ type: "shown.event", data: { k: 1 } });
    await pipeline.drain();
    const event = await pipeline.api("GET", pipeline.under(`/events/${published.json.eventId}`));
    expect(event.status).toBe(200);
    expect(event.json).toMatchObject({
      id: published.json.eventId,
      type: "shown.event",
      data: { k: 1 },
      fanout: { deliveries: 1 },
      deliveries: [{ webhookId, status: "failed", attempts: 2, reason: "exhausted:http_503" }],
    });
    expect(event.json).not.toHaveProperty("body");
    const deliveryId = (event.json.deliveries as { id: string }[])[0]?.id;
    expect((await pipeline.api("GET", pipeline.under(`/deliveries/${deliveryId}`))).json).toMatchObject({
      id: deliveryId,
      status: "failed",
    });
    const attempts = await pipeline.api("GET", pipeline.under(`/deliveries/${deliveryId}/attempts?limit=1`));
    expect(attempts.json.data).toMatchObject([{ attempt: 2, statusCode: 503 }]);
    const rest = await pipeline.api(
      "GET",
      pipeline.under(`/deliveries/${deliveryId}/attempts?limit=1&cursor=${attempts.json.nextCursor}`),
    );
    expect(rest.json.data).toMatchObject([{ attempt: 1 }]);
    expect((await pipeline.api("GET", pipeline.under("/events/evt_missing"))).status).toBe(404);
    expect((await pipeline.api("GET", pipeline.under("/deliveries/dlv_missing"))).status).toBe(404);
    expect((await pipeline.api("GET", pipeline.under("/deliveries/dlv_missing/attempts"))).status).toBe(404);
  });

  it("POST …/deliveries/{deliveryId}/retry starts a new series now, with the same webhook-id", async () => {
    healthy = false;
    await failingWebhook(receiver, "retry.me");
    const published = await pipeline.publishApi({ type: "retry.me", data: {} });
    await pipeline.drain();
    const deliveryId = (
      (await pipeline.api("GET", pipeline.under(`/events/${published.json.eventId}`))).json.deliveries as {
        id: string;
      }[]
    )[0]?.id;
    healthy = true;
    const before = receiver.requests.length;
    const retried = await pipeline.api("POST", pipeline.under(`/deliveries/${deliveryId}/retry`));
    expect(retried).toMatchObject({
      status: 202,
      json: { id: deliveryId, status: "pending", attempts: 0, series: 1 },
    });
    await pipeline.drain();
    const sent = receiver.requests.slice(before);
    expect(sent.map((request) => request.headers["webhook-id"])).toEqual([published.json.eventId]);
    expect(sent[0]?.headers["x-webhook-attempt"]).toBe("1");
    expect((await pipeline.api("GET", pipeline.under(`/deliveries/${deliveryId}`))).json).toMatchObject({
      status: "delivered",
      attempts: 1,
      series: 1,
    });
    const attempts = await pipeline.api("GET", pipeline.under(`/deliveries/${deliveryId}/attempts`));
    expect((attempts.json.data as unknown[]).length).toBe(3);
    expect((await pipeline.api("POST", pipeline.under(`/deliveries/${deliveryId}/retry`))).status).toBe(202);
    await pipeline.drain();
  });
});

describe("the dead-letter queue", () => {
  it("GET /dlq peeks (filterable by tenant and webhook) without losing messages; POST /dlq/redrive moves one webhook's, one tenant's, then all, safely twice", {
    timeout: 60_000,
  }, async () => {
    const fresh = await startPipeline({ schedule: "1" });
    healthy = false;
    const tenant = fresh.tenantId;
    const otherTenant = "t_dlq-other";
    expect((await fresh.api("PUT", `/tenants/${otherTenant}`, { name: "Other" })).status).toBe(201);
    const first = (
      await fresh.api("POST", fresh.under("/webhooks"), { url: receiver.url, eventTypes: ["dlq.a"] })
    ).json.id as string;
    const second = (
      await fresh.api("POST", fresh.under("/webhooks"), { url: other.url, eventTypes: ["dlq.b"] })
    ).json.id as string;
    const third = (
      await fresh.api("POST", fresh.under("/webhooks", otherTenant), {
        url: other.url,
        eventTypes: ["dlq.*"],
      })
    ).json.id as string;
    for (let n = 0; n < 3; n += 1) await fresh.publishApi({ type: "dlq.a", data: { n } });
    await fresh.publishApi({ type: "dlq.b", data: {} });
    await fresh.publishApi({ type: "dlq.c", data: {} }, otherTenant);
    await fresh.drain();

    const all = await fresh.api("GET", "/dlq");
    expect(all.status).toBe(200);
    expect((all.json.data as unknown[]).length).toBe(5);
    const again = await fresh.api("GET", "/dlq");
    expect((again.json.data as unknown[]).length).toBe(5);
    const onlySecond = await fresh.api("GET", `/dlq?webhook_id=${second}`);
    expect(onlySecond.json.data).toMatchObject([
      { tenantId: tenant, webhookId: second, reason: "exhausted:http_400", attempts: 2 },
    ]);
    const ofTenant = await fresh.api("GET", `/dlq?tenant_id=${tenant}`);
    expect((ofTenant.json.data as { tenantId: string }[]).map((letter) => letter.tenantId)).toEqual(
      Array(4).fill(tenant),
    );
    expect((await fresh.api("GET", `/dlq?tenant_id=${otherTenant}`)).json.data).toMatchObject([
      { tenantId: otherTenant, webhookId: third, reason: "exhausted:http_400" },
    ]);
    // Both filters at once: another tenant's webhook is nothing of this tenant's.
    expect((await fresh.api("GET", `/dlq?tenant_id=${otherTenant}&webhook_id=${second}`)).json.data).toEqual(
      [],
    );
    expect((await fresh.api("GET", "/dlq?limit=2")).json).toMatchObject({ truncated: true });

    healthy = true;
    const before = receiver.requests.length;
    const moved = await fresh.api("POST", "/dlq/redrive", { webhookId: first });
    expect(moved).toMatchObject({ status: 200, json: { moved: 3, discarded: 0, left: 2 } });
    await fresh.drain();
    expect(receiver.requests.length - before).toBe(3);
    const twice = await fresh.api("POST", "/dlq/redrive", { webhookId: first });
    expect(twice.json).toMatchObject({ moved: 0, left: 2 });

    // One tenant's letters; a webhook of another tenant than the one named moves nothing.
    const otherBefore = other.requests.length;
    const mismatch = await fresh.api("POST", "/dlq/redrive", { tenantId: otherTenant, webhookId: second });
    expect(mismatch.json).toMatchObject({ moved: 0, left: 2 });
    const ofOther = await fresh.api("POST", "/dlq/redrive", { tenantId: otherTenant });
    expect(ofOther.json).toMatchObject({ moved: 1, left: 1 });
    await fresh.drain();
    const resent = other.requests.slice(otherBefore).map((request) => JSON.parse(request.body).type);
    expect(resent).toEqual(["dlq.c", "dlq.c"]);

    const rest = await fresh.api("POST", "/dlq/redrive", {});
    expect(rest.json).toMatchObject({ moved: 2, left: 0 });
    await fresh.drain();
    const letters = (await fresh.api("GET", "/dlq")).json.data as { webhookId: string; reason: string }[];
    expect(letters.map((letter) => [letter.webhookId, letter.reason]).sort()).toEqual(
      [
        [second, "exhausted:http_400"],
        [third, "exhausted:http_400"],
      ].sort(),
    );
    expect((await fresh.api("POST", "/dlq/redrive", { limit: 0 })).status).toBe(400);
    expect((await fresh.api("POST", "/dlq/redrive", { everything: true })).status).toBe(400);
    fresh.close();
  });
});

describe("POST /tenants/{tenantId}/webhooks/{webhookId}/recover", () => {
  it("re-enqueues the webhook's failed deliveries since a timestamp", async () => {
    healthy = false;
    const webhookId = await failingWebhook(receiver, "recover.me");
    const since = new Date(Date.now() - 1000).toISOString();
    await pipeline.publishApi({ type: "recover.me", data: { n: 1 } });
    await pipeline.publishApi({ type: "recover.me", data: { n: 2 } });
    await pipeline.drain();
    healthy = true;
    const before = receiver.requests.length;
    const recovered = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), { since });
    expect(recovered).toMatchObject({ status: 202, json: { recovered: 2, truncated: false } });
    await pipeline.drain();
    expect(receiver.requests.length - before).toBe(2);
    const none = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), { since });
    expect(none.json, none.body).toMatchObject({ recovered: 0 });
    const future = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), {
      since: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(future.json.recovered).toBe(0);
    expect(
      (await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), { since: "yesterday" }))
        .json,
    ).toMatchObject({ errors: [{ field: "since" }] });
    expect(
      (await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), { since, until: since }))
        .json,
    ).toMatchObject({ errors: [{ field: "until" }] });
    expect(
      (await pipeline.api("POST", pipeline.under("/webhooks/wh_missing/recover"), { since })).status,
    ).toBe(404);
  });

  it("takes a window reaching past year 9999 or before year 0000 (in any offset) as unbounded on that side", async () => {
    healthy = false;
    const webhookId = await failingWebhook(receiver, "recover.wide");
    await pipeline.publishApi({ type: "recover.wide", data: {} });
    await pipeline.drain();
    healthy = true;
    const wide = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), {
      since: "0000-01-01T00:00:00+01:00",
      until: "9999-12-31T23:59:59.999-14:00",
    });
    expect(wide).toMatchObject({ status: 202, json: { recovered: 1, truncated: false } });
    await pipeline.drain();
    const untilOnly = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), {
      since: "0000-01-01T00:00:00+01:00",
    });
    expect(untilOnly).toMatchObject({ status: 202, json: { recovered: 0 } });
  });
});

describe("routing", () => {
  it("answers unknown paths with 404 and wrong methods with 405, as problem documents", async () => {
    expect(await pipeline.api("GET", "/nope")).toMatchObject({
      status: 404,
      headers: { "content-type": "application/problem+json" },
    });
    const wrong = await pipeline.api("PUT", pipeline.under("/webhooks"));
    expect(wrong).toMatchObject({ status: 405, headers: { allow: "POST, GET" } });
  });

  it("has no top-level webhook, event or delivery routes any more", async () => {
    const webhookId = await failingWebhook(receiver, "old.route");
    for (const [method, path] of [
      ["GET", "/webhooks"],
      ["POST", "/webhooks"],
      ["GET", `/webhooks/${webhookId}`],
      ["POST", "/events"],
      ["GET", "/events/evt_x"],
      ["GET", "/deliveries/dlv_x"],
    ] as const) {
      const response = await pipeline.api(
        method,
        path,
        method === "POST" ? { type: "a", data: {} } : undefined,
      );
      expect(response, `${method} ${path}`).toMatchObject({
        status: 404,
        headers: { "content-type": "application/problem+json" },
      });
    }
  });
});
