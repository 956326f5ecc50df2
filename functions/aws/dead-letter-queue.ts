/**
 * Reading and redriving the delivery DLQ through the API. Both hold what they receive invisible while they work
 * and release what they do not move at the end, so nothing is lost and a second run is harmless.
 * (fauxqs has no StartMessageMoveTask, and a per-webhook redrive needs to look at each message anyway.)
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { LetterSettlement, Restart } from "#core/delivery/recovery.ts";
import { type DeliveryMessage, deliveryMessageSchema } from "#core/shared/model.ts";

const HOLD_SECONDS = 120;

export interface DeadLetterSummary {
  readonly messageId: string;
  readonly deliveryId: string | null;
  readonly tenantId: string | null;
  readonly webhookId: string | null;
  readonly eventId: string | null;
  readonly reason: string | null;
  readonly attempts: number | null;
  readonly failedAt: string | null;
}

export interface RedriveResult {
  readonly moved: number;
  /** Letters whose delivery was since delivered, dropped, or carried by another copy: removed, not resent. */
  readonly discarded: number;
  readonly left: number;
}

function parse(message: Message): DeliveryMessage | undefined {
  try {
    const parsed = deliveryMessageSchema.safeParse(JSON.parse(message.Body ?? ""));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function summary(message: Message): DeadLetterSummary {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue ?? null;
  const parsed = parse(message);
  const attempts = attribute("attempts");
  return {
    messageId: message.MessageId ?? "",
    deliveryId: attribute("deliveryId") ?? parsed?.deliveryId ?? null,
    tenantId: attribute("tenantId") ?? parsed?.tenantId ?? null,
    webhookId: attribute("webhookId") ?? parsed?.webhookId ?? null,
    eventId: attribute("eventId") ?? parsed?.eventId ?? null,
    reason: attribute("reason"),
    attempts: attempts === null ? null : Number(attempts),
    failedAt: attribute("failedAt"),
  };
}

export interface LetterFilter {
  readonly tenantId?: string | undefined;
  readonly webhookId?: string | undefined;
}

const matches = (filter: LetterFilter, letter: { tenantId: string | null; webhookId: string | null }) =>
  (filter.tenantId === undefined || letter.tenantId === filter.tenantId) &&
  (filter.webhookId === undefined || letter.webhookId === filter.webhookId);

const inTens = <T>(items: readonly T[]) =>
  Array.from({ length: Math.ceil(items.length / 10) }, (_, index) =>
    items.slice(index * 10, index * 10 + 10),
  );

export class DeadLetterQueue {
  readonly #sqs: SQSClient;
  readonly #dlqUrl: string;
  readonly #deliveryQueueUrl: string;

  constructor(sqs: SQSClient, urls: { deadLetterQueueUrl: string; deliveryQueueUrl: string }) {
    this.#sqs = sqs;
    this.#dlqUrl = urls.deadLetterQueueUrl;
    this.#deliveryQueueUrl = urls.deliveryQueueUrl;
  }

  async #receive(): Promise<Message[]> {
    const { Messages = [] } = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: HOLD_SECONDS,
        MessageAttributeNames: ["All"],
      }),
    );
    return Messages;
  }

  async #release(messages: readonly Message[]): Promise<void> {
    for (const batch of inTens(messages)) {
      await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#dlqUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  async #approximateDepth(): Promise<number> {
    const { Attributes = {} } = await this.#sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.#dlqUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /** Up to `limit` messages (optionally one tenant's, one webhook's), without removing any. */
  async peek(
    limit: number,
    filter: LetterFilter = {},
    deadlineMs = 10_000,
  ): Promise<{ messages: DeadLetterSummary[]; truncated: boolean }> {
    const held: Message[] = [];
    const found: DeadLetterSummary[] = [];
    const deadline = Date.now() + deadlineMs;
    try {
      while (found.length < limit && Date.now() < deadline) {
        const batch = await this.#receive();
        if (batch.length === 0) break;
        held.push(...batch);
        for (const message of batch) {
          const item = summary(message);
          if (matches(filter, item) && found.length < limit) found.push(item);
        }
      }
    } finally {
      await this.#release(held);
    }
    return { messages: found, truncated: found.length >= limit };
  }

  /**
   * Moves up to `limit` letters (optionally one webhook's) back to the delivery queue. `settle` decides for each
   * letter, against the delivery's current state, whether it moves (as which message) or is discarded because
   * the delivery was since delivered or is carried by another copy. A moved letter is recorded (`recordMoved`)
   * after its copy was accepted by the delivery queue, and deleted from the DLQ after that; a discarded one is
   * deleted. A failure anywhere leaves the letter in the DLQ, so a second run is harmless.
   */
  async redrive(
    options: LetterFilter & { limit: number; deadlineMs?: number },
    settle: (letters: readonly DeliveryMessage[]) => Promise<readonly LetterSettlement[]>,
    recordMoved: (moved: readonly Restart[]) => Promise<void>,
  ): Promise<RedriveResult> {
    const keep: Message[] = [];
    let moved = 0;
    let discarded = 0;
    const deadline = Date.now() + (options.deadlineMs ?? 20_000);
    try {
      while (moved + discarded < options.limit && Date.now() < deadline) {
        const batch = await this.#receive();
        if (batch.length === 0) break;
        const wanted: { message: Message; parsed: DeliveryMessage }[] = [];
        for (const message of batch) {
          const parsed = parse(message);
          const chosen = parsed && matches(options, parsed);
          if (parsed && chosen && moved + discarded + wanted.length < options.limit)
            wanted.push({ message, parsed });
          else keep.push(message);
        }
        if (wanted.length === 0) continue;
        const settlements = await settle(wanted.map((item) => item.parsed));
        const moves = wanted.flatMap((item, index) => {
          const settlement = settlements[index];
          return settlement?.action === "move" ? [{ ...item, settlement }] : [];
        });
        const discards = wanted.filter((_, index) => settlements[index]?.action === "discard");
        const sent = moves.length
          ? await this.#sqs.send(
              new SendMessageBatchCommand({
                QueueUrl: this.#deliveryQueueUrl,
                Entries: moves.map((item, index) => ({
                  Id: String(index),
                  MessageBody: JSON.stringify(item.settlement.message),
                  MessageGroupId: item.settlement.message.tenantId,
                })),
              }),
            )
          : { Failed: [] };
        const failed = new Set((sent.Failed ?? []).map((failure) => Number(failure.Id)));
        const done = moves.filter((_, index) => !failed.has(index));
        keep.push(...moves.filter((_, index) => failed.has(index)).map((item) => item.message));
        await recordMoved(done.flatMap((item) => item.settlement.next ?? []));
        const removable = [...done, ...discards].map((item) => item.message);
        for (const group of inTens(removable)) {
          await this.#sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.#dlqUrl,
              Entries: group.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
        moved += done.length;
        discarded += discards.length;
      }
    } finally {
      await this.#release(keep);
    }
    return { moved, discarded, left: await this.#approximateDepth() };
  }
}
