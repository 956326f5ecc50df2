/**
 * The delivery queue and its DLQ. Sends go in batches of ten; entries SQS reports as failed are retried with
 * backoff until all are accepted or the rounds run out (then the caller fails and its retry is idempotent).
 */
import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { DeadLetter, QueueActions } from "#core/delivery/deliver.ts";
import { type DeliveryEnqueuer, EnqueueError } from "#core/publishing/publish.ts";
import type { DeliveryMessage } from "#core/shared/model.ts";
import { backoffMs, sleep } from "./table-keys.ts";

const MAX_BATCH = 10;
/** SQS's longest per-message delay. */
const MAX_DELAY_SECONDS = 900;
const MAX_ROUNDS = 6;
const PARALLEL_BATCHES = 8;

export { EnqueueError };

interface Entry {
  readonly key: string;
  readonly entry: Omit<SendMessageBatchRequestEntry, "Id">;
}

/** Sends all entries; returns the keys that still failed after every round. */
async function sendAll(sqs: SQSClient, queueUrl: string, entries: readonly Entry[]): Promise<string[]> {
  const batches = Array.from({ length: Math.ceil(entries.length / MAX_BATCH) }, (_, index) =>
    entries.slice(index * MAX_BATCH, (index + 1) * MAX_BATCH),
  );
  const failed: string[] = [];
  const sendBatch = async (batch: readonly Entry[]) => {
    let pending = batch;
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= MAX_ROUNDS) {
        failed.push(...pending.map((item) => item.key));
        return;
      }
      if (round > 0) await sleep(backoffMs(round));
      try {
        const response = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((item, index) => ({ ...item.entry, Id: String(index) })),
          }),
        );
        const failedIds = new Set((response.Failed ?? []).map((failure) => failure.Id));
        pending = pending.filter((_, index) => failedIds.has(String(index)));
      } catch {
        // A whole-request failure (throttling, a network error): every entry is retried in the next round.
      }
    }
  };
  for (let start = 0; start < batches.length; start += PARALLEL_BATCHES) {
    await Promise.all(batches.slice(start, start + PARALLEL_BATCHES).map(sendBatch));
  }
  return failed;
}

const text = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

export interface QueueUrls {
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
}

export class SqsDeliveryQueue implements DeliveryEnqueuer, QueueActions {
  readonly #sqs: SQSClient;
  readonly #urls: QueueUrls;
  readonly #now: () => Date;

  constructor(sqs: SQSClient, urls: QueueUrls, now: () => Date = () => new Date()) {
    this.#sqs = sqs;
    this.#urls = urls;
    this.#now = now;
  }

  async enqueue(messages: readonly DeliveryMessage[]): Promise<void> {
    // The tenant is the message group: with SQS fair queues, one tenant's burst does not hold the others back.
    const entries = messages.map((message, index) => ({
      key: String(index),
      entry: { MessageBody: JSON.stringify(message), MessageGroupId: message.tenantId },
    }));
    const failed = await sendAll(this.#sqs, this.#urls.deliveryQueueUrl, entries);
    if (failed.length > 0) throw new EnqueueError(failed.map(Number));
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    await this.#sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#urls.deliveryQueueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: delaySeconds,
      }),
    );
  }

  async requeue(body: string, tenantId: string, delaySeconds: number): Promise<void> {
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#urls.deliveryQueueUrl,
        MessageBody: body,
        MessageGroupId: tenantId,
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds))),
      }),
    );
  }

  async deadLetter(letters: readonly DeadLetter[]): Promise<Set<string>> {
    const failedAt = this.#now().toISOString();
    const entries = letters.map((letter) => ({
      key: letter.messageId,
      entry: {
        MessageBody: letter.body,
        MessageAttributes: {
          reason: text(letter.reason),
          failedAt: text(failedAt),
          ...(letter.deliveryId ? { deliveryId: text(letter.deliveryId) } : {}),
          ...(letter.tenantId ? { tenantId: text(letter.tenantId) } : {}),
          ...(letter.webhookId ? { webhookId: text(letter.webhookId) } : {}),
          ...(letter.eventId ? { eventId: text(letter.eventId) } : {}),
          ...(letter.attempts !== undefined
            ? { attempts: { DataType: "Number", StringValue: String(letter.attempts) } }
            : {}),
        },
      },
    }));
    return new Set(await sendAll(this.#sqs, this.#urls.deadLetterQueueUrl, entries));
  }
}
