/**
 * Creates the platform's tables and queues in the local engines from the same definitions the CDK stack uses
 * (`functions/core/shared/resource-definitions.ts`). Idempotent, so a second `npm start` reuses what exists.
 */

import { randomBytes } from "node:crypto";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import {
  CreateSecretCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  deadLetterQueue,
  deliveryQueue,
  ingestDeadLetterQueue,
  ingestQueue,
  KEK_SECRET_SUFFIX,
  type QueueDefinition,
  type TableDefinition,
  webhooksTable,
} from "#core/shared/resource-definitions.ts";

export interface ProvisionedResources {
  readonly tableName: string;
  readonly deliveryQueueUrl: string;
  readonly deliveryQueueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly ingestQueueUrl: string;
  readonly ingestQueueArn: string;
  readonly ingestDeadLetterQueueUrl: string;
  readonly ingestDeadLetterQueueArn: string;
}

export function createTableInput(definition: TableDefinition, tableName: string) {
  const attributes = new Map<string, "S" | "N">();
  const keys = [definition.partitionKey, definition.sortKey];
  for (const index of definition.globalSecondaryIndexes) keys.push(index.partitionKey, index.sortKey);
  for (const key of keys) attributes.set(key.name, key.type);
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: "HASH" as const },
      { AttributeName: definition.sortKey.name, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: "HASH" as const },
        { AttributeName: index.sortKey.name, KeyType: "RANGE" as const },
      ],
      Projection: {
        ProjectionType: index.projection,
        ...(index.nonKeyAttributes ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
      },
    })),
  };
}

async function ensureTable(
  dynamodb: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<void> {
  try {
    await dynamodb.send(new CreateTableCommand(createTableInput(definition, tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  const described = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  if (described.Table?.TableStatus !== "ACTIVE") throw new Error(`table ${tableName} is not active`);
  await addMissingIndexes(dynamodb, definition, tableName, described.Table?.GlobalSecondaryIndexes ?? []);
  await dynamodb
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      }),
    )
    .catch((error: unknown) => {
      // A second start finds TTL already enabled, which DynamoDB reports as a validation error.
      if (!(error instanceof Error && /already enabled/i.test(error.message))) throw error;
    });
}

/** A data folder from an older version lacks the newer indexes: add them (DynamoDB Local builds them at once). */
async function addMissingIndexes(
  dynamodb: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
  existing: readonly { IndexName?: string | undefined }[],
): Promise<void> {
  const input = createTableInput(definition, tableName);
  const names = new Set(existing.map((index) => index.IndexName));
  for (const index of input.GlobalSecondaryIndexes) {
    if (names.has(index.IndexName)) continue;
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

function queueAttributes(definition: QueueDefinition): Record<string, string> {
  return {
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.retentionPeriodSeconds),
    ReceiveMessageWaitTimeSeconds: String(definition.receiveMessageWaitTimeSeconds),
  };
}

async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = created.QueueUrl;
  if (!url) throw new Error(`CreateQueue returned no URL for ${name}`);
  const described = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = described.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${name} has no ARN`);
  return { url, arn };
}

/** Physical names are `<prefix>-<logicalName>`, so parallel test files and stages never collide. */
export async function provisionResources(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  prefix: string,
): Promise<ProvisionedResources> {
  const tableName = `${prefix}-${webhooksTable.logicalName}`;
  const [, dlq, ingestDlq] = await Promise.all([
    ensureTable(clients.dynamodb, webhooksTable, tableName),
    ensureQueue(clients.sqs, `${prefix}-${deadLetterQueue.logicalName}`, queueAttributes(deadLetterQueue)),
    ensureQueue(
      clients.sqs,
      `${prefix}-${ingestDeadLetterQueue.logicalName}`,
      queueAttributes(ingestDeadLetterQueue),
    ),
  ]);
  const [queue, ingest] = await Promise.all([
    ensureQueue(clients.sqs, `${prefix}-${deliveryQueue.logicalName}`, {
      ...queueAttributes(deliveryQueue),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: deliveryQueue.maxReceiveCount,
      }),
    }),
    ensureQueue(clients.sqs, `${prefix}-${ingestQueue.logicalName}`, {
      ...queueAttributes(ingestQueue),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: ingestDlq.arn,
        maxReceiveCount: ingestQueue.maxReceiveCount,
      }),
    }),
  ]);
  return {
    tableName,
    deliveryQueueUrl: queue.url,
    deliveryQueueArn: queue.arn,
    deadLetterQueueUrl: dlq.url,
    deadLetterQueueArn: dlq.arn,
    ingestQueueUrl: ingest.url,
    ingestQueueArn: ingest.arn,
    ingestDeadLetterQueueUrl: ingestDlq.url,
    ingestDeadLetterQueueArn: ingestDlq.arn,
  };
}

/**
 * The key-encryption key of sealed secret storage, as the stack creates it: a generated value in the secret
 * `<prefix>key-encryption-key` (idempotent: an existing key is kept, never replaced).
 */
export async function provisionKeyEncryptionKey(secretsManager: SecretsManagerClient, namePrefix: string) {
  try {
    await secretsManager.send(
      new CreateSecretCommand({
        Name: `${namePrefix}${KEK_SECRET_SUFFIX}`,
        SecretString: randomBytes(48).toString("base64url"),
        Description: "Key-encryption key of the sealed signing secrets",
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
  }
}
