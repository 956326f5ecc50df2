import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "#test/support/fixtures.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

describe("publish → deliver: who receives what", () => {
  let pipeline: Pipeline;
  const receivers: Record<string, Receiver> = {};
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    // AWS services' events name no tenant: they go to the default tenant, the pipeline's own.
    pipeline = await startPipeline({ environment: { DEFAULT_TENANT_ID: "t_test" } });
    const subscriptions: Record<
      string,
      { eventTypes: string[]; active?: boolean; headers?: Record<string, string> }
    > = {
      exact: { eventTypes: ["order.completed"], headers: { "X-Tenant": "acme", "Webhook-Id": "forged" } },
      prefix: { eventTypes: ["order.*"] },
      everything: { eventTypes: ["*"] },
      other: { eventTypes: ["order.refunded", "user.*"] },
      inactive: { eventTypes: ["order.completed"], active: false },
      deeper: { eventTypes: ["order.completed.partial"] },
    };
    for (const [name, subscription] of Object.entries(subscriptions)) {
      receivers[name] = await startReceiver();
      const { secret } = await pipeline.createWebhook({ url: receivers[name].url, ...subscription });
      secrets[name] = secret;
    }
  });
  afterAll(async () => {
    pipeline.close();
    await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
  });

  it("delivers to exact, prefix.* and * subscribers only, each request verifying with standardwebhooks", async () => {
    const published = await pipeline.publishApi({
      type: "order.completed",
      source: "orders-service",
      data: { orderId: "ord_1" },
    });
    expect(published.statusCode).toBe(202);
    // Three active subscribers, and the inactive one: its delivery is kept as dropped (docs/endpoint-health.md).
    expect(published.json).toEqual({ eventId: expect.stringMatching(/^evt_[0-9A-Z]{26}$/), deliveries: 4 });
    await pipeline.drain();

    for (const name of ["exact", "prefix", "everything"]) {
      const requests = receivers[name]?.requests ?? [];
      expect(requests, name).toHaveLength(1);
      const [request] = requests;
      const payload = new StandardWebhook(secrets[name] as string).verify(
        request?.body ?? "",
        request?.headers as Record<string, string>,
      );
      expect(payload).toMatchObject({
        id: published.json.eventId,
        type: "order.completed",
        version: "1.0",
        source: "orders-service",
        data: { orderId: "ord_1" },
      });
      expect(request?.headers).toMatchObject({
        "content-type": "application/json",
        "webhook-id": published.json.eventId,
        "x-webhook-event-type": "order.completed",
        "x-webhook-attempt": "1",
        "x-webhook-delivery-id": expect.stringMatching(/^dlv_/),
        "user-agent": expect.stringMatching(/^serverless-webhooks\//),
      });
      expect(request?.headers["x-webhook-timestamp"]).toBe(request?.headers["webhook-timestamp"]);
    }
    expect(receivers.exact?.requests[0]?.headers["x-tenant"]).toBe("acme");
    expect(receivers.exact?.requests[0]?.headers["webhook-id"]).toBe(published.json.eventId);
    for (const name of ["other", "inactive", "deeper"])
      expect(receivers[name]?.requests, name).toHaveLength(0);
  });

  it("records each delivery as delivered with one succeeded attempt", async () => {
    const published = await pipeline.publishApi({ type: "order.created", data: { orderId: "ord_2" } });
    expect(published.json.deliveries).toBe(2);
    await pipeline.drain();
    const deliveryId = receivers.prefix?.requests.at(-1)?.headers["x-webhook-delivery-id"] as string;
    const delivery = await pipeline.runtime.deliveries.getDelivery(deliveryId);
    expect(delivery).toMatchObject({
      status: "delivered",
      attempts: 1,
      lastStatusCode: 204,
      eventType: "order.created",
    });
    const attempts = await pipeline.runtime.deliveries.attemptsOfDelivery(deliveryId);
    expect(attempts.items).toMatchObject([{ attempt: 1, status: "succeeded", statusCode: 204 }]);
  });

  it("publishes EventBridge events from AWS services and custom apps through the same path", async () => {
    // The custom app's sample names its tenant (`detail.tenantId: "demo"`); the EC2 sample names none.
    expect((await pipeline.api("PUT", "/tenants/demo", { name: "Demo" })).status).toBe(201);
    const demo = await startReceiver();
    receivers.demo = demo;
    await pipeline.createWebhook({ url: demo.url, eventTypes: ["order.completed"] }, "demo");
    const before = Object.fromEntries(
      Object.entries(receivers).map(([name, receiver]) => [name, receiver.requests.length]),
    );
    const since = (name: string) =>
      (receivers[name]?.requests.slice(before[name]) ?? []).map(
        (request) => JSON.parse(request.body) as Record<string, unknown>,
      );
    await pipeline.publishEventBridge(fixture("eventbridge/ec2-instance-state-change.json"));
    await pipeline.publishEventBridge(fixture("eventbridge/custom-order-completed.json"));
    await pipeline.drain();
    expect(pipeline.tenantId).toBe("t_test");
    expect(since("everything")).toEqual([
      expect.objectContaining({
        id: "evt_7bf73129-1428-4cd3-a780-95db273d1602",
        type: "EC2-Instance-State-change-Notification",
        source: "aws.ec2",
        timestamp: "2026-11-28T12:00:00.000Z",
        data: { "instance-id": "i-0abcd1234ef567890", state: "stopped" },
      }),
    ]);
    expect(since("demo")).toEqual([
      expect.objectContaining({
        id: "evt_0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e",
        type: "order.completed",
        source: "com.example.orders",
        data: expect.objectContaining({ tenantId: "demo", orderId: "ord_1002" }),
      }),
    ]);
    // The default tenant's order.completed subscribers never see the demo tenant's event.
    expect(since("exact")).toEqual([]);
    expect(since("prefix")).toEqual([]);
  });

  it("delivers a payload too large to inline by reading it from the event record", async () => {
    const big = "x".repeat(20_000);
    const published = await pipeline.publishApi({ type: "order.completed", data: { note: big } });
    await pipeline.drain();
    const last = receivers.exact?.requests.at(-1);
    expect(last?.headers["webhook-id"]).toBe(published.json.eventId);
    expect(JSON.parse(last?.body ?? "{}").data.note).toBe(big);
    new StandardWebhook(secrets.exact as string).verify(
      last?.body ?? "",
      last?.headers as Record<string, string>,
    );
  });
});
