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
import { type EventBridgeOperationalEvents, operationalEventsOf } from "#aws/operational-event-bus.ts";
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
  readonly notices: EventBridgeOperationalEvents;
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

/** What the management routes on one tenant's data need (the api's root without the DLQ): the portal's too. */
export type TenantRoutesRuntime = Omit<ApiRuntime, "dlq">;

/** The parts of the tenant routes' root over `clients`, for a root built on it. */
export function tenantRouteParts(
  config: Config,
  base: RootBase,
  clients: ApiClients,
): Factories<Omit<TenantRoutesRuntime, keyof RootBase>> {
  return {
    ...tableRepositories(config, clients.documents),
    queue: deliveryQueue(config, clients.sqs, base.now),
    secrets: () => signingSecretStore(config, clients.secretsManager, clients.documents, base.now),
    // The same credentials as the function's other calls (its role's, on Lambda).
    notices: () => operationalEventsOf(base, () => clients.documents().config.credentials),
  };
}

export function createApiRuntime(config: Config, options: RootOptions = {}): ApiRuntime {
  const base = rootBase(config, options);
  const clients = apiClients(config, options);
  return withParts(base, {
    ...tenantRouteParts(config, base, clients),
    dlq: () => new DeadLetterQueue(clients.sqs(), config),
  });
}
