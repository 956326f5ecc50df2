/**
 * Auto-disable on a virtual clock (the runtime's injectable `now`), dropped-while-disabled deliveries recovered
 * after re-enabling, and operational events as the SDK's real PutEvents request carried them to a local endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const MINUTE = 60_000;

describe("auto-disable after a continuous window of failure", () => {
  const start = Date.parse("2026-06-01T00:00:00.000Z");
  let clock = start;
  let pipeline: Pipeline;
  let receiver: Receiver;
  let status = 500;

  beforeAll(async () => {
    pipeline = await startPipeline({
      operationalEvents: true,
      runtime: { now: () => new Date(clock) },
      environment: { AUTO_DISABLE_AFTER_SECONDS: "3600", CIRCUIT_MIN_ATTEMPTS: "1000" },
    });
    receiver = await startReceiver(() => ({ status }));
  });
  afterAll(async () => {
    await receiver.close();
    await pipeline.close();
  });

  const told = (webhookId: string, detailType: string) =>
    pipeline.operationalEvents?.events.filter(
      (event) => event.detail.webhookId === webhookId && event.detailType === detailType,
    ) ?? [];

  it("disables after an hour with no success (one success resets the clock), keeps later deliveries as dropped, and recover brings them back", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["clock.*"],
      maxAttempts: 1,
    });
    const webhookId = created.json.id as string;
    const publishAt = async (minutes: number, n: number) => {
      clock = start + minutes * MINUTE;
      const published = await pipeline.publishApi({ type: "clock.tick", data: { n } });
      await pipeline.drain();
      return published.json.eventId as string;
    };
    const webhook = async () => (await pipeline.api("GET", pipeline.under(`/webhooks/${webhookId}`))).json;

    const first = await publishAt(0, 1);
    expect(told(webhookId, "Delivery Exhausted")).toMatchObject([
      {
        detail: {
          tenantId: pipeline.tenantId,
          webhookId,
          eventId: first,
          attempts: 1,
          reason: "exhausted:http_500",
        },
      },
    ]);
    await publishAt(30, 2);
    expect(await webhook()).toMatchObject({
      active: true,
      health: { failingSince: new Date(start).toISOString() },
    });
    status = 200;
    await publishAt(50, 3);
    expect((await webhook()).health).toMatchObject({ failingSince: null });
    status = 500;
    await publishAt(55, 4);
    // 105 minutes after the first failure, but only 50 after the success reset the clock: still active.
    await publishAt(105, 5);
    expect(await webhook()).toMatchObject({ active: true });
    expect(told(webhookId, "Webhook Disabled")).toEqual([]);
    await publishAt(55 + 61, 6);
    expect(await webhook()).toMatchObject({ active: false, disabledReason: "sustained_failure" });
    expect(told(webhookId, "Webhook Disabled")).toMatchObject([
      {
        detail: {
          tenantId: pipeline.tenantId,
          webhookId,
          reason: "sustained_failure",
          failingSince: new Date(start + 55 * MINUTE).toISOString(),
        },
      },
    ]);

    // While disabled: kept as dropped with the reason, and listed.
    const droppedIds = [await publishAt(120, 7), await publishAt(121, 8)];
    const dropped = await pipeline.api(
      "GET",
      pipeline.under(`/webhooks/${webhookId}/deliveries?status=dropped`),
    );
    expect(dropped.status).toBe(200);
    expect(dropped.json.data?.map((delivery) => delivery.eventId).sort()).toEqual([...droppedIds].sort());
    expect(dropped.json.data?.every((delivery) => delivery.reason === "webhook_disabled")).toBe(true);
    expect(told(webhookId, "Webhook Disabled")).toHaveLength(1);

    // Re-enabled and recovered: the failed ones and the dropped ones all arrive.
    status = 200;
    clock = start + 130 * MINUTE;
    const enabled = await pipeline.api("PATCH", pipeline.under(`/webhooks/${webhookId}`), { active: true });
    expect(enabled.json).toMatchObject({ active: true, disabledReason: null });
    const before = receiver.requests.length;
    const recovered = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), {
      since: new Date(start).toISOString(),
    });
    expect(recovered.json).toMatchObject({ recovered: 7 });
    await pipeline.drain();
    const arrived = new Set(receiver.requests.slice(before).map((request) => request.headers["webhook-id"]));
    for (const eventId of droppedIds) expect(arrived.has(eventId)).toBe(true);
    expect(arrived.size).toBe(7);
  }, 120_000);
});

describe("operational events on EventBridge", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;

  beforeAll(async () => {
    pipeline = await startPipeline({ operationalEvents: true });
    receiver = await startReceiver(() => ({ status: 410 }));
  });
  afterAll(async () => {
    await receiver.close();
    await pipeline.close();
  });

  const told = (webhookId: string) =>
    pipeline.operationalEvents?.events.filter((event) => event.detail.webhookId === webhookId) ?? [];

  it("Secret Rotated and a manual Webhook Disabled, once per transition, in the documented PutEvents shape", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: "https://example.com/hooks",
      eventTypes: ["a.b"],
    });
    const webhookId = created.json.id as string;
    const rotated = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/rotate-secret`), {
      gracePeriodSeconds: 60,
    });
    expect(rotated.status).toBe(200);
    for (let n = 0; n < 2; n += 1)
      expect(
        (await pipeline.api("PATCH", pipeline.under(`/webhooks/${webhookId}`), { active: false })).status,
      ).toBe(200);
    const events = told(webhookId);
    expect(events.map((event) => event.detailType)).toEqual(["Secret Rotated", "Webhook Disabled"]);
    const [secret, disabled] = events;
    expect(secret).toMatchObject({
      source: "serverless-webhooks",
      eventBusName: "default",
      detail: {
        tenantId: pipeline.tenantId,
        webhookId,
        previousSecretValidUntil: rotated.json.previousSecretValidUntil,
      },
    });
    expect(typeof secret?.time).toBe("number");
    expect(secret?.signedFor).toBe("events us-east-1");
    expect(Date.parse(String(secret?.detail.occurredAt))).toBeGreaterThan(0);
    expect(disabled?.detail).toMatchObject({ reason: "disabled_by_user", failingSince: null });
    // Nothing secret travels: no URL, no header, no signing secret.
    const wire = JSON.stringify(events);
    expect(wire).not.toContain("example.com");
    expect(wire).not.toContain(String(rotated.json.secret));
  });

  it("410 from several deliveries at once: the webhook is disabled once and told once", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["gone.*"],
    });
    const webhookId = created.json.id as string;
    await Promise.all(
      Array.from({ length: 6 }, (_, n) => pipeline.publishApi({ type: "gone.event", data: { n } })),
    );
    await pipeline.drain();
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
    expect(told(webhookId).filter((event) => event.detailType === "Webhook Disabled")).toMatchObject([
      { detail: { reason: "endpoint_gone", tenantId: pipeline.tenantId } },
    ]);
  });

  it("best-effort: PutEvents failing does not fail the operation, and the event is not sent later", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: "https://example.com/hooks",
      eventTypes: ["a.b"],
    });
    const webhookId = created.json.id as string;
    const sink = pipeline.operationalEvents;
    const before = sink?.requests() ?? 0;
    sink?.failNext(10);
    const rotated = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/rotate-secret`), {});
    expect(rotated.status).toBe(200);
    // Tried, and tried again once: best-effort, not forever.
    expect((sink?.requests() ?? 0) - before).toBe(2);
    pipeline.operationalEvents?.failNext(0);
    await pipeline.api("PATCH", pipeline.under(`/webhooks/${webhookId}`), { description: "later" });
    expect(told(webhookId)).toEqual([]);
  });
});
