/**
 * The delivery queue and the DLQ as the deliver, api and portal functions hold them: plain objects whose methods
 * load `sqs-queues.mjs` (and build the SQS client) on their first call, then forward to the real queues. A failed
 * load is tried again on the next call.
 */
import type { QueueActions } from "#core/delivery/deliver.ts";
import type { DeliveryEnqueuer } from "#core/publishing/publish.ts";
import type { Config } from "#core/shared/config.ts";
import { lazyModule } from "#core/shared/lazy-module.ts";
import type { DeadLetterQueue } from "./dead-letter-queue.ts";
import type { RootOptions } from "./runtime.ts";
import type { SqsQueues } from "./sqs-queues.ts";

/** The lazily loaded module's source, for the bundler (`LAZY_MODULES_OF`). */
export const SQS_QUEUES_MODULE = "functions/aws/sqs-queues.ts";
const loadSqsQueues = lazyModule<typeof import("./sqs-queues.ts")>(
  "sqs-queues",
  new URL("./sqs-queues.ts", import.meta.url),
);

export type DeliveryQueuePort = DeliveryEnqueuer & QueueActions;
export type DeadLetterQueuePort = Pick<DeadLetterQueue, "peek" | "redrive">;

export function sqsOnFirstCall(
  config: Config,
  options: RootOptions,
  now: () => Date,
): { queue: DeliveryQueuePort; dlq: DeadLetterQueuePort } {
  let loading: Promise<SqsQueues> | undefined;
  const queues = () => {
    loading ??= loadSqsQueues().then(
      (module) => module.createSqsQueues(config, options.clients?.sqs, now),
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
  return {
    queue: {
      enqueue: async (messages) => (await queues()).queue.enqueue(messages),
      retryLater: async (receiptHandle, delaySeconds) =>
        (await queues()).queue.retryLater(receiptHandle, delaySeconds),
      requeue: async (body, tenantId, delaySeconds) =>
        (await queues()).queue.requeue(body, tenantId, delaySeconds),
      deadLetter: async (letters) => (await queues()).queue.deadLetter(letters),
    },
    dlq: {
      peek: async (...args) => (await queues()).dlq.peek(...args),
      redrive: async (...args) => (await queues()).dlq.redrive(...args),
    },
  };
}
