/**
 * The SQS queues of the functions whose first invocation rarely calls SQS — deliver (a retry's new visibility, a
 * dead letter), api and portal (test events, recoveries, the DLQ routes) — as a module of their own, with the SQS
 * client: those functions load it on the first call that needs it (`sqsOnFirstCall`), so that the client is not on
 * their cold start. Shipped as `sqs-queues.mjs` beside their handlers (`LAZY_MODULES_OF` in
 * lib/constructs/lambda-bundling.ts). Publish and reconcile, which call SQS on every invocation, import the queue
 * directly.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "#core/shared/config.ts";
import { createSqsClient } from "./clients.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { SqsDeliveryQueue } from "./delivery-queue.ts";
import { clientConfigOf } from "./runtime.ts";

export interface SqsQueues {
  readonly queue: SqsDeliveryQueue;
  readonly dlq: DeadLetterQueue;
}

/** Both queues over one client: `sqs` when the caller has one (local mode, tests), else the function's own. */
export function createSqsQueues(config: Config, sqs: SQSClient | undefined, now: () => Date): SqsQueues {
  const client = sqs ?? createSqsClient(clientConfigOf(config));
  return { queue: new SqsDeliveryQueue(client, config, now), dlq: new DeadLetterQueue(client, config) };
}
