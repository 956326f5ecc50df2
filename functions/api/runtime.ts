/**
 * The api function's composition root: the table, the delivery queue and DLQ (SQS, its module loaded on the first
 * call: only test events, recoveries and the DLQ routes use it), and the signing secret store (Secrets Manager,
 * built on first use: only creating, rotating and deleting webhooks call it). The portal
 * function's root is this one plus its key set (`functions/portal/runtime.ts`).
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type EventBridgeOperationalEvents, operationalEventsOf } from "#aws/operational-event-bus.ts";
import {
  documentsClient,
  secretsManagerClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type Factories, once, type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import { signingSecretStore } from "#aws/secret-stores.ts";
import type { SigningSecretStore } from "#aws/signing-secret-store.ts";
import { type DeadLetterQueuePort, type DeliveryQueuePort, sqsOnFirstCall } from "#aws/sqs-on-first-call.ts";
import type { Config } from "#core/shared/config.ts";

export interface ApiRuntime extends RootBase, TableRepositories {
  /** The delivery queue and the DLQ (SQS): their module and client load on the first call. */
  readonly queue: DeliveryQueuePort;
  readonly dlq: DeadLetterQueuePort;
  readonly secrets: SigningSecretStore;
  readonly notices: EventBridgeOperationalEvents;
}

/** The api's SDK clients, each built on first use; the SQS queues, whose module loads on their first call. */
export interface ApiClients {
  readonly documents: () => DynamoDBDocumentClient;
  readonly secretsManager: () => SecretsManagerClient;
  readonly queues: () => { queue: DeliveryQueuePort; dlq: DeadLetterQueuePort };
}

export const apiClients = (config: Config, options: RootOptions, now: () => Date): ApiClients => ({
  documents: documentsClient(config, options),
  secretsManager: secretsManagerClient(config, options),
  queues: once(() => sqsOnFirstCall(config, options, now)),
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
    queue: () => clients.queues().queue,
    secrets: () => signingSecretStore(config, clients.secretsManager, clients.documents, base.now),
    // The same credentials as the function's other calls (its role's, on Lambda).
    notices: () => operationalEventsOf(base, () => clients.documents().config.credentials),
  };
}

export function createApiRuntime(config: Config, options: RootOptions = {}): ApiRuntime {
  const base = rootBase(config, options);
  const clients = apiClients(config, options, base.now);
  return withParts(base, {
    ...tenantRouteParts(config, base, clients),
    dlq: () => clients.queues().dlq,
  });
}
