import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "#core/publishing/publish.ts";
import type { PublishRuntime } from "#functions/publish/runtime.ts";
import { eventBridgeEvent as customAppEvent } from "#test/support/fixtures.ts";
import { type Pipeline, startPipeline, takeIngestLetters } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
const receivers: Record<"own" | "acme" | "flaky", Receiver> = {} as never;

/** A custom app's EventBridge event for `tenantId` (none: no tenant named). */
const eventBridgeEvent = (tenantId: string | undefined, detail: Record<string, unknown> = {}) =>
  customAppEvent({ ...(tenantId === undefined ? {} : { tenantId }), ...detail });

const webhookIds = (receiver: Receiver) =>
  receiver.requests.map((request) => String(request.headers["webhook-id"]));

/** The ingest queue's messages, waiting or in flight. */
async function ingestQueueDepth() {
  const { Attributes = {} } = await pipeline.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: pipeline.resources.ingestQueueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

/** The event store with some of its methods replaced (to inject a storage failure through the port). */
function eventStoreWith(events: EventStore, replaced: Partial<EventStore>): EventStore {
  return {
    createIfAbsent: replaced.createIfAbsent ?? ((event, lease) => events.createIfAbsent(event, lease)),
    acquireFanOut: replaced.acquireFanOut ?? ((...args) => events.acquireFanOut(...args)),
    markFannedOut: replaced.markFannedOut ?? ((...args) => events.markFannedOut(...args)),
    markDue: replaced.markDue ?? ((...args) => events.markDue(...args)),
    releaseFanOut: replaced.releaseFanOut ?? ((...args) => events.releaseFanOut(...args)),
  };
}

/** A publish root whose event store is `store` (the rest of the root as it was). */
const withEvents = (root: PublishRuntime, store: EventStore): PublishRuntime =>
  ({ ...root, events: store }) as PublishRuntime;

const failure = (name: string) => Object.assign(new Error(name), { name });

beforeAll(async () => {
  pipeline = await startPipeline();
  for (const tenant of ["acme", "flaky", "doomed"])
    expect((await pipeline.api("PUT", `/tenants/${tenant}`, { name: tenant })).status).toBe(201);
  receivers.own = await startReceiver();
  receivers.acme = await startReceiver();
  receivers.flaky = await startReceiver();
  // Fan-out 1 for each tenant.
  await pipeline.createWebhook({ url: receivers.own.url, eventTypes: ["order.*"] });
  await pipeline.createWebhook({ url: receivers.acme.url, eventTypes: ["order.*"] }, "acme");
  await pipeline.createWebhook({ url: receivers.flaky.url, eventTypes: ["order.*"] }, "flaky");
  await pipeline.createWebhook({ url: receivers.flaky.url, eventTypes: ["order.*"] }, "doomed");
});
afterAll(async () => {
  pipeline?.close();
  await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
});

describe("the ingest queue's batches", () => {
  it("publishes ten events of one tenant at fan-out 1 with one SendMessageBatch, each delivered once", async () => {
    // One event alone first: what a batch of one costs in subscription lookups.
    await pipeline.publishEventBridge(eventBridgeEvent(pipeline.tenantId));
    await pipeline.drain();
    const before = receivers.own.requests.length;
    const events = Array.from({ length: 10 }, () => eventBridgeEvent(pipeline.tenantId));
    await pipeline.sendToIngestQueue(...events);
    pipeline.calls.reset();
    expect(await pipeline.ingestPoller.pollOnce(0)).toBe(10);
    expect(pipeline.ingestPoller.batchSizes.at(-1)).toBe(10);
    expect(pipeline.ingestPoller.responses.at(-1)).toEqual({ batchItemFailures: [] });
    const sends = pipeline.calls.inputs.filter(
      (call) =>
        call.name === "SendMessageBatchCommand" &&
        call.input.QueueUrl === pipeline.resources.deliveryQueueUrl,
    );
    expect(sends).toHaveLength(1);
    expect(sends[0]?.input.Entries).toHaveLength(10);
    expect(pipeline.calls.count("SendMessageCommand")).toBe(0);
    // The tenant read once (GetItem on its item; the type catalogue is cached), each pattern queried once.
    const queries = pipeline.calls.count("QueryCommand");
    pipeline.calls.reset();
    await pipeline.publishEventBridge(eventBridgeEvent(pipeline.tenantId));
    expect(queries).toBe(pipeline.calls.count("QueryCommand"));

    await pipeline.drain();
    const delivered = webhookIds(receivers.own).slice(before);
    expect(delivered.slice(0, 10).sort()).toEqual(events.map((event) => `evt_${event.id}`).sort());
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  it("keeps malformed, unroutable and unknown-tenant records in the ingest DLQ with their reasons, publishes the rest, retries none", async () => {
    await takeIngestLetters(pipeline);
    const good = [eventBridgeEvent(pipeline.tenantId), eventBridgeEvent("acme")];
    const noTenant = eventBridgeEvent(undefined);
    const invalidTenant = eventBridgeEvent("two words");
    const unknownTenant = eventBridgeEvent("ghost");
    const notJson = "{not json";
    const noDetailType = JSON.stringify({ ...eventBridgeEvent(pipeline.tenantId), "detail-type": undefined });
    const before = { own: receivers.own.requests.length, acme: receivers.acme.requests.length };
    const response = await pipeline.publishEventBridge(
      good[0],
      notJson,
      noTenant,
      noDetailType,
      invalidTenant,
      unknownTenant,
      good[1],
    );
    expect(pipeline.ingestPoller.batchSizes.at(-1)).toBe(7);
    expect(response).toEqual({ batchItemFailures: [] });
    const letters = await takeIngestLetters(pipeline);
    expect(Object.fromEntries(letters.map((letter) => [letter.body, letter.attributes.reason]))).toEqual({
      [notJson]: "malformed",
      [noDetailType]: "malformed",
      [JSON.stringify(noTenant)]: "missing_tenant",
      [JSON.stringify(invalidTenant)]: "invalid_tenant",
      [JSON.stringify(unknownTenant)]: "unknown_tenant",
    });
    for (const letter of letters) expect(letter.attributes.detail?.length).toBeGreaterThan(0);
    expect(letters.find((letter) => letter.body === noDetailType)?.attributes.detail).toContain(
      "detail-type",
    );
    await pipeline.drain();
    expect(webhookIds(receivers.own).slice(before.own)).toEqual([`evt_${good[0]?.id}`]);
    expect(webhookIds(receivers.acme).slice(before.acme)).toEqual([`evt_${good[1]?.id}`]);
    expect(await ingestQueueDepth()).toBe(0);
  });

  it("reports only the records whose publish failed for a passing reason; their redelivery publishes each once", async () => {
    const failing = { on: true };
    const worker = pipeline.ingestWorker(
      // The store write after the enqueue fails for the flaky tenant: its messages went out, its publish did not
      // complete.
      (root) =>
        withEvents(
          root,
          eventStoreWith(root.events, {
            markFannedOut: async (tenant, ...rest) => {
              if (failing.on && tenant === "flaky") throw failure("ProvisionedThroughputExceededException");
              return root.events.markFannedOut(tenant, ...rest);
            },
          }),
        ),
      { visibilityTimeoutSeconds: 1 },
    );
    const flaky = [eventBridgeEvent("flaky"), eventBridgeEvent("flaky"), eventBridgeEvent("flaky")];
    const fine = [eventBridgeEvent("acme"), eventBridgeEvent("acme"), eventBridgeEvent("acme")];
    const before = { acme: receivers.acme.requests.length, flaky: receivers.flaky.requests.length };
    const ids = await pipeline.sendToIngestQueue(flaky[0], fine[0], flaky[1], fine[1], flaky[2], fine[2]);
    expect(await worker.pollOnce(0)).toBe(6);
    const [first] = worker.responses.slice(-1);
    // Exactly the flaky tenant's three records, by their message ids.
    expect(first?.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      [ids[0], ids[2], ids[4]].sort(),
    );
    // Storage recovers; SQS hands the three over again once their visibility ran out.
    failing.on = false;
    const deadline = Date.now() + 30_000;
    let redelivered = 0;
    while (redelivered < 3 && Date.now() < deadline) {
      const received = await worker.pollOnce(0);
      redelivered += received;
      if (received === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(redelivered).toBe(3);
    expect(worker.responses.at(-1)).toEqual({ batchItemFailures: [] });
    expect(await ingestQueueDepth()).toBe(0);
    await pipeline.drain();
    // Each event reached its receiver once: the first attempt's enqueue was not repeated by the redelivery.
    expect(webhookIds(receivers.flaky).slice(before.flaky).sort()).toEqual(
      flaky.map((event) => `evt_${event.id}`).sort(),
    );
    expect(webhookIds(receivers.acme).slice(before.acme).sort()).toEqual(
      fine.map((event) => `evt_${event.id}`).sort(),
    );
  });

  it("reports a record it could not keep in the ingest DLQ, rather than dropping it", async () => {
    const worker = pipeline.ingestWorker(
      // A DLQ that does not exist: the emulator refuses the send, as SQS would.
      (root) =>
        ({
          ...root,
          config: {
            ...root.config,
            ingestDeadLetterQueueUrl: `${pipeline.resources.ingestDeadLetterQueueUrl}-gone`,
          },
        }) as PublishRuntime,
      { visibilityTimeoutSeconds: 1 },
    );
    const unroutable = eventBridgeEvent("ghost");
    const routable = eventBridgeEvent(pipeline.tenantId);
    const [unroutableId] = await pipeline.sendToIngestQueue(unroutable, routable);
    expect(await worker.pollOnce(0)).toBe(2);
    expect(worker.responses.at(-1)).toEqual({ batchItemFailures: [{ itemIdentifier: unroutableId }] });
    // The unroutable one comes back; the normal worker keeps it in the real DLQ then.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await takeIngestLetters(pipeline);
    expect(await pipeline.runIngest()).toEqual({ batchItemFailures: [] });
    expect(
      (await takeIngestLetters(pipeline)).map((letter) => [letter.body, letter.attributes.reason]),
    ).toEqual([[JSON.stringify(unroutable), "unknown_tenant"]]);
    await pipeline.drain();
    expect(webhookIds(receivers.own).filter((id) => id === `evt_${routable.id}`)).toHaveLength(1);
  });
});

describe("SQS's at-least-once delivery", () => {
  it("the same EventBridge event twice in one batch fans out once", async () => {
    const event = eventBridgeEvent("acme");
    expect(await pipeline.publishEventBridge(event, event)).toEqual({ batchItemFailures: [] });
    expect(pipeline.ingestPoller.batchSizes.at(-1)).toBe(2);
    await pipeline.drain();
    expect(webhookIds(receivers.acme).filter((id) => id === `evt_${event.id}`)).toHaveLength(1);
    const stored = await pipeline.api("GET", pipeline.under(`/events/evt_${event.id}`, "acme"));
    expect(stored.json.deliveries).toHaveLength(1);
  });

  it("the same EventBridge event to two publish containers at once fans out once", async () => {
    const event = eventBridgeEvent("acme");
    const [one, two] = [
      pipeline.ingestWorker(undefined, { batchSize: 1 }),
      pipeline.ingestWorker(undefined, { batchSize: 1 }),
    ];
    await pipeline.sendToIngestQueue(event, event);
    const received = await Promise.all([one?.pollOnce(0), two?.pollOnce(0)]);
    expect(received).toEqual([1, 1]);
    expect([...(one?.responses ?? []), ...(two?.responses ?? [])]).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    await pipeline.drain();
    expect(webhookIds(receivers.acme).filter((id) => id === `evt_${event.id}`)).toHaveLength(1);
  });
});

describe("the ingest queue's redrive", () => {
  it("moves a record that keeps failing to the ingest DLQ after 5 receives, as it arrived", async () => {
    await takeIngestLetters(pipeline);
    const worker = pipeline.ingestWorker(
      (root) =>
        withEvents(
          root,
          eventStoreWith(root.events, {
            createIfAbsent: async (event, lease) => {
              if (event.tenantId === "doomed") throw failure("InternalServerError");
              return root.events.createIfAbsent(event, lease);
            },
          }),
        ),
      { visibilityTimeoutSeconds: 1 },
    );
    const event = eventBridgeEvent("doomed");
    await pipeline.sendToIngestQueue(event);
    const deadline = Date.now() + 60_000;
    let receives = 0;
    while ((await ingestQueueDepth()) > 0 && Date.now() < deadline) {
      const received = await worker.pollOnce(0);
      receives += received;
      if (received === 0) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(receives).toBe(5);
    for (const response of worker.responses) expect(response.batchItemFailures).toHaveLength(1);
    expect(await takeIngestLetters(pipeline)).toEqual([{ body: JSON.stringify(event), attributes: {} }]);
    expect(webhookIds(receivers.flaky)).not.toContain(`evt_${event.id}`);
  });
});
