import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, type Script, startReceiver } from "#test/support/receivers.ts";

describe("delivery failure paths", () => {
  let pipeline: Pipeline;
  const receivers: Receiver[] = [];
  let counter = 0;

  beforeAll(async () => {
    pipeline = await startPipeline({ schedule: "1,2,3", timeoutMs: 500 });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  afterAll(() => pipeline.close());

  /** A webhook on its own event type, a receiver following `script`, and one published event. */
  async function deliverOnce(script: Script, maxAttempts?: number) {
    const receiver = await startReceiver(script);
    receivers.push(receiver);
    counter += 1;
    const type = `case.n${counter}`;
    const { webhook } = await pipeline.createWebhook({ url: receiver.url, eventTypes: [type], maxAttempts });
    pipeline.calls.reset();
    const published = await pipeline.publishApi({ type, data: { n: counter } });
    await pipeline.drain();
    const deliveryId = receiver.requests[0]?.headers["x-webhook-delivery-id"] as string | undefined;
    const visibilityChanges = pipeline.calls.inputs
      .filter((call) => call.name === "ChangeMessageVisibilityCommand")
      .map((call) => call.input.VisibilityTimeout);
    return { receiver, webhook, eventId: published.json.eventId as string, deliveryId, visibilityChanges };
  }

  const attemptsOf = async (deliveryId: string | undefined) =>
    (await pipeline.runtime.deliveries.attemptsOfDelivery(deliveryId ?? "none")).items.reverse();
  const deadLetterFor = async (eventId: string) =>
    (await pipeline.deadLetters()).find((letter) => letter.attributes.eventId === eventId);

  it("500, 500, 200: three attempts with increasing visibility delays, same webhook-id, fresh signatures", async () => {
    const { receiver, eventId, deliveryId, visibilityChanges } = await deliverOnce((_, index) => ({
      status: index < 2 ? 500 : 200,
    }));
    expect(receiver.requests).toHaveLength(3);
    expect(visibilityChanges).toEqual([1, 2]);
    expect(new Set(receiver.requests.map((request) => request.headers["webhook-id"]))).toEqual(
      new Set([eventId]),
    );
    expect(receiver.requests.map((request) => request.headers["x-webhook-attempt"])).toEqual(["1", "2", "3"]);
    expect(new Set(receiver.requests.map((request) => request.headers["webhook-signature"])).size).toBe(3);
    const timestamps = receiver.requests.map((request) => Number(request.headers["webhook-timestamp"]));
    expect(timestamps[2]).toBeGreaterThan(timestamps[0] as number);
    expect(await attemptsOf(deliveryId)).toMatchObject([
      { attempt: 1, status: "failed", statusCode: 500 },
      { attempt: 2, status: "failed", statusCode: 500 },
      { attempt: 3, status: "succeeded", statusCode: 200 },
    ]);
    expect(await pipeline.runtime.deliveries.getDelivery(deliveryId ?? "")).toMatchObject({
      status: "delivered",
      attempts: 3,
    });
  });

  it("a 4xx is retried on the schedule like a 5xx, then dead-lettered as exhausted with the last reason", async () => {
    const { receiver, eventId, deliveryId, visibilityChanges } = await deliverOnce(
      () => ({ status: 404, body: "no such hook" }),
      2,
    );
    expect(receiver.requests).toHaveLength(2);
    expect(visibilityChanges).toEqual([1]);
    expect(await attemptsOf(deliveryId)).toMatchObject([
      { attempt: 1, status: "failed", statusCode: 404, responseBody: "no such hook" },
      { attempt: 2, status: "failed", statusCode: 404 },
    ]);
    expect(await deadLetterFor(eventId)).toMatchObject({
      attributes: { reason: "exhausted:http_404", deliveryId, attempts: "2" },
    });
    expect(await pipeline.runtime.deliveries.getDelivery(deliveryId ?? "")).toMatchObject({
      status: "failed",
      reason: "exhausted:http_404",
    });
  });

  it("a 4xx that clears up is delivered on a later attempt", async () => {
    const { receiver, deliveryId } = await deliverOnce((_, index) => ({ status: index === 0 ? 401 : 204 }));
    expect(receiver.requests).toHaveLength(2);
    expect(await pipeline.runtime.deliveries.getDelivery(deliveryId ?? "")).toMatchObject({
      status: "delivered",
      attempts: 2,
    });
  });

  it("a 410 disables the webhook and dead-letters the delivery", async () => {
    const { webhook, eventId } = await deliverOnce(() => ({ status: 410 }));
    expect(await pipeline.runtime.webhooks.get(pipeline.tenantId, webhook.id)).toMatchObject({
      active: false,
      disabledReason: "http_410",
      version: 2,
    });
    expect(await deadLetterFor(eventId)).toMatchObject({ attributes: { reason: "endpoint_gone" } });
    expect(
      await pipeline.runtime.webhooks.activeWebhookIds(pipeline.tenantId, webhook.eventTypes[0] as string),
    ).toEqual([]);
  });

  it("a 3xx is a failure that is retried and never followed", async () => {
    const target = await startReceiver();
    receivers.push(target);
    const { receiver, eventId } = await deliverOnce(
      () => ({ status: 302, headers: { location: target.url } }),
      2,
    );
    expect(receiver.requests).toHaveLength(2);
    expect(target.connections).toBe(0);
    expect(await deadLetterFor(eventId)).toMatchObject({ attributes: { reason: "exhausted:http_302" } });
  });

  it("timeouts and connection resets are retried", async () => {
    const slow = await deliverOnce((_, index) =>
      index === 0 ? { status: 200, delayMs: 1500 } : { status: 200 },
    );
    expect(await attemptsOf(slow.deliveryId)).toMatchObject([
      { attempt: 1, status: "failed", errorClass: "timeout" },
      { attempt: 2, status: "succeeded" },
    ]);
    const reset = await deliverOnce((_, index) => (index === 0 ? { reset: true } : { status: 200 }));
    expect(await attemptsOf(reset.deliveryId)).toMatchObject([
      { attempt: 1, status: "failed", errorClass: "connection_reset" },
      { attempt: 2, status: "succeeded" },
    ]);
  });

  it("an exhausted schedule ends in the DLQ (per-webhook maxAttempts honoured)", async () => {
    const { receiver, eventId, deliveryId, visibilityChanges } = await deliverOnce(
      () => ({ status: 503 }),
      2,
    );
    expect(receiver.requests).toHaveLength(2);
    expect(visibilityChanges).toEqual([1]);
    expect(await deadLetterFor(eventId)).toMatchObject({
      attributes: { reason: "exhausted:http_503", attempts: "2" },
    });
    expect(await pipeline.runtime.deliveries.getDelivery(deliveryId ?? "")).toMatchObject({
      status: "failed",
      attempts: 2,
    });
  });

  it("Retry-After on a 429 sets the next delay instead of the schedule", async () => {
    const { receiver, visibilityChanges } = await deliverOnce((_, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200 },
    );
    expect(receiver.requests).toHaveLength(2);
    expect(visibilityChanges).toEqual([2]);
  });

  it("connection refused (receiver down) is retried until the schedule is exhausted", async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    const { webhook } = await pipeline.createWebhook({ url, eventTypes: ["case.down"], maxAttempts: 2 });
    const published = await pipeline.publishApi({ type: "case.down", data: {} });
    await pipeline.drain();
    const letter = await deadLetterFor(published.json.eventId as string);
    expect(letter).toMatchObject({
      attributes: { reason: "exhausted:connection_refused", webhookId: webhook.id },
    });
  });
});
