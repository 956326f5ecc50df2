/**
 * Nothing stranded, nothing sent twice: manual retry and recover enqueue before they record, redrive settles each
 * letter against the delivery's current state, concurrent and crashed publishes fan out once, and the
 * reconciler re-enqueues work that nothing would come for — always as one chain of attempts per delivery.
 */
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { DUE_SHARDS } from "#aws/table-keys.ts";
import { reconcile } from "#core/delivery/reconcile.ts";
import { buildStoredEvent, deliveryMessage, FANOUT_LEASE_SECONDS } from "#core/publishing/publish.ts";
import { deliveryIdFor } from "#core/shared/ids.ts";
import { publishDeps } from "#functions/publish/runtime.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp(schedule = "1") {
  // These tests drive many failures on purpose: a circuit breaker opening would hold them (docs/endpoint-health.md).
  const pipeline = await startPipeline({ schedule, environment: { CIRCUIT_MIN_ATTEMPTS: "100000" } });
  let healthy = false;
  const receiver = await startReceiver(() => ({ status: healthy ? 200 : 500 }));
  cleanups.push(
    () => pipeline.close(),
    () => receiver.close(),
  );
  const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
    url: receiver.url,
    eventTypes: ["order.*"],
  });
  return {
    pipeline,
    receiver,
    webhookId: String(created.json.id),
    heal: () => {
      healthy = true;
    },
  };
}

const attemptsSeen = (receiver: Receiver, eventId: string) =>
  receiver.requests
    .filter((request) => request.headers["webhook-id"] === eventId)
    .map((request) => Number(request.headers["x-webhook-attempt"]));

async function deliveryOf(pipeline: Pipeline, eventId: string, webhookId: string) {
  return (await pipeline.api("GET", pipeline.under(`/deliveries/${deliveryIdFor(eventId, webhookId)}`))).json;
}

/** Runs the reconciler as of `at` (default now) with a grace of `graceSeconds` (default the configured one). */
function reconcileAt(pipeline: Pipeline, at = new Date(), graceSeconds?: number) {
  const runtime = pipeline.runtime;
  return reconcile({
    due: runtime.deliveries,
    shards: DUE_SHARDS,
    deliveries: runtime.deliveries,
    events: runtime.events,
    queue: runtime.queue,
    publish: { ...publishDeps(pipeline.roots.publish), now: () => at },
    now: () => at,
    graceSeconds: graceSeconds ?? runtime.config.reconcileGraceSeconds,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const later = (seconds: number) => new Date(Date.now() + seconds * 1000);

describe("manual retry and redrive settle against the delivery's current state", () => {
  it("a delivery retried by hand after it reached the DLQ is not sent again by a later redrive", async () => {
    const { pipeline, receiver, webhookId, heal } = await setUp();
    const eventId = String((await pipeline.publishApi({ type: "order.paid", data: {} })).json.eventId);
    await pipeline.drain();
    expect(await pipeline.deadLetters()).toHaveLength(1);
    heal();
    const retried = await pipeline.api(
      "POST",
      pipeline.under(`/deliveries/${deliveryIdFor(eventId, webhookId)}/retry`),
    );
    expect(retried.status).toBe(202);
    await pipeline.drain();
    const before = receiver.requests.length;
    const redrive = await pipeline.api("POST", "/dlq/redrive", {});
    expect(redrive.json).toMatchObject({ moved: 0, discarded: 1, left: 0 });
    await pipeline.drain();
    expect(receiver.requests.length).toBe(before);
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({ status: "delivered", series: 1 });
  });

  it("a retry whose enqueue fails changes nothing: the delivery stays failed and a second retry delivers it", async () => {
    const { pipeline, receiver, webhookId, heal } = await setUp();
    const eventId = String((await pipeline.publishApi({ type: "order.paid", data: {} })).json.eventId);
    await pipeline.drain();
    heal();
    const enqueue = pipeline.runtime.queue.enqueue.bind(pipeline.runtime.queue);
    pipeline.runtime.queue.enqueue = async () => {
      throw new Error("SQS unavailable");
    };
    const deliveryId = deliveryIdFor(eventId, webhookId);
    expect(
      (await pipeline.api("POST", pipeline.under(`/deliveries/${deliveryId}/retry`))).status,
    ).toBeGreaterThanOrEqual(500);
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({ status: "failed" });
    pipeline.runtime.queue.enqueue = enqueue;
    expect((await pipeline.api("POST", pipeline.under(`/deliveries/${deliveryId}/retry`))).status).toBe(202);
    await pipeline.drain();
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({ status: "delivered" });
    expect(attemptsSeen(receiver, eventId)).toEqual([1, 2, 1]);
  });

  it("recover batches its work: 120 failed deliveries with a bounded number of calls, none per delivery", async () => {
    const { pipeline, receiver, webhookId, heal } = await setUp("1");
    const since = new Date(Date.now() - 1000).toISOString();
    for (let start = 0; start < 120; start += 20)
      await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          pipeline.publishApi({ type: "order.bulk", data: { n: start + n } }),
        ),
      );
    await pipeline.drain(60_000);
    heal();
    pipeline.calls.reset();
    const recovered = await pipeline.api("POST", pipeline.under(`/webhooks/${webhookId}/recover`), { since });
    expect(recovered.json).toMatchObject({ recovered: 120, truncated: false });
    expect(pipeline.calls.count("GetItemCommand")).toBeLessThanOrEqual(1);
    expect(pipeline.calls.count("SendMessageBatchCommand")).toBe(12);
    // 120 restarted records, one item each (no attempt): two transactions of at most 100 items.
    expect(pipeline.calls.count("TransactWriteItemsCommand")).toBe(2);
    expect(pipeline.calls.count("PutItemCommand")).toBe(0);
    await pipeline.drain(60_000);
    expect(receiver.requests.filter((request) => request.headers["x-webhook-attempt"] === "1")).toHaveLength(
      240,
    );
  });
});

describe("publishing the same id concurrently, or again after a crash mid-fan-out", () => {
  it("five concurrent publishes of one id: each webhook gets one delivery chain, attempts strictly increasing", async () => {
    const { pipeline, receiver } = await setUp("1,1");
    const second = await startReceiver(() => ({ status: 500 }));
    cleanups.push(() => second.close());
    await pipeline.api("POST", pipeline.under("/webhooks"), { url: second.url, eventTypes: ["order.*"] });
    const body = { id: "evt_concurrent", type: "order.paid", data: { n: 1 } };
    const answers = await Promise.all(Array.from({ length: 5 }, () => pipeline.publishApi(body)));
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202, 202, 202]);
    await pipeline.drain();
    expect(attemptsSeen(receiver, "evt_concurrent")).toEqual([1, 2, 3]);
    expect(attemptsSeen(second, "evt_concurrent")).toEqual([1, 2, 3]);
    expect((await pipeline.deadLetters()).length).toBe(2);
  });

  it("a publish repeated after the first one died mid-fan-out resumes without a second chain", async () => {
    const { pipeline, receiver } = await setUp("1,1");
    const body = { id: "evt_crashed", type: "order.paid", data: { n: 2 } };
    // The first publisher stores the event and dies before its enqueue returns, its message already sent.
    const event = buildStoredEvent(pipeline.tenantId, body, new Date(), "api");
    await pipeline.runtime.events.createIfAbsent(event, {
      generation: 0,
      until: new Date(Date.now() + FANOUT_LEASE_SECONDS * 1000).toISOString(),
    });
    const webhookId = String(
      ((await pipeline.api("GET", pipeline.under("/webhooks"))).json.data as { id: string }[])[0]?.id,
    );
    await pipeline.runtime.queue.enqueue([deliveryMessage(event, webhookId)]);
    await pipeline.drain();
    expect(attemptsSeen(receiver, "evt_crashed")).toEqual([1, 2, 3]);

    // A repeat within the lease sends nothing; once the lease ran out, the reconciler (or a repeat) resumes.
    expect((await pipeline.publishApi(body)).statusCode).toBe(202);
    expect(await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)).toBe(0);
    const result = await reconcileAt(pipeline, later(FANOUT_LEASE_SECONDS + 20 * 60 + 5));
    expect(result.fanOutsResumed).toBe(1);
    await pipeline.drain();
    // The delivery had a record already, so the resumed fan-out sent nothing for it: one chain, one letter.
    expect(attemptsSeen(receiver, "evt_crashed")).toEqual([1, 2, 3]);
    expect((await pipeline.deadLetters()).length).toBe(1);
    expect((await pipeline.api("GET", pipeline.under("/events/evt_crashed"))).json).toMatchObject({
      fanout: { deliveries: 1 },
    });
  });
});

describe("the reconciler", () => {
  it("re-enqueues a delivery whose message was lost mid-retry; the chain continues at the next attempt", async () => {
    const { pipeline, receiver, webhookId, heal } = await setUp("2,2");
    const eventId = String((await pipeline.publishApi({ type: "order.paid", data: {} })).json.eventId);
    await pipeline.poller.pollOnce(0);
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({ status: "retrying", attempts: 1 });
    await pipeline.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: pipeline.resources.deliveryQueueUrl }));
    heal();
    // Within the grace (20 minutes by default) a late retry is not stranded yet.
    expect(await reconcileAt(pipeline)).toEqual({ deliveriesReenqueued: 0, fanOutsResumed: 0 });
    await sleep(3000); // the retry was due within 2.4 s: now it is past due
    expect(await reconcileAt(pipeline, new Date(), 1)).toEqual({
      deliveriesReenqueued: 1,
      fanOutsResumed: 0,
    });
    await pipeline.drain();
    expect(attemptsSeen(receiver, eventId)).toEqual([1, 2]);
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({ status: "delivered", copy: 1 });
  });

  it("when the old message does turn up after all, only one of the two copies makes a request", async () => {
    const { pipeline, receiver, webhookId, heal } = await setUp("2,2");
    const eventId = String((await pipeline.publishApi({ type: "order.paid", data: {} })).json.eventId);
    await pipeline.poller.pollOnce(0);
    heal();
    await sleep(3000);
    await reconcileAt(pipeline, new Date(), 1);
    await reconcileAt(pipeline, new Date(), 0); // and again, before anything ran: a third copy, still one chain
    await pipeline.drain();
    expect(attemptsSeen(receiver, eventId)).toEqual([1, 2]);
    expect(await deliveryOf(pipeline, eventId, webhookId)).toMatchObject({
      status: "delivered",
      attempts: 2,
    });
  });
});
