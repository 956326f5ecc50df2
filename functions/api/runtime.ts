/**
 * The api function's composition root: the table, the delivery queue and DLQ (SQS), and the signing secret store
 * (Secrets Manager, built on first use: only creating, rotating and deleting webhooks call it). The portal
 * function's root is this one plus its key set (`functions/portal/runtime.ts`).
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DeadLetterQueue } from "#aws/dead-letter-queue.ts";
import type { SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import {
  deliveryQueue,
  documentsClient,
  secretsManagerClient,
  sqsClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type Factories, type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import { signingSecretStore } from "#aws/secret-stores.ts";
import type { SigningSecretStore } from "#aws/signing-secret-store.ts";
import type { Config } from "#core/shared/config.ts";

export interface ApiRuntime extends RootBase, TableRepositories {
  readonly queue: SqsDeliveryQueue;
  readonly dlq: DeadLetterQueue;
  readonly secrets: SigningSecretStore;
}

/** The api's SDK clients, each built on first use. */
export interface ApiClients {
  readonly documents: () => DynamoDBDocumentClient;
  readonly sqs: () => SQSClient;
  readonly secretsManager: () => SecretsManagerClient;
}

export const apiClients = (config: Config, options: RootOptions): ApiClients => ({
  documents: documentsClient(config, options),
  sqs: sqsClient(config, options),
  secretsManager: secretsManagerClient(config, options),
});

/** The parts of the api's root over `clients`, for a root built on it. */
export function apiParts(
  config: Config,
  base: RootBase,
  clients: ApiClients,
): Factories<Omit<ApiRuntime, keyof RootBase>> {
  return {
    ...tableRepositories(config, clients.documents),
    queue: deliveryQueue(config, clients.sqs, base.now),
    dlq: () => new DeadLetterQueue(clients.sqs(), config),
    secrets: () => signingSecretStore(config, clients.secretsManager, clients.documents, base.now),
  };
}

export function createApiRuntime(config: Config, options: RootOptions = {}): ApiRuntime {
  const base = rootBase(config, options);
  return withParts(base, apiParts(config, base, apiClients(config, options)));
}
