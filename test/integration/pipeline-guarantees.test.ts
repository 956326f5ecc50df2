import { SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { startPipeline } from "#test/support/pipeline.ts";
import { startReceiver } from "#test/support/receivers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function pipelineWithReceiver(options: Parameters<typeof startPipeline>[0] = {}) {
  const pipeline = await startPipeline(options);
  const receiver = await startReceiver();
  cleanups.push(
    () => pipeline.close(),
    () => receiver.close(),
  );
  return { pipeline, receiver };
}

describe("idempotent publishing", () => {
  it("a repeated id with the same payload fans out once and answers with the original result", async () => {
    const { pipeline, receiver } = await pipelineWithReceiver();
    await pipeline.createWebhook({ url: receiver.url, eventTypes: ["invoice.paid"] });
    const body = { id: "evt_invoice_42", type: "invoice.paid", data: { invoiceId: "inv_42" } };
    pipeline.calls.reset();
    const first = await pipeline.publishApi(body);
    const second = await pipeline.publishApi(body);
    expect(first).toMatchObject({ statusCode: 202, json: { eventId: "evt_invoice_42", deliveries: 1 } });
    expect(second).toMatchObject({ statusCode: 202, json: { eventId: "evt_invoice_42", deliveries: 1 } });
    expect(pipeline.calls.count("SendMessageBatchCommand")).toBe(1);
    await pipeline.drain();
    expect(receiver.requests).toHaveLength(1);
  });

  it("a repeated id with a different payload is a 409 problem, and nothing is sent", async () => {
    const { pipeline, receiver } = await pipelineWithReceiver();
    await pipeline.createWebhook({ url: receiver.url, eventTypes: ["invoice.paid"] });
    await pipeline.publishApi({ id: "evt_dup", type: "invoice.paid", data: { amount: 1 } });
    pipeline.calls.reset();
    const conflict = await pipeline.publishApi({ id: "evt_dup", type: "invoice.paid", data: { amount: 2 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.headers["content-type"]).toBe("application/problem+json");
    expect(conflict.json).toMatchObject({
      status: 409,
      title: "Conflict",
      detail: expect.stringContaining("evt_dup"),
    });
    expect(pipeline.calls.count("SendMessageBatchCommand")).toBe(0);
  });
});

describe("a crash between the POST and the record", () => {
  it("redelivers the message: the receiver sees the same webhook-id again and the delivery completes", async () => {
    let crashNextRecord = true;
    let crashed = false;
    const { pipeline, receiver } = await pipelineWithReceiver({
      wrapDeliver: (handler) => async (event) => {
        const result = await handler(event);
        if (crashed && !crashNextRecord) {
          crashed = false;
          // The invocation dies: its response never reaches the event source mapping.
          throw new Error("simulated crash");
        }
        return result;
      },
    });
    const record = pipeline.roots.deliver.deliveries.record.bind(pipeline.roots.deliver.deliveries);
    pipeline.roots.deliver.deliveries.record = async (records) => {
      if (crashNextRecord) {
        crashNextRecord = false;
        crashed = true;
        throw new Error("process died before the attempt was recorded");
      }
      return record(records);
    };
    // A crashed invocation's messages come back only after the visibility timeout; shorten it for this queue.
    await pipeline.clients.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: pipeline.resources.deliveryQueueUrl,
        Attributes: { VisibilityTimeout: "1" },
      }),
    );
    await pipeline.createWebhook({ url: receiver.url, eventTypes: ["crash.test"] });
    const published = await pipeline.publishApi({ type: "crash.test", data: {} });
    await pipeline.drain();
    expect(receiver.requests.map((request) => request.headers["webhook-id"])).toEqual([
      published.json.eventId,
      published.json.eventId,
    ]);
    const deliveryId = receiver.requests[0]?.headers["x-webhook-delivery-id"] as string;
    expect(await pipeline.runtime.deliveries.getDelivery(deliveryId)).toMatchObject({
      status: "delivered",
      attempts: 1,
    });
  });
});

describe("the cost of a fan-out", () => {
  it("1 event × 100 subscribers = 10 SendMessageBatch calls and one Query per matching pattern", async () => {
    const { pipeline, receiver } = await pipelineWithReceiver({
      environment: { MAX_WEBHOOKS_PER_TENANT: "100" },
    });
    const patterns = ["shipment.label.printed", "shipment.label.*", "shipment.*", "*"];
    for (let index = 0; index < 100; index += 1) {
      await pipeline.createWebhook({
        url: receiver.url,
        eventTypes: [patterns[index % patterns.length] as string],
      });
    }
    pipeline.calls.reset();
    const published = await pipeline.publishApi({ type: "shipment.label.printed", data: { parcel: "p1" } });
    expect(published.json.deliveries).toBe(100);
    expect(pipeline.calls.counts()).toEqual({
      // The tenant must exist and not be deleting: one strongly consistent read per publish; and the type's
      // catalogue entry (does it validate its data?), read once per type per container per 30 s.
      GetItemCommand: 2,
      PutItemCommand: 1,
      QueryCommand: 4,
      SendMessageBatchCommand: 10,
      UpdateItemCommand: 1,
    });
    expect(pipeline.calls.queriedPartitions()).toEqual(
      patterns.map((pattern) => `SUB#${pipeline.tenantId}#${pattern}`).sort(),
    );
    // The catalogue entry is cached: a second event of the type reads only the tenant.
    pipeline.calls.reset();
    await pipeline.publishApi({ type: "shipment.label.printed", data: { parcel: "p2" } });
    expect(pipeline.calls.count("GetItemCommand")).toBe(1);
  });
});
