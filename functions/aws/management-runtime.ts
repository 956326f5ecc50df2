/**
 * The adapters the management routes need — SDK clients, repositories, the delivery queue, signing secrets, a
 * logger — and nothing that sends webhooks or emits metrics: the portal function is built on this alone (its
 * bundle stays small), the other functions on `createRuntime`, which adds the guarded sender and metrics.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { Config } from "#core/shared/config.ts";
import { type AwsClients, createAwsClients } from "./clients.ts";
import { SqsDeliveryQueue } from "./delivery-queue.ts";
import { DynamoDeliveryRepository } from "./delivery-repository.ts";
import { DynamoEventRepository } from "./event-repository.ts";
import { DynamoEventTypeRepository } from "./event-type-repository.ts";
import { SecretsManagerSigningSecretStore } from "./signing-secret-store.ts";
import { DynamoTenantRepository } from "./tenant-repository.ts";
import { DynamoWebhookRepository } from "./webhook-repository.ts";

export const SERVICE_NAME = "serverless-webhooks";

export interface ManagementRuntimeOptions {
  /** Pre-built clients (tests count their calls); built from the config otherwise. */
  readonly clients?: AwsClients;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
}

export interface ManagementRuntime {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly tenants: DynamoTenantRepository;
  readonly webhooks: DynamoWebhookRepository;
  readonly events: DynamoEventRepository;
  /** The global event-type catalogue. */
  readonly eventTypes: DynamoEventTypeRepository;
  readonly deliveries: DynamoDeliveryRepository;
  readonly queue: SqsDeliveryQueue;
  readonly secrets: SecretsManagerSigningSecretStore;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly random: () => number;
}

export function createManagementRuntime(
  config: Config,
  options: ManagementRuntimeOptions = {},
): ManagementRuntime {
  const clients = options.clients ?? createAwsClients({ region: config.region, endpoints: config.endpoints });
  const now = options.now ?? (() => new Date());
  const eventTypes = new DynamoEventTypeRepository(clients.documents, config.tableName);
  return {
    config,
    clients,
    tenants: new DynamoTenantRepository(clients.documents, config.tableName),
    eventTypes,
    webhooks: new DynamoWebhookRepository(clients.documents, config.tableName, config.maxWebhooksPerTenant),
    events: new DynamoEventRepository(clients.documents, config.tableName, config.retentionDays),
    deliveries: new DynamoDeliveryRepository(clients.documents, config.tableName, config.retentionDays),
    queue: new SqsDeliveryQueue(clients.sqs, config, now),
    secrets: new SecretsManagerSigningSecretStore(clients.secretsManager, {
      namePrefix: config.secretNamePrefix,
    }),
    logger: options.logger ?? new Logger({ serviceName: SERVICE_NAME }),
    now,
    random: options.random ?? Math.random,
  };
}
