/**
 * Endpoint health over the real engines: the rate limit across three deliver "containers" (each its own runtime
 * and SDK clients, all polling one fauxqs queue), and the circuit breaker through a receiver outage. Arrivals are
 * the receiver's own timestamps; attempts are the ledger's records — never the code under test's own counters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuePoller } from "#local/queue-poller.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The most arrivals in any window of `windowMs` (a busiest window can always be made to start at an arrival). */
function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end += 1;
    best = Math.max(best, end - start);
  }
  return best;
}

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every delivery of a webhook, through the API's listing (pages of 100). */
async function deliveriesOf(pipeline: Pipeline, webhookId: string, status?: string) {
  const found: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: "100", ...(status ? { status } : {}) });
    if (cursor) query.set("cursor", cursor);
    const page = await pipeline.api("GET", pipeline.under(`/webhooks/${webhookId}/deliveries?${query}`));
    expect(page.status).toBe(200);
    found.push(...(page.json.data ?? []));
    cursor = (page.json.nextCursor as string | null) ?? null;
  } while (cursor);
  return found;
}

async function publishMany(pipeline: Pipeline, type: string, count: number, from = 0) {
  for (let start = 0; start < count; start += 25)
    await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, offset) =>
        pipeline.publishApi({ type, data: { n: from + start + offset } }),
      ),
    );
}

describe("rate limit across concurrent deliver containers", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;
  let workers: QueuePoller[];

  beforeAll(async () => {
    // A small receive budget: the backlogs below are held past it many times over, so what SQS would dead-letter
    // without a reason must be sent again as new messages and still arrive at the limit's pace.
    pipeline = await startPipeline({
      schedule: "1,1,1,1,1",
      environment: { DEAD_LETTER_AFTER_RECEIVES: "3" },
    });
    receiver = await startReceiver(() => ({ status: 204 }));
    workers = [pipeline.poller, pipeline.deliverWorker(), pipeline.deliverWorker()];
    for (const worker of workers) worker.start();
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await receiver.close();
    await pipeline.close();
  });

  it("over any 5 s window at most 1.1 × limit × 5 arrivals, every delivery once, no attempt for a held one; a PATCH applies at once", async () => {
    const limit = 20;
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["rate.limited"],
      rateLimitPerSecond: limit,
    });
    expect(created.status).toBe(201);
    expect(created.json.rateLimitPerSecond).toBe(limit);
    const webhookId = created.json.id as string;
    pipeline.calls.reset();
    const events = 150;
    await publishMany(pipeline, "rate.limited", events);
    await waitFor(() => receiver.requests.length >= events, 120_000, "every delivery at 20/s");
    const first = receiver.requests.map((request) => request.at);
    expect(busiestWindow(first, 5000)).toBeLessThanOrEqual(1.1 * limit * 5);
    expect(new Set(receiver.requests.map((request) => request.headers["webhook-id"])).size).toBe(events);
    const updateCalls = pipeline.calls.count("UpdateItemCommand");

    // The new limit holds for the very next batch: a lower one, then a burst of events.
    const patched = await pipeline.api("PATCH", pipeline.under(`/webhooks/${webhookId}`), {
      rateLimitPerSecond: 4,
    });
    expect(patched.status).toBe(200);
    const patchedAt = Date.now();
    // A backlog of 40 behind 4/s: its messages are held past the receive budget and sent again as new messages
    // (docs/endpoint-health.md, "Long holds"); none is left for the reconciler, which this pipeline does not run.
    const backlog = 40;
    await publishMany(pipeline, "rate.limited", backlog, events);
    await waitFor(() => receiver.requests.length >= events + backlog, 120_000, "the deliveries at 4/s");
    const second = receiver.requests
      .filter((request) => request.at >= patchedAt)
      .map((request) => request.at);
    expect(second).toHaveLength(backlog);
    expect(busiestWindow(second, 5000)).toBeLessThanOrEqual(1.1 * 4 * 5);

    await waitFor(
      async () => (await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)) === 0,
      60_000,
      "an empty queue",
    );
    const deliveries = await deliveriesOf(pipeline, webhookId);
    expect(deliveries).toHaveLength(events + backlog);
    // Held deliveries made no attempt: each delivered with exactly the one attempt the receiver saw.
    for (const delivery of deliveries) expect(delivery).toMatchObject({ status: "delivered", attempts: 1 });
    // The long holds were sent again as new messages (the deliver function's only SendMessage).
    const requeued = pipeline.calls.count("SendMessageCommand");
    expect(requeued).toBeGreaterThan(0);
    // For BENCHMARKS.md: the limiter's conditional UpdateItems per delivery (one per webhook per batch, plus races).
    process.stdout.write(
      `rate limit: ${updateCalls} UpdateItem for ${events} deliveries (${(updateCalls / events).toFixed(2)} per delivery); ${requeued} held messages sent again past the receive budget\n`,
    );
  }, 300_000);
});

describe("circuit breaker through a receiver outage", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;
  let workers: QueuePoller[];
  let down = true;

  beforeAll(async () => {
    pipeline = await startPipeline({
      schedule: "1,1,1,1,1,1,1,1",
      operationalEvents: true,
      environment: {
        CIRCUIT_WINDOW_SECONDS: "60",
        CIRCUIT_MIN_ATTEMPTS: "10",
        CIRCUIT_FAILURE_PERCENT: "50",
        CIRCUIT_PROBE_INTERVAL_SECONDS: "2",
      },
    });
    receiver = await startReceiver(() => ({ status: down ? 503 : 204 }));
    workers = [pipeline.poller, pipeline.deliverWorker()];
    for (const worker of workers) worker.start();
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await receiver.close();
    await pipeline.close();
  });

  it("500 events: requests during the outage ≤ probes + a small bound, all delivered after it, no attempt for a held delivery", async () => {
    const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["outage.*"],
    });
    const webhookId = created.json.id as string;
    const events = 500;
    const outageStart = Date.now();
    await publishMany(pipeline, "outage.event", events);
    await waitFor(
      async () =>
        (
          (await pipeline.api("GET", pipeline.under(`/webhooks/${webhookId}`))).json.health as {
            circuit: string;
          }
        ).circuit !== "closed",
      30_000,
      "the circuit to open",
    );
    const open = await pipeline.api("GET", pipeline.under(`/webhooks/${webhookId}`));
    expect(open.json.health).toMatchObject({ circuit: expect.stringMatching(/^(open|half_open)$/) });
    await sleep(6000);
    down = false;
    const outageEnd = Date.now();
    const duringOutage = receiver.requests.filter((request) => request.at < outageEnd).length;
    // Before opening: the window's 10 attempts and what the two containers had in flight (2 × 10); then one probe
    // per 2 s interval.
    const probes = Math.ceil((outageEnd - outageStart) / 2000) + 1;
    expect(duringOutage).toBeLessThanOrEqual(10 + 2 * 10 + probes);

    await waitFor(
      async () => (await deliveriesOf(pipeline, webhookId, "delivered")).length === events,
      120_000,
      "every delivery after the receiver came back",
    );
    process.stdout.write(
      `breaker: ${duringOutage} requests during a ${outageEnd - outageStart} ms outage, 500 events\n`,
    );
    const deliveries = await deliveriesOf(pipeline, webhookId);
    expect(deliveries).toHaveLength(events);
    expect(deliveries.every((delivery) => delivery.status === "delivered")).toBe(true);
    // Every counted attempt is a request the receiver saw, and the other way round: a held delivery counted none.
    const attempts = deliveries.reduce((sum, delivery) => sum + (delivery.attempts as number), 0);
    expect(attempts).toBe(receiver.requests.length);
    const after = await pipeline.api("GET", pipeline.under(`/webhooks/${webhookId}`));
    expect(after.json.health).toMatchObject({ circuit: "closed", failingSince: null });

    // One transition each way, told once, whichever container made it.
    const told =
      pipeline.operationalEvents?.events.filter((event) => event.detail.webhookId === webhookId) ?? [];
    expect(told.map((event) => event.detailType)).toEqual(["Webhook Failing", "Webhook Recovered"]);
    expect(told[0]).toMatchObject({
      source: "serverless-webhooks",
      eventBusName: "default",
      detail: { tenantId: pipeline.tenantId, webhookId, windowSeconds: 60 },
    });
  }, 240_000);
});
