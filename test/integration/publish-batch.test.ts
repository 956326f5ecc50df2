/**
 * `POST /tenants/{tenantId}/events/batch` over the real engines, through the local API Gateway (request models and
 * the OpenAPI check on every answer): all-or-nothing request validation, per-event results in request order,
 * idempotency per id (a repeated batch sends nothing), a transient enqueue failure repeated to completion, the
 * catalogue's per-event 422, and the SDK calls a batch of 100 costs.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryMessage } from "#core/shared/model.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
const receivers: Receiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline();
});
afterAll(async () => {
  pipeline.close();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

interface Result {
  status: number;
  eventId: string;
  deliveries?: number;
  duplicate?: boolean;
  problem?: { status: number; title: string; detail: string; errors?: { field: string }[] };
}

/** A tenant of its own with one receiver subscribed to `patterns`. */
async function tenantWithReceiver(tenantId: string, patterns: string[]) {
  expect((await pipeline.api("PUT", `/tenants/${tenantId}`, { name: tenantId })).status).toBe(201);
  const receiver = await startReceiver();
  receivers.push(receiver);
  await pipeline.createWebhook({ url: receiver.url, eventTypes: patterns }, tenantId);
  return receiver;
}

const batch = (tenantId: string, events: unknown[]) =>
  pipeline.api("POST", `/tenants/${tenantId}/events/batch`, { events });
const resultsOf = (response: { json: Record<string, unknown> }) => response.json.results as Result[];
const fieldsOf = (json: Record<string, unknown>) =>
  ((json.errors ?? []) as { field: string }[]).map((issue) => issue.field);
const storedIds = async (tenantId: string) => {
  const listed = await pipeline.api("GET", `/tenants/${tenantId}/events?limit=100`);
  expect(listed.status).toBe(200);
  return (listed.json.data as { id: string }[]).map((event) => event.id);
};
const events = (prefix: string, count: number, type = "order.paid") =>
  Array.from({ length: count }, (_, n) => ({ id: `${prefix}_${n}`, type, data: { n, nested: { n: [n] } } }));

describe("POST /tenants/{tenantId}/events/batch", () => {
  it("accepts 100 events and delivers each once; the whole batch again sends nothing and answers duplicates", async () => {
    const receiver = await tenantWithReceiver("t_hundred", ["order.*"]);
    const sent = events("evt_h", 100);
    const first = await batch("t_hundred", sent);
    expect(first.status).toBe(200);
    expect(resultsOf(first)).toEqual(
      sent.map((event) => ({ status: 202, eventId: event.id, deliveries: 1, duplicate: false })),
    );
    await pipeline.drain();
    expect(receiver.requests.map((request) => request.headers["webhook-id"]).sort()).toEqual(
      sent.map((event) => event.id).sort(),
    );
    const delivered = receiver.requests.map(
      (request) => JSON.parse(request.body) as { id: string; data: unknown },
    );
    for (const body of delivered) expect(body.data).toEqual(sent.find((event) => event.id === body.id)?.data);

    pipeline.calls.reset();
    const again = await batch("t_hundred", sent);
    expect(resultsOf(again)).toEqual(
      sent.map((event) => ({ status: 202, eventId: event.id, deliveries: 1, duplicate: true })),
    );
    expect(pipeline.calls.count("SendMessageBatchCommand")).toBe(0);
    expect(await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)).toBe(0);
    await pipeline.drain();
    expect(receiver.requests).toHaveLength(100);
  });

  it("answers each event in request order: accepted, duplicate, conflict, repeated within the batch, generated id", async () => {
    const receiver = await tenantWithReceiver("t_mix", ["order.*"]);
    expect(
      (
        await pipeline.api("POST", "/tenants/t_mix/events", {
          id: "evt_old",
          type: "order.paid",
          data: { a: 1 },
        })
      ).status,
    ).toBe(202);
    const response = await batch("t_mix", [
      { id: "evt_new", type: "order.paid", data: { a: 2 } },
      { id: "evt_old", type: "order.paid", data: { a: 1 } },
      { id: "evt_old", type: "order.paid", data: { a: 99 } },
      { id: "evt_new", type: "order.paid", data: { a: 2 } },
      { id: "evt_new", type: "order.paid", data: { a: 3 } },
      { type: "order.paid", data: { a: 4 } },
      { id: "evt_nobody", type: "user.created", data: {} },
    ]);
    expect(response.status).toBe(200);
    const results = resultsOf(response);
    expect(results.map((result) => [result.status, result.duplicate])).toEqual([
      [202, false],
      [202, true],
      [409, undefined],
      [202, true],
      [409, undefined],
      [202, false],
      [202, false],
    ]);
    expect(results.map((result) => result.eventId).slice(0, 5)).toEqual([
      "evt_new",
      "evt_old",
      "evt_old",
      "evt_new",
      "evt_new",
    ]);
    expect(results[5]?.eventId).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(results[6]?.deliveries).toBe(0);
    expect(results[2]?.problem).toMatchObject({ status: 409, title: "Conflict" });
    expect(results[2]?.problem?.detail).toContain("evt_old");
    await pipeline.drain();
    // evt_old (single publish), evt_new, and the generated one: each once.
    expect(receiver.requests.map((request) => request.headers["webhook-id"]).sort()).toEqual(
      ["evt_old", "evt_new", results[5]?.eventId].sort(),
    );
    const stored = await pipeline.api("GET", "/tenants/t_mix/events/evt_new");
    expect(stored.json.data).toEqual({ a: 2 });
  });

  it("two copies of a batch racing (a retry while the first still runs) deliver each event once", async () => {
    const receiver = await tenantWithReceiver("t_race", ["race.*"]);
    const sent = events("evt_race", 30, "race.run");
    const [first, second] = await Promise.all([batch("t_race", sent), batch("t_race", sent)]);
    for (const response of [first, second]) {
      expect(response.status).toBe(200);
      expect(resultsOf(response).map((result) => [result.eventId, result.status, result.deliveries])).toEqual(
        sent.map((event) => [event.id, 202, 1]),
      );
    }
    // Each event is new in exactly one of the two answers.
    const fresh = [first, second].flatMap((response) =>
      resultsOf(response).filter((result) => !result.duplicate),
    );
    expect(fresh.map((result) => result.eventId).sort()).toEqual(sent.map((event) => event.id).sort());
    await pipeline.drain();
    expect(receiver.requests.map((request) => request.headers["webhook-id"]).sort()).toEqual(
      sent.map((event) => event.id).sort(),
    );
  });

  it("refuses the whole request, storing nothing, when any event is malformed, naming the field", async () => {
    await tenantWithReceiver("t_refused", ["order.*"]);
    const tooMany = await batch("t_refused", events("evt_many", 101));
    expect(tooMany.status).toBe(400);
    expect(fieldsOf(tooMany.json)).toEqual(["events"]);
    const none = await batch("t_refused", []);
    expect(none.status).toBe(400);
    expect(fieldsOf(none.json)).toEqual(["events"]);

    const sent: Record<string, unknown>[] = events("evt_bad", 100);
    sent[57] = { ...sent[57], type: "order paid" };
    const invalid = await batch("t_refused", sent);
    expect(invalid.status).toBe(400);
    expect(invalid.headers["content-type"]).toBe("application/problem+json");
    expect(fieldsOf(invalid.json)).toEqual(["events.57.type"]);
    sent[57] = { ...sent[57], type: "order.paid", data: { deep: { er: 1 } }, extra: true };
    sent[12] = { ...sent[12], timestamp: "yesterday" };
    expect(fieldsOf((await batch("t_refused", sent)).json).sort()).toEqual([
      "events.12.timestamp",
      "events.57",
    ]);
    // The id of the batch route's own path is refused everywhere, by both publish routes.
    const reserved = await batch("t_refused", [{ id: "batch", type: "order.paid", data: {} }]);
    expect(fieldsOf(reserved.json)).toEqual(["events.0.id"]);
    const single = await pipeline.api("POST", "/tenants/t_refused/events", {
      id: "batch",
      type: "order.paid",
      data: {},
    });
    expect(single.status).toBe(400);
    expect(fieldsOf(single.json)).toEqual(["id"]);
    // Not JSON, or not an object of events: the gateway's own 400.
    expect((await pipeline.api("POST", "/tenants/t_refused/events/batch", "[{")).status).toBe(400);
    expect((await pipeline.api("POST", "/tenants/t_refused/events/batch", { events: [1] })).status).toBe(400);
    expect(await storedIds("t_refused")).toEqual([]);
    expect(await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)).toBe(0);
  });

  it("refuses a body over 3 MB with a 413 naming the limit; an envelope over 256 KiB is that event's 413", async () => {
    await tenantWithReceiver("t_large", ["order.*"]);
    const big = "x".repeat(240 * 1024);
    const tooLarge = await batch(
      "t_large",
      Array.from({ length: 13 }, (_, n) => ({ id: `evt_big_${n}`, type: "order.paid", data: { big } })),
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.detail).toBe("the batch is larger than 3000000 bytes");
    expect(await storedIds("t_large")).toEqual([]);

    const mixed = await batch("t_large", [
      { id: "evt_small", type: "order.paid", data: {} },
      { id: "evt_huge", type: "order.paid", data: { big: "y".repeat(257 * 1024) } },
    ]);
    expect(mixed.status).toBe(200);
    expect(resultsOf(mixed).map((result) => [result.eventId, result.status])).toEqual([
      ["evt_small", 202],
      ["evt_huge", 413],
    ]);
    expect(resultsOf(mixed)[1]?.problem).toMatchObject({ status: 413, title: "Payload too large" });
    expect(await storedIds("t_large")).toEqual(["evt_small"]);
  });

  it("answers 404 for a tenant that does not exist, and GET …/events/batch is no event", async () => {
    const missing = await batch("t_nobody", events("evt_x", 2));
    expect(missing.status).toBe(404);
    expect((await pipeline.api("GET", "/tenants/t_mix/events/batch")).status).toBe(405);
  });

  it("refuses one event's data its type's catalogue schema refuses (422), and publishes the others", async () => {
    const receiver = await tenantWithReceiver("t_catalogue", ["payment.*"]);
    const put = await pipeline.api("PUT", "/event-types/payment.captured", {
      description: "A payment was captured.",
      schema: { type: "object", required: ["amount"], properties: { amount: { type: "integer" } } },
      validate: true,
    });
    expect(put.status).toBe(201);
    const response = await batch("t_catalogue", [
      { id: "evt_pay_1", type: "payment.captured", data: { amount: 10 } },
      { id: "evt_pay_2", type: "payment.captured", data: { amount: "ten" } },
      { id: "evt_pay_3", type: "payment.captured", data: { amount: 30 } },
    ]);
    const results = resultsOf(response);
    expect(results.map((result) => result.status)).toEqual([202, 422, 202]);
    expect(results[1]).toMatchObject({
      eventId: "evt_pay_2",
      problem: { status: 422, errors: [{ field: "data.amount" }] },
    });
    expect((await storedIds("t_catalogue")).sort()).toEqual(["evt_pay_1", "evt_pay_3"]);
    await pipeline.drain();
    expect(receiver.requests.map((request) => request.headers["webhook-id"]).sort()).toEqual([
      "evt_pay_1",
      "evt_pay_3",
    ]);
  });

  it("costs one tenant read, one Query per matching pattern and ⌈100/10⌉ SendMessageBatch for 100 events", async () => {
    await tenantWithReceiver("t_count", ["count.*"]);
    pipeline.calls.reset();
    const response = await batch("t_count", events("evt_count", 100, "count.made"));
    expect(resultsOf(response).every((result) => result.status === 202)).toBe(true);
    expect(pipeline.calls.counts()).toEqual({
      // The tenant once, and the type's catalogue entry once (cached per container: does it validate its data?).
      GetItemCommand: 2,
      // count.made, count.*, *
      QueryCommand: 3,
      SendMessageBatchCommand: 10,
      PutItemCommand: 100,
      UpdateItemCommand: 100,
    });
    await pipeline.drain();
  });

  it("answers 503 for the events a failed enqueue left unfinished; the batch again completes them, each delivered once", async () => {
    const receiver = await tenantWithReceiver("t_flaky", ["flaky.*"]);
    await pipeline.createWebhook({ url: receiver.url, eventTypes: ["flaky.second"] }, "t_flaky");
    const queue = pipeline.roots.publish.queue;
    const enqueue = queue.enqueue.bind(queue);
    let failures = 1;
    // SQS took the first part of the messages, then failed past the retries: the usual partial failure.
    queue.enqueue = async (messages: readonly DeliveryMessage[]) => {
      if (failures === 0) return enqueue(messages);
      failures -= 1;
      await enqueue(messages.slice(0, 25));
      throw new Error("SendMessageBatch failed after retries");
    };
    const sent = [
      ...events("evt_flaky", 40, "flaky.first"),
      ...events("evt_flaky2", 5, "flaky.second"),
      { id: "evt_flaky_none", type: "nobody.listens", data: {} },
    ];
    try {
      const first = await batch("t_flaky", sent);
      expect(first.status).toBe(200);
      const results = resultsOf(first);
      expect(results.slice(0, 45).every((result) => result.status === 503)).toBe(true);
      expect(results[0]?.problem).toEqual({
        type: "about:blank",
        title: "Service unavailable",
        status: 503,
        detail: "The event was not completed; publish it again with the same id (that is safe).",
      });
      // An event with no subscriber has nothing to enqueue: it completed.
      expect(results[45]).toEqual({
        status: 202,
        eventId: "evt_flaky_none",
        deliveries: 0,
        duplicate: false,
      });

      const again = await batch("t_flaky", sent);
      expect(resultsOf(again).map((result) => [result.status, result.deliveries])).toEqual([
        ...Array.from({ length: 40 }, () => [202, 1]),
        ...Array.from({ length: 5 }, () => [202, 2]),
        [202, 0],
      ]);
      await pipeline.drain();
      const received = receiver.requests.map((request) => request.headers["webhook-id"] as string);
      // 40 events to one subscription, 5 to both: 50 deliveries, none twice.
      expect(received).toHaveLength(50);
      expect(
        new Set(
          received.map((id, index) => `${id}|${receiver.requests[index]?.headers["x-webhook-delivery-id"]}`),
        ).size,
      ).toBe(50);
      const third = await batch("t_flaky", sent);
      expect(resultsOf(third).every((result) => result.status === 202 && result.duplicate)).toBe(true);
      await pipeline.drain();
      expect(receiver.requests).toHaveLength(50);
    } finally {
      queue.enqueue = enqueue;
    }
  });
});

describe("a batch's logs and metrics", () => {
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  let observed: Pipeline;
  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    observed = await startPipeline({
      runtime: { logger: new Logger({ serviceName: "serverless-webhooks", logLevel: "DEBUG" }) },
    });
  });
  afterAll(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = previous;
    observed.close();
  });
  const linesOf = (output: string) =>
    output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("counts per event as the single route does, in one log line per batch", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    await observed.createWebhook({ url: receiver.url, eventTypes: ["obs.*"] });
    const path = observed.under("/events/batch");
    await observed.api("POST", observed.under("/events"), { id: "evt_obs_old", type: "obs.a", data: {} });
    const { output } = await captureOutput(() =>
      observed.api("POST", path, {
        events: [
          { id: "evt_obs_1", type: "obs.a", data: {} },
          { id: "evt_obs_2", type: "none.listens", data: {} },
          { id: "evt_obs_old", type: "obs.a", data: {} },
          { id: "evt_obs_old", type: "obs.a", data: { other: true } },
        ],
      }),
    );
    const lines = linesOf(output);
    expect(lines.filter((line) => typeof line.message === "string")).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "batch published",
        tenantId: observed.tenantId,
        events: 4,
        published: 2,
        duplicates: 1,
        deliveries: 1,
        statuses: { 202: 3, 409: 1 },
      }),
    ]);
    expect(lines.filter((line) => "_aws" in line)).toEqual([
      expect.objectContaining({ EventsPublished: 2, FanOutSize: [1, 0] }),
    ]);

    const queue = observed.roots.publish.queue;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = () => Promise.reject(new Error("SQS is unreachable"));
    try {
      const failed = await captureOutput(() =>
        observed.api("POST", path, {
          events: [
            { id: "evt_obs_3", type: "obs.a", data: {} },
            { id: "evt_obs_4", type: "obs.b", data: {} },
            { id: "evt_obs_1", type: "obs.a", data: {} },
          ],
        }),
      );
      const failedLines = linesOf(failed.output);
      expect(failedLines.filter((line) => typeof line.message === "string")).toEqual([
        expect.objectContaining({
          level: "ERROR",
          message: "batch published with failures",
          events: 3,
          published: 0,
          duplicates: 1,
          statuses: { 202: 1, 503: 2 },
          errors: ["Error"],
          failedEventIds: ["evt_obs_3", "evt_obs_4"],
        }),
      ]);
      expect(failedLines.filter((line) => "_aws" in line)).toEqual([
        expect.objectContaining({ ingest: "api", PublishFailures: 2 }),
      ]);
      // The cause stays in the log's error name: never in the answer.
      expect(failed.result.body).not.toContain("unreachable");
    } finally {
      queue.enqueue = enqueue;
    }
  });
});
