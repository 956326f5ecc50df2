/**
 * What Lambda's SQS event source mapping does, on one machine: receive up to `batchSize` messages (ten per
 * ReceiveMessage; a larger batch is gathered for up to `batchingWindowSeconds`, as the mapping does), invoke the handler
 * with an SQS-shaped event, then delete exactly the messages not listed in `batchItemFailures`. A handler that
 * throws, or that names an id not in the batch, fails the whole batch (nothing deleted), as on AWS.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: SqsHandler;
  readonly region?: string;
  /** Messages per invocation (default 10); above 10, gathered over `batchingWindowSeconds`. */
  readonly batchSize?: number;
  readonly batchingWindowSeconds?: number;
  /** Long-poll wait per receive, in seconds. */
  readonly waitTimeSeconds?: number;
  /**
   * Tests only: receive with this visibility timeout instead of the queue's, so that a record reported failed comes
   * back within seconds (Lambda's mapping always leaves the queue's own).
   */
  readonly visibilityTimeoutSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          stringValue: value.StringValue,
          dataType: value.DataType ?? "String",
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

export interface QueuePoller {
  /** One receive → invoke → delete cycle; returns how many messages it received. */
  pollOnce(waitTimeSeconds?: number): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export function createQueuePoller(options: PollerOptions): QueuePoller {
  const region = options.region ?? "us-east-1";
  let running = false;
  let loop: Promise<void> | undefined;

  const pollOnce = async (waitTimeSeconds = options.waitTimeSeconds ?? 1): Promise<number> => {
    const batchSize = options.batchSize ?? 10;
    const receive = async (max: number, wait: number) =>
      (
        await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: Math.min(10, max),
            WaitTimeSeconds: wait,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
            ...(options.visibilityTimeoutSeconds !== undefined
              ? { VisibilityTimeout: options.visibilityTimeoutSeconds }
              : {}),
          }),
        )
      ).Messages ?? [];
    const Messages = await receive(batchSize, waitTimeSeconds);
    const windowEnds = Date.now() + (options.batchingWindowSeconds ?? 0) * 1000;
    while (Messages.length > 0 && Messages.length < batchSize && Date.now() < windowEnds) {
      const more = await receive(batchSize - Messages.length, 0);
      if (more.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      Messages.push(...more);
    }
    if (Messages.length === 0) return 0;
    const records = Messages.map((message) => toRecord(message, options.queueArn, region));
    let failedIds: Set<string>;
    try {
      const response = await options.handler({ Records: records });
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      const known = new Set(records.map((record) => record.messageId));
      if ([...failedIds].some((id) => !known.has(id))) failedIds = known;
    } catch (error) {
      options.onError?.(error);
      return Messages.length;
    }
    const succeeded = records.filter((record) => !failedIds.has(record.messageId));
    for (let start = 0; start < succeeded.length; start += 10) {
      await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: succeeded.slice(start, start + 10).map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
          })),
        }),
      );
    }
    return Messages.length;
  };

  return {
    pollOnce,
    start: () => {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await pollOnce();
          } catch (error) {
            options.onError?.(error);
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      })();
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
