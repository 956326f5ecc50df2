import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { deadLetterQueue, deliveryQueue } from "#core/shared/resource-definitions.ts";
import type { ProvisionedResources } from "#local/provision.ts";
import { isolatedResources, localClients } from "#test/support/local-aws.ts";

describe("fauxqs with the shared queue definitions", () => {
  const clients = localClients();
  let resources: ProvisionedResources;

  beforeAll(async () => {
    resources = await isolatedResources(clients);
  });

  const receive = (queueUrl: string, visibility = 30) =>
    clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: visibility,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        MessageAttributeNames: ["All"],
      }),
    );

  it("creates both queues with the definitions' attributes and the redrive policy", async () => {
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resources.deliveryQueueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe(String(deliveryQueue.visibilityTimeoutSeconds));
    expect(Attributes?.MessageRetentionPeriod).toBe(String(deliveryQueue.retentionPeriodSeconds));
    expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: resources.deadLetterQueueArn,
      maxReceiveCount: deliveryQueue.maxReceiveCount,
    });
    const dlq = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: resources.deadLetterQueueUrl,
        AttributeNames: ["MessageRetentionPeriod"],
      }),
    );
    expect(dlq.Attributes?.MessageRetentionPeriod).toBe(String(deadLetterQueue.retentionPeriodSeconds));
  });

  it("sends and receives a message with its attributes", async () => {
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.deadLetterQueueUrl,
        MessageBody: '{"deliveryId":"dlv_1"}',
        MessageAttributes: { reason: { DataType: "String", StringValue: "http_404" } },
      }),
    );
    const { Messages } = await receive(resources.deadLetterQueueUrl);
    expect(Messages).toHaveLength(1);
    expect(Messages?.[0]?.Body).toBe('{"deliveryId":"dlv_1"}');
    expect(Messages?.[0]?.MessageAttributes?.reason?.StringValue).toBe("http_404");
  });

  it("ChangeMessageVisibility(0) makes a received message visible again at once", async () => {
    const { QueueUrl } = { QueueUrl: resources.deliveryQueueUrl };
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "retry-me" }));
    const first = await receive(QueueUrl, 300);
    const handle = first.Messages?.[0]?.ReceiptHandle;
    expect(handle).toBeDefined();
    expect((await receive(QueueUrl)).Messages ?? []).toHaveLength(0);

    await clients.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    const again = await receive(QueueUrl, 0);
    expect(again.Messages?.[0]?.Body).toBe("retry-me");
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe("2");
  });
});

describe("fauxqs redrive", () => {
  const clients = localClients();

  it("moves a message to the DLQ once it has been received maxReceiveCount times", async () => {
    const resources = await isolatedResources(clients);
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: resources.deliveryQueueUrl, MessageBody: "poison" }),
    );
    const receiveOnce = () =>
      clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.deliveryQueueUrl,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 0,
        }),
      );

    let receives = 0;
    while ((await receiveOnce()).Messages?.length) receives += 1;

    expect(receives).toBe(deliveryQueue.maxReceiveCount);
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resources.deadLetterQueueUrl, WaitTimeSeconds: 0 }),
    );
    expect(Messages?.map((message) => message.Body)).toEqual(["poison"]);
  });
});
