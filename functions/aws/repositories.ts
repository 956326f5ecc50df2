/** The table's repositories and the delivery queue, built lazily over a lazily built client: parts of the roots. */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "#core/shared/config.ts";
import { createDynamoClients, createSecretsManagerClient, createSqsClient } from "./clients.ts";
import { SqsDeliveryQueue } from "./delivery-queue.ts";
import { DynamoDeliveryRepository } from "./delivery-repository.ts";
import { DynamoEventRepository } from "./event-repository.ts";
import { DynamoEventTypeRepository } from "./event-type-repository.ts";
import { DynamoHealthRepository } from "./health-repository.ts";
import { clientConfigOf, type Factories, once, type RootOptions } from "./runtime.ts";
import { DynamoTenantRepository } from "./tenant-repository.ts";
import { DynamoWebhookRepository } from "./webhook-repository.ts";

export const documentsClient = (config: Config, options: RootOptions): (() => DynamoDBDocumentClient) =>
  once(() => options.clients?.documents ?? createDynamoClients(clientConfigOf(config)).documents);

export const sqsClient = (config: Config, options: RootOptions): (() => SQSClient) =>
  once(() => options.clients?.sqs ?? createSqsClient(clientConfigOf(config)));

export const secretsManagerClient = (config: Config, options: RootOptions): (() => SecretsManagerClient) =>
  once(() => options.clients?.secretsManager ?? createSecretsManagerClient(clientConfigOf(config)));

export interface TableRepositories {
  readonly tenants: DynamoTenantRepository;
  readonly webhooks: DynamoWebhookRepository;
  readonly events: DynamoEventRepository;
  /** The global event-type catalogue. */
  readonly eventTypes: DynamoEventTypeRepository;
  readonly deliveries: DynamoDeliveryRepository;
  /** Each webhook's health record (rate limit, circuit, failing since). */
  readonly health: DynamoHealthRepository;
}

export function tableRepositories(
  config: Config,
  documents: () => DynamoDBDocumentClient,
): Factories<TableRepositories> {
  return {
    tenants: () => new DynamoTenantRepository(documents(), config.tableName),
    webhooks: () => new DynamoWebhookRepository(documents(), config.tableName, config.maxWebhooksPerTenant),
    events: () => new DynamoEventRepository(documents(), config.tableName, config.retentionDays),
    eventTypes: () => new DynamoEventTypeRepository(documents(), config.tableName),
    deliveries: () => new DynamoDeliveryRepository(documents(), config.tableName, config.retentionDays),
    health: () => new DynamoHealthRepository(documents(), config.tableName),
  };
}

export const deliveryQueue = (config: Config, sqs: () => SQSClient, now: () => Date) =>
  once(() => new SqsDeliveryQueue(sqs(), config, now));
