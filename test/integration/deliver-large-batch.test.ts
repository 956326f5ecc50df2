/**
 * A deliver batch larger than 10 (`deliverBatchSize`, docs/scale.md) through the real deliver handler against
 * DynamoDB Local: 60 deliveries to 60 webhooks read with BatchGetItem (181 keys: two requests) and recorded in
 * transactions of at most 100 items, with each webhook's health counts after them: every delivery sent once and
 * recorded once.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoHealthRepository } from "#aws/health-repository.ts";
import { deliveryIdFor } from "#core/shared/ids.ts";
import type { DeliveryMessage } from "#core/shared/model.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { createQueuePoller } from "#local/queue-poller.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const BATCH = 60;

let pipeline: Pipeline;
let receiver: Receiver;
const webhooks: { id: string; secret: string }[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({ environment: { MAX_WEBHOOKS_PER_TENANT: String(BATCH) } });
  receiver = await startReceiver();
  for (let index = 0; index < BATCH; index += 1) {
    const { webhook, secret } = await pipeline.createWebhook({
      url: `${receiver.url}/${index}`,
      eventTypes: ["order.*"],
    });
    webhooks.push({ id: webhook.id, secret });
  }
}, 120_000);

afterAll(async () => {
  pipeline.close();
  await receiver.close();
});

/** One SQS-shaped event of `messages`, as the event source mapping hands the function a batch. */
function batchOf(messages: DeliveryMessage[]): SQSEvent {
  return {
    Records: messages.map((message, index) => ({
      messageId: `m_${index}_${message.deliveryId}`,
      receiptHandle: `r_${index}_${message.deliveryId}`,
      body: JSON.stringify(message),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(Date.now()),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: pipeline.resources.deliveryQueueArn,
      awsRegion: "us-east-1",
    })),
  };
}

/** One delivery per webhook, the same ids every time: a second call is SQS handing the batch over again. */
const largeBatch = (): DeliveryMessage[] =>
  webhooks.map(({ id }, index) => {
    const eventId = `evt_large_${index}`;
    return {
      tenantId: pipeline.tenantId,
      deliveryId: deliveryIdFor(eventId, id),
      eventId,
      webhookId: id,
      eventType: "order.paid",
      body: JSON.stringify({ id: eventId, type: "order.paid", data: { n: index } }),
    };
  });

describe(`a deliver batch of ${BATCH} messages (deliverBatchSize > 10)`, () => {
  it("sends each delivery once, records each with its attempt, and counts each webhook's attempt", async () => {
    const messages = largeBatch();
    const handler = createDeliverHandler(pipeline.roots.deliver);
    pipeline.calls.reset();

    const response = await handler(batchOf(messages), {} as never);

    expect(response.batchItemFailures).toEqual([]);
    // Every webhook's request arrived once, signed with that webhook's own secret.
    expect(receiver.requests).toHaveLength(BATCH);
    const received = receiver.requests.map((request) => {
      const index = Number(request.path.split("/").at(-1));
      const { id } = verifyWebhook({
        headers: request.headers,
        body: Buffer.from(request.body),
        secrets: [webhooks[index]?.secret ?? ""],
      });
      return `${index} ${id}`;
    });
    expect(received.sort()).toEqual(messages.map((message, index) => `${index} ${message.eventId}`).sort());
    // 60 deliveries + 60 webhooks + 60 health records + 1 tenant = 181 keys: two BatchGetItem requests. 60
    // deliveries and their attempts (120 items): two transactions of at most 100 items.
    expect(pipeline.calls.count("BatchGetItemCommand")).toBe(2);
    expect(pipeline.calls.count("TransactWriteItemsCommand")).toBe(2);
    for (const input of pipeline.calls.inputs.filter(({ name }) => name === "TransactWriteItemsCommand"))
      expect((input.input.TransactItems as unknown[]).length).toBeLessThanOrEqual(100);

    const ledger = pipeline.roots.deliver.deliveries;
    const health = new DynamoHealthRepository(pipeline.clients.documents, pipeline.resources.tableName);
    for (const message of messages) {
      const delivery = await ledger.getDelivery(message.deliveryId);
      expect(delivery).toMatchObject({ status: "delivered", attempts: 1, webhookId: message.webhookId });
      const attempts = await ledger.attemptsOfDelivery(message.deliveryId);
      expect(attempts.items.map((attempt) => attempt.status)).toEqual(["succeeded"]);
      const record = await health.get(message.tenantId, message.webhookId);
      expect(record).toMatchObject({ windowAttempts: 1, windowFailures: 0 });
    }
  }, 120_000);

  it("a second copy of the same batch (SQS delivers at least once) sends nothing and records nothing more", async () => {
    const messages = largeBatch();
    const before = receiver.requests.length;
    const handler = createDeliverHandler(pipeline.roots.deliver);

    const response = await handler(batchOf(messages), {} as never);

    expect(response.batchItemFailures).toEqual([]);
    expect(receiver.requests.length).toBe(before);
    for (const message of messages.slice(0, 5))
      expect(
        (await pipeline.roots.deliver.deliveries.attemptsOfDelivery(message.deliveryId)).items,
      ).toHaveLength(1);
  }, 120_000);
});

describe("local mode's event source mapping with deliverBatchSize > 10", () => {
  it("gathers up to the batch size within the batching window into one invocation, and deletes all it handled", async () => {
    const queueUrl = pipeline.resources.deliveryQueueUrl;
    for (let start = 0; start < 25; start += 10)
      await pipeline.clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, 25 - start) }, (_, index) => ({
            Id: String(index),
            MessageBody: `local-batch-${start + index}`,
          })),
        }),
      );
    const invocations: string[][] = [];
    const poller = createQueuePoller({
      sqs: pipeline.clients.sqs,
      queueUrl,
      queueArn: pipeline.resources.deliveryQueueArn,
      batchSize: 25,
      batchingWindowSeconds: 5,
      handler: async (event) => {
        invocations.push(event.Records.map((record) => record.body));
        return { batchItemFailures: [] };
      },
    });

    expect(await poller.pollOnce(1)).toBe(25);

    expect(invocations).toHaveLength(1);
    expect(invocations[0]?.sort()).toEqual(Array.from({ length: 25 }, (_, n) => `local-batch-${n}`).sort());
    // Deleted, not merely in flight: nothing visible and nothing held under a visibility timeout.
    const { Attributes = {} } = await pipeline.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(
      Number(Attributes.ApproximateNumberOfMessages) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    ).toBe(0);
  }, 60_000);
});
