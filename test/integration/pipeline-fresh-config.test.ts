/**
 * "A change to a webhook applies to its very next delivery": each change is made while a delivery for the webhook
 * already waits in the queue, with every per-container cache warm (the same runtime delivered to the webhook
 * just before), and the waiting delivery must follow the new configuration.
 */
import { afterAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp() {
  const pipeline = await startPipeline({ schedule: "1,1" });
  const [first, second] = await Promise.all([startReceiver(), startReceiver()]);
  cleanups.push(
    () => pipeline.close(),
    () => first.close(),
    () => second.close(),
  );
  const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
    url: first.url,
    eventTypes: ["order.*"],
  });
  expect(created.status).toBe(201);
  const id = String(created.json.id);
  const secret = String(created.json.secret);
  // Warm every cache: one delivery through this runtime.
  await pipeline.publishApi({ type: "order.warm", data: {} });
  await pipeline.drain();
  expect(first.requests).toHaveLength(1);
  return { pipeline, first, second, id, secret };
}

/** Publishes one event while the poller is idle, so its delivery waits in the queue during `change`. */
async function publishThenChange(pipeline: Pipeline, change: () => Promise<unknown>) {
  const published = await pipeline.publishApi({ type: "order.paid", data: { n: 1 } });
  expect(published.statusCode).toBe(202);
  await change();
  await pipeline.drain();
  return String(published.json.eventId);
}

const deliveryOf = async (pipeline: Pipeline, eventId: string) => {
  const event = await pipeline.api("GET", pipeline.under(`/events/${eventId}`));
  return (event.json.deliveries as { status: string; reason?: string }[] | undefined)?.[0];
};

const lastOf = (receiver: Receiver) => receiver.requests.at(-1);

describe("a change to a webhook applies to the delivery waiting in the queue", () => {
  it("a new URL: the waiting delivery goes to the new URL, nothing more to the old one", async () => {
    const { pipeline, first, second, id } = await setUp();
    await publishThenChange(pipeline, () =>
      pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { url: second.url }),
    );
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(1);
  });

  it("deactivated: the waiting delivery is dropped as webhook_disabled, not sent and not dead-lettered", async () => {
    const { pipeline, first, id } = await setUp();
    const eventId = await publishThenChange(pipeline, () =>
      pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { active: false }),
    );
    expect(first.requests).toHaveLength(1);
    expect(await deliveryOf(pipeline, eventId)).toMatchObject({
      status: "dropped",
      reason: "webhook_disabled",
    });
    expect(await pipeline.deadLetters()).toEqual([]);
  });

  it("re-enabled: the next delivery is sent, though this runtime just dropped one while it was off", async () => {
    const { pipeline, first, id } = await setUp();
    const offEvent = await publishThenChange(pipeline, () =>
      pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { active: false }),
    );
    expect(await deliveryOf(pipeline, offEvent)).toMatchObject({ status: "dropped" });
    await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { active: true });
    const onEvent = await publishThenChange(pipeline, async () => undefined);
    expect(await deliveryOf(pipeline, onEvent)).toMatchObject({ status: "delivered" });
    expect(first.requests).toHaveLength(2);
  });

  it("deleted: the waiting delivery is dropped as webhook_deleted and nothing reaches the endpoint", async () => {
    const { pipeline, first, id } = await setUp();
    const eventId = await publishThenChange(pipeline, () =>
      pipeline.api("DELETE", pipeline.under(`/webhooks/${id}`)),
    );
    expect(first.requests).toHaveLength(1);
    expect(await deliveryOf(pipeline, eventId)).toMatchObject({
      status: "dropped",
      reason: "webhook_deleted",
    });
  });

  it("rotated with no grace: the waiting delivery carries only the new signature", async () => {
    const { pipeline, first, id, secret } = await setUp();
    let rotated = "";
    await publishThenChange(pipeline, async () => {
      const answer = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
        gracePeriodSeconds: 0,
      });
      rotated = String(answer.json.secret);
    });
    const request = lastOf(first);
    const headers = request?.headers as Record<string, string>;
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(verifyWebhook({ headers, body: request?.body ?? "", secrets: [rotated] }).id).toBeDefined();
    expect(() => verifyWebhook({ headers, body: request?.body ?? "", secrets: [secret] })).toThrow();
  });

  it("rotated with the default grace: the waiting delivery carries both signatures, the new one first", async () => {
    const { pipeline, first, id, secret } = await setUp();
    let rotated = "";
    await publishThenChange(pipeline, async () => {
      const answer = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {});
      rotated = String(answer.json.secret);
    });
    const request = lastOf(first);
    const headers = request?.headers as Record<string, string>;
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const candidate of [rotated, secret])
      expect(verifyWebhook({ headers, body: request?.body ?? "", secrets: [candidate] }).id).toBeDefined();
  });

  it("a 410 from the URL the webhook was moved away from leaves the webhook, at its new URL, active", async () => {
    const { pipeline, first, second, id } = await setUp();
    // The old URL answers 410 only after the owner has moved the webhook to the new URL.
    first.script = () => ({ status: 410, delayMs: 400 });
    const moved = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (first.requests.length >= 2) {
          clearInterval(poll);
          void pipeline
            .api("PATCH", pipeline.under(`/webhooks/${id}`), { url: second.url })
            .then(() => resolve());
        }
      }, 10);
    });
    await pipeline.publishApi({ type: "order.paid", data: { n: 2 } });
    await pipeline.drain();
    await moved;
    const webhook = await pipeline.api("GET", pipeline.under(`/webhooks/${id}`));
    expect(webhook.json).toMatchObject({ url: second.url, active: true, disabledReason: null });

    await pipeline.publishApi({ type: "order.paid", data: { n: 3 } });
    await pipeline.drain();
    expect(second.requests).toHaveLength(1);
  });

  it("a 410 from the current URL disables the webhook", async () => {
    const { pipeline, first, id } = await setUp();
    first.script = () => ({ status: 410 });
    await pipeline.publishApi({ type: "order.paid", data: { n: 4 } });
    await pipeline.drain();
    const webhook = await pipeline.api("GET", pipeline.under(`/webhooks/${id}`));
    expect(webhook.json).toMatchObject({ active: false, disabledReason: "http_410" });
  });
});
