/**
 * The api function's composition root: the table, the delivery queue and DLQ (SQS), and the signing secret store
 * (Secrets Manager, built on first use: only creating, rotating and deleting webhooks call it).
 */
import { DeadLetterQueue } from "#aws/dead-letter-queue.ts";
import type { SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import { type EventBridgeOperationalEvents, operationalEventsOf } from "#aws/operational-event-bus.ts";
import {
  deliveryQueue,
  documentsClient,
  secretsManagerClient,
  sqsClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import { signingSecretStore } from "#aws/secret-stores.ts";
import type { SigningSecretStore } from "#aws/signing-secret-store.ts";
import type { Config } from "#core/shared/config.ts";

export interface ApiRuntime extends RootBase, TableRepositories {
  readonly queue: SqsDeliveryQueue;
  readonly dlq: DeadLetterQueue;
  readonly secrets: SigningSecretStore;
  readonly notices: EventBridgeOperationalEvents;
}

export function createApiRuntime(config: Config, options: RootOptions = {}): ApiRuntime {
  const base = rootBase(config, options);
  const sqs = sqsClient(config, options);
  const documents = documentsClient(config, options);
  return withParts(base, {
    ...tableRepositories(config, documents),
    queue: deliveryQueue(config, sqs, base.now),
    dlq: () => new DeadLetterQueue(sqs(), config),
    secrets: () => signingSecretStore(config, secretsManagerClient(config, options), documents, base.now),
    // The same credentials as the function's other calls (its role's, on Lambda).
    notices: () => operationalEventsOf(base, () => documents().config.credentials),
  });
}
