import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deliveryIdFor } from "#core/shared/ids.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { eventBridgeEvent as customAppEvent } from "#test/support/fixtures.ts";
import { localClients, uniquePrefix } from "#test/support/local-aws.ts";
import {
  type Pipeline,
  type PipelineOptions,
  startPipeline,
  takeIngestLetters,
} from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function receiverFor(script?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const receiver = await startReceiver(script);
  cleanups.push(() => receiver.close());
  return receiver;
}

async function pipelineWith(options: PipelineOptions = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(options);
  cleanups.push(() => pipeline.close());
  return pipeline;
}

async function createTenant(pipeline: Pipeline, id: string) {
  const created = await pipeline.api("PUT", `/tenants/${id}`, { name: `Tenant ${id}` });
  expect(created.status).toBe(201);
}

/** Takes every message out of the ingest DLQ: its body (parsed) and message attributes. */
const takeLetters = async (pipeline: Pipeline) =>
  (await takeIngestLetters(pipeline)).map(({ body, attributes }) => ({
    body: JSON.parse(body) as Record<string, unknown>,
    attributes,
  }));

/** Takes every message out of the delivery DLQ (the attributes the deliver function set on each). */
async function takeDeadLetters(pipeline: Pipeline) {
  const letters: Record<string, string | undefined>[] = [];
  for (;;) {
    const { Messages = [] } = await pipeline.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.resources.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return letters;
    for (const message of Messages) {
      letters.push(
        Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
        ),
      );
    }
  }
}

const eventIdsSeen = (receiver: Receiver) =>
  receiver.requests.map((request) => String(request.headers["webhook-id"]));

/** The metric lines (EMF) in captured output. */
const metricLines = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => "_aws" in line);

describe("EventBridge events are routed by detail.tenantId (no default tenant)", () => {
  let pipeline: Pipeline;
  let own: Receiver;
  let acme: Receiver;
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;

  beforeAll(async () => {
    // Metrics on: an unroutable event must be counted (UnroutableEvents by reason).
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    pipeline = await pipelineWith();
    await createTenant(pipeline, "acme");
    [own, acme] = await Promise.all([receiverFor(), receiverFor()]);
    await pipeline.createWebhook({ url: own.url, eventTypes: ["*"] });
    await pipeline.createWebhook({ url: acme.url, eventTypes: ["*"] }, "acme");
  });
  afterAll(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = previous;
  });
  // Each test reads only the letters it caused, even after an earlier test failed before taking its own.
  beforeEach(async () => {
    await takeLetters(pipeline);
  });

  /** Publishes through the EventBridge path (the ingest queue); answers the metric lines it wrote. */
  async function publish(event: unknown) {
    const { result, output } = await captureOutput(async () => pipeline.publishEventBridge(event));
    expect(result).toEqual({ batchItemFailures: [] });
    return metricLines(output);
  }

  /** Asserts that `event` reached nobody and is stored under no tenant. */
  async function expectNotDelivered(event: { id: string }) {
    await pipeline.drain();
    expect(await pipeline.queueDepth(pipeline.resources.deliveryQueueUrl)).toBe(0);
    for (const receiver of [own, acme]) expect(eventIdsSeen(receiver)).not.toContain(`evt_${event.id}`);
    for (const tenant of [pipeline.tenantId, "acme"]) {
      const stored = await pipeline.api("GET", pipeline.under(`/events/evt_${event.id}`, tenant));
      expect(stored.status).toBe(404);
    }
  }

  it("an event naming a tenant is delivered to that tenant's webhooks only", async () => {
    const event = customAppEvent({ tenantId: "acme", orderId: "ord_1" });
    const metrics = await publish(event);
    await pipeline.drain();
    expect(eventIdsSeen(acme)).toEqual([`evt_${event.id}`]);
    expect(JSON.parse(acme.requests[0]?.body ?? "{}")).toMatchObject({
      type: "order.completed",
      source: "com.example.orders",
      data: { tenantId: "acme", orderId: "ord_1" },
    });
    expect(eventIdsSeen(own)).toEqual([]);
    expect(await takeLetters(pipeline)).toEqual([]);
    expect(metrics.filter((line) => "UnroutableEvents" in line)).toEqual([]);
  });

  it("an event naming no tenant is kept in the ingest DLQ as missing_tenant, delivered to nobody, not thrown", async () => {
    const event = customAppEvent({ orderId: "ord_2" });
    const metrics = await publish(event);
    await expectNotDelivered(event);
    const letters = await takeLetters(pipeline);
    expect(letters).toEqual([
      {
        body: event,
        attributes: { reason: "missing_tenant", detail: expect.stringContaining("detail.tenantId") },
      },
    ]);
    expect(metrics).toEqual([expect.objectContaining({ reason: "missing_tenant", UnroutableEvents: 1 })]);
  });

  it("an event naming a tenant that does not exist is kept as unknown_tenant", async () => {
    const event = customAppEvent({ tenantId: "ghost", orderId: "ord_3" });
    const metrics = await publish(event);
    await expectNotDelivered(event);
    expect(await takeLetters(pipeline)).toEqual([
      { body: event, attributes: { reason: "unknown_tenant", detail: expect.stringContaining("ghost") } },
    ]);
    expect(metrics).toEqual([expect.objectContaining({ reason: "unknown_tenant", UnroutableEvents: 1 })]);
  });

  it("an event naming something that cannot be a tenant id is kept as invalid_tenant", async () => {
    const invalid: unknown[] = [
      "two words",
      "",
      "x".repeat(65),
      "acme/../t_test",
      42,
      { id: "acme" },
      ["acme"],
    ];
    const events = invalid.map((tenantId) => customAppEvent({ tenantId, orderId: "ord_4" }));
    for (const event of events) {
      const metrics = await publish(event);
      expect(metrics).toEqual([expect.objectContaining({ reason: "invalid_tenant", UnroutableEvents: 1 })]);
    }
    for (const event of events) await expectNotDelivered(event);
    const letters = await takeLetters(pipeline);
    expect(letters.map((letter) => letter.body.id).sort()).toEqual(events.map((event) => event.id).sort());
    for (const letter of letters) expect(letter.attributes.reason).toBe("invalid_tenant");
  });

  it("an event for a tenant being deleted is kept as unknown_tenant", async () => {
    await createTenant(pipeline, "leaving");
    await pipeline.runtime.tenants.markDeleting("leaving", new Date().toISOString());
    const event = customAppEvent({ tenantId: "leaving" });
    await publish(event);
    await expectNotDelivered(event);
    expect(await takeLetters(pipeline)).toEqual([
      { body: event, attributes: { reason: "unknown_tenant", detail: expect.stringContaining("leaving") } },
    ]);
  });
});

describe("EventBridge events with DEFAULT_TENANT_ID set", () => {
  let pipeline: Pipeline;
  let own: Receiver;
  let acme: Receiver;

  beforeAll(async () => {
    pipeline = await pipelineWith({ environment: { DEFAULT_TENANT_ID: "t_test" } });
    expect(pipeline.tenantId).toBe("t_test");
    await createTenant(pipeline, "acme");
    [own, acme] = await Promise.all([receiverFor(), receiverFor()]);
    await pipeline.createWebhook({ url: own.url, eventTypes: ["*"] });
    await pipeline.createWebhook({ url: acme.url, eventTypes: ["*"] }, "acme");
  });

  it("an event naming no tenant is delivered to the default tenant", async () => {
    const event = customAppEvent({ orderId: "ord_5" });
    await expect(pipeline.publishEventBridge(event)).resolves.toEqual({ batchItemFailures: [] });
    await pipeline.drain();
    expect(eventIdsSeen(own)).toEqual([`evt_${event.id}`]);
    expect(eventIdsSeen(acme)).toEqual([]);
    expect(await takeLetters(pipeline)).toEqual([]);
  });

  it("an event naming another tenant still goes to that tenant, not to the default", async () => {
    const event = customAppEvent({ tenantId: "acme" });
    await pipeline.publishEventBridge(event);
    await pipeline.drain();
    expect(eventIdsSeen(acme)).toEqual([`evt_${event.id}`]);
    expect(eventIdsSeen(own)).not.toContain(`evt_${event.id}`);
  });

  it("an unknown or invalid tenant is never replaced by the default: both are kept in the ingest DLQ", async () => {
    const unknown = customAppEvent({ tenantId: "ghost" });
    const invalid = customAppEvent({ tenantId: "not a tenant" });
    const before = own.requests.length;
    await expect(pipeline.publishEventBridge(unknown)).resolves.toEqual({ batchItemFailures: [] });
    await expect(pipeline.publishEventBridge(invalid)).resolves.toEqual({ batchItemFailures: [] });
    await pipeline.drain();
    expect(own.requests.length).toBe(before);
    expect(eventIdsSeen(acme)).not.toContain(`evt_${unknown.id}`);
    const letters = await takeLetters(pipeline);
    expect(Object.fromEntries(letters.map((letter) => [letter.body.id, letter.attributes.reason]))).toEqual({
      [unknown.id]: "unknown_tenant",
      [invalid.id]: "invalid_tenant",
    });
  });
});

describe("deleting a tenant while its deliveries are in flight", () => {
  const DOOMED = "doomed";
  const EVENTS_PER_PHASE = 8;
  let pipeline: Pipeline;
  /** Doomed tenant: `flaky` answers 200 to events whose n is a multiple of 4, 500 to the rest (retries pending). */
  let flaky: Receiver;
  /** Doomed tenant: always 500, with one attempt allowed: dead-lettered at the first attempt. */
  let failing: Receiver;
  /** The other tenant: 500 to each first attempt, 200 after (its retries are in flight during the delete). */
  let other: Receiver;
  let doomedWebhooks: { flaky: string; failing: string };
  let otherWebhook: string;
  const doomedEvents: string[] = [];
  const otherEvents: string[] = [];

  beforeAll(async () => {
    // Long enough a schedule that nothing is exhausted in this test but the one-attempt webhook.
    pipeline = await pipelineWith({ schedule: "2,2,2,2,2,2" });
    await createTenant(pipeline, DOOMED);
    flaky = await receiverFor((request) => {
      const n = Number((JSON.parse(request.body) as { data: { n: number } }).data.n);
      return { status: n % 4 === 0 ? 200 : 500 };
    });
    failing = await receiverFor(() => ({ status: 500 }));
    other = await receiverFor((request) => ({
      status: request.headers["x-webhook-attempt"] === "1" ? 500 : 200,
    }));
    doomedWebhooks = {
      flaky: (await pipeline.createWebhook({ url: flaky.url, eventTypes: ["order.*"] }, DOOMED)).webhook.id,
      failing: (
        await pipeline.createWebhook({ url: failing.url, eventTypes: ["order.*"], maxAttempts: 1 }, DOOMED)
      ).webhook.id,
    };
    otherWebhook = (await pipeline.createWebhook({ url: other.url, eventTypes: ["order.*"] })).webhook.id;
  });

  async function publishPhase(phase: number) {
    for (let index = 0; index < EVENTS_PER_PHASE; index += 1) {
      const n = phase * EVENTS_PER_PHASE + index;
      const doomed = await pipeline.publishApi({ type: "order.paid", data: { n } }, DOOMED);
      expect(doomed.json).toMatchObject({ deliveries: 2 });
      doomedEvents.push(String(doomed.json.eventId));
      const kept = await pipeline.publishApi({ type: "order.paid", data: { n } });
      expect(kept.json).toMatchObject({ deliveries: 1 });
      otherEvents.push(String(kept.json.eventId));
    }
  }

  const doomedPairs = () =>
    doomedEvents.flatMap((eventId, index) =>
      [doomedWebhooks.flaky, doomedWebhooks.failing].map((webhookId) => ({
        eventId,
        webhookId,
        n: index,
        deliveryId: deliveryIdFor(eventId, webhookId),
      })),
    );

  it("drops every waiting delivery as tenant_deleted, sends nothing after the delete, and leaves the other tenant alone", async () => {
    // Phase 1: every message received once (first attempts made): some delivered, some dead-lettered, the rest
    // retrying. Phase 2: published and still waiting in the queue, never attempted.
    await publishPhase(0);
    while ((await pipeline.poller.pollOnce(0)) > 0);
    await publishPhase(1);

    const atDelete = await pipeline.runtime.deliveries.getDeliveries(
      doomedPairs().map((pair) => pair.deliveryId),
    );
    const statusAtDelete = (deliveryId: string) => atDelete.get(deliveryId)?.status ?? "not attempted";
    const expectedAtDelete = doomedPairs().map((pair) =>
      pair.n >= EVENTS_PER_PHASE
        ? "not attempted"
        : pair.webhookId === doomedWebhooks.failing
          ? "failed"
          : pair.n % 4 === 0
            ? "delivered"
            : "retrying",
    );
    // Each kind of pair is there: the test covers all four.
    expect(doomedPairs().map((pair) => statusAtDelete(pair.deliveryId))).toEqual(expectedAtDelete);
    const otherAtDelete = await pipeline.runtime.deliveries.getDeliveries(
      otherEvents.map((eventId) => deliveryIdFor(eventId, otherWebhook)),
    );
    expect([...otherAtDelete.values()].map((delivery) => delivery.status)).toEqual(
      Array.from({ length: EVENTS_PER_PHASE }, () => "retrying"),
    );
    const doomedRequestsAtDelete = flaky.requests.length + failing.requests.length;

    const deleted = await pipeline.api("DELETE", `/tenants/${DOOMED}`);
    expect(deleted.status).toBe(204);
    const deleteReturnedAt = Date.now();

    expect((await pipeline.publishApi({ type: "order.paid", data: { n: -1 } }, DOOMED)).statusCode).toBe(404);
    await pipeline.drain(60_000);

    // Nothing reached the deleted tenant's endpoints after the delete returned.
    for (const receiver of [flaky, failing])
      for (const request of receiver.requests) expect(request.at).toBeLessThanOrEqual(deleteReturnedAt);
    expect(flaky.requests.length + failing.requests.length).toBe(doomedRequestsAtDelete);

    // Every pair is accounted for: settled before the delete as it was, otherwise dropped as tenant_deleted.
    const final = await pipeline.runtime.deliveries.getDeliveries(
      doomedPairs().map((pair) => pair.deliveryId),
    );
    expect(final.size).toBe(doomedPairs().length);
    for (const pair of doomedPairs()) {
      const before = atDelete.get(pair.deliveryId);
      const after = final.get(pair.deliveryId);
      if (before?.status === "delivered" || before?.status === "failed") {
        expect(after, pair.deliveryId).toEqual(before);
      } else {
        expect(after, pair.deliveryId).toMatchObject({
          status: "dropped",
          reason: "tenant_deleted",
          tenantId: DOOMED,
          eventId: pair.eventId,
          webhookId: pair.webhookId,
          attempts: before?.attempts ?? 0,
        });
      }
    }

    // The other tenant's deliveries, retries in flight included, all went through after the delete.
    const otherFinal = await pipeline.runtime.deliveries.getDeliveries(
      otherEvents.map((eventId) => deliveryIdFor(eventId, otherWebhook)),
    );
    expect(otherFinal.size).toBe(otherEvents.length);
    for (const delivery of otherFinal.values())
      expect(delivery).toMatchObject({ status: "delivered", attempts: 2 });
    expect(
      new Set(
        other.requests.filter((request) => request.at > deleteReturnedAt).map((r) => r.headers["webhook-id"]),
      ),
    ).toEqual(new Set(otherEvents));

    // The DLQ holds only what was dead-lettered before the delete; the tenant and its webhooks are gone.
    const letters = await takeDeadLetters(pipeline);
    expect(letters.map((letter) => letter.deliveryId).sort()).toEqual(
      doomedPairs()
        .filter((pair) => atDelete.get(pair.deliveryId)?.status === "failed")
        .map((pair) => pair.deliveryId)
        .sort(),
    );
    expect((await pipeline.api("GET", `/tenants/${DOOMED}`)).status).toBe(404);
    for (const webhookId of Object.values(doomedWebhooks))
      expect(await pipeline.runtime.webhooks.get(DOOMED, webhookId)).toBeUndefined();
  });
});

describe("fauxqs and MessageGroupId on a standard queue (the delivery queue's sends carry the tenant as one)", () => {
  const clients = localClients();
  let queueUrl: string;

  beforeAll(async () => {
    const created = await clients.sqs.send(new CreateQueueCommand({ QueueName: `${uniquePrefix()}-groups` }));
    queueUrl = created.QueueUrl ?? "";
  });

  it("accepts SendMessage and SendMessageBatch with MessageGroupId, and hands the messages out; it does not keep the group", async () => {
    const single = await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "single", MessageGroupId: "tenant-a" }),
    );
    expect(single.MessageId).toBeDefined();
    const batch = await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "0", MessageBody: "batch-a", MessageGroupId: "tenant-a" },
          { Id: "1", MessageBody: "batch-b", MessageGroupId: "tenant-b", DelaySeconds: 0 },
        ],
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    expect(batch.Successful).toHaveLength(2);

    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    expect(Messages.map((message) => message.Body).sort()).toEqual(["batch-a", "batch-b", "single"]);
    // SQS accepts MessageGroupId on a standard queue (it makes it a fair queue, the group being the tenant).
    // fauxqs 2.4.1 accepts it too but keeps it only for FIFO queues: a standard queue's message loses its group
    // at send time, so ReceiveMessage reports none, and local mode does not emulate fairness between tenants.
    for (const message of Messages) expect(message.Attributes?.MessageGroupId).toBeUndefined();
  });
});
