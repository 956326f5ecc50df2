/**
 * Turns the SDK calls a function made (recorded by `countSdkCalls`) into the IAM actions AWS authorizes them
 * with, per resource: batch and transaction calls are authorized per action they carry (SendMessageBatch →
 * sqs:SendMessage, a transaction's Put → dynamodb:PutItem), a Query on an index on the index's ARN, and
 * CreateSecret with tags needs secretsmanager:TagResource too.
 */
import type { FunctionAccess } from "#lib/function-access.ts";

export type ResourceKind =
  | "table"
  | `index/${string}`
  | "deliveryQueue"
  | "deadLetterQueue"
  | "ingestQueue"
  | "ingestDeadLetterQueue"
  | "secrets"
  | "portalKey"
  | "operationalEventBus";

export interface Grant {
  readonly resource: ResourceKind;
  readonly action: string;
}

export interface ResourceNames {
  readonly tableName: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly ingestQueueUrl: string;
  readonly ingestDeadLetterQueueUrl: string;
  /** The portal's key set: calls naming it are on that one secret, not under the signing secrets' prefix. */
  readonly portalKeySecretId?: string;
  /** The bus operational events must go to (and no other). */
  readonly operationalEventBus?: string;
}

const key = (grant: Grant) => `${grant.resource} ${grant.action}`;

const SQS_ACTIONS: Readonly<Record<string, string>> = {
  SendMessageCommand: "sqs:SendMessage",
  SendMessageBatchCommand: "sqs:SendMessage",
  ReceiveMessageCommand: "sqs:ReceiveMessage",
  DeleteMessageCommand: "sqs:DeleteMessage",
  DeleteMessageBatchCommand: "sqs:DeleteMessage",
  ChangeMessageVisibilityCommand: "sqs:ChangeMessageVisibility",
  ChangeMessageVisibilityBatchCommand: "sqs:ChangeMessageVisibility",
  GetQueueAttributesCommand: "sqs:GetQueueAttributes",
};

const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
};

function sqsGrant(name: string, input: Record<string, unknown>, names: ResourceNames): Grant[] {
  const action = SQS_ACTIONS[name];
  if (!action) throw new Error(`no IAM mapping for ${name}`);
  const queues: Record<string, ResourceKind> = {
    [names.deliveryQueueUrl]: "deliveryQueue",
    [names.deadLetterQueueUrl]: "deadLetterQueue",
    [names.ingestQueueUrl]: "ingestQueue",
    [names.ingestDeadLetterQueueUrl]: "ingestDeadLetterQueue",
  };
  const resource = queues[String(input.QueueUrl)];
  if (!resource) throw new Error(`${name} on an unknown queue ${String(input.QueueUrl)}`);
  return [{ resource, action }];
}

function dynamoGrants(name: string, input: Record<string, unknown>, names: ResourceNames): Grant[] {
  const onTable = (action: string): Grant[] => {
    const tables = [
      input.TableName,
      ...Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {}),
    ].filter((table) => table !== undefined);
    for (const table of tables)
      if (table !== names.tableName) throw new Error(`${name} on an unknown table ${String(table)}`);
    return [{ resource: "table", action }];
  };
  switch (name) {
    case "GetItemCommand":
      return onTable("dynamodb:GetItem");
    case "PutItemCommand":
      return onTable("dynamodb:PutItem");
    case "UpdateItemCommand":
      return onTable("dynamodb:UpdateItem");
    case "DeleteItemCommand":
      return onTable("dynamodb:DeleteItem");
    case "BatchGetItemCommand":
      return onTable("dynamodb:BatchGetItem");
    case "BatchWriteItemCommand":
      return onTable("dynamodb:BatchWriteItem");
    case "ScanCommand":
      return onTable("dynamodb:Scan");
    case "QueryCommand":
      if (input.TableName !== names.tableName) throw new Error(`Query on ${String(input.TableName)}`);
      return [
        {
          resource: input.IndexName ? `index/${String(input.IndexName)}` : "table",
          action: "dynamodb:Query",
        },
      ];
    case "TransactWriteItemsCommand":
      return ((input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? []).flatMap(
        (item) =>
          Object.entries(item).map(([operation, body]) => {
            const action = TRANSACT_ACTIONS[operation];
            if (!action || body.TableName !== names.tableName)
              throw new Error(`transaction item ${operation} on ${String(body.TableName)}`);
            return { resource: "table" as const, action };
          }),
      );
    default:
      throw new Error(`no IAM mapping for ${name}`);
  }
}

function secretsGrants(name: string, input: Record<string, unknown>, names: ResourceNames): Grant[] {
  const action = `secretsmanager:${name.replace(/Command$/, "")}`;
  const onPortalKey = names.portalKeySecretId !== undefined && input.SecretId === names.portalKeySecretId;
  const grants: Grant[] = [{ resource: onPortalKey ? "portalKey" : "secrets", action }];
  if (name === "CreateSecretCommand" && Array.isArray(input.Tags) && input.Tags.length > 0)
    grants.push({ resource: "secrets", action: "secretsmanager:TagResource" });
  return grants;
}

const DYNAMO_COMMANDS =
  /^(GetItem|PutItem|UpdateItem|DeleteItem|BatchGetItem|BatchWriteItem|Query|Scan|TransactWriteItems)Command$/;

/** The IAM grants the recorded calls needed, deduplicated and sorted. */
export function grantsUsed(
  calls: readonly { readonly name: string; readonly input: Record<string, unknown> }[],
  names: ResourceNames,
): string[] {
  const grants = calls.flatMap(({ name, input }) => {
    if (name in SQS_ACTIONS) return sqsGrant(name, input, names);
    if (DYNAMO_COMMANDS.test(name)) return dynamoGrants(name, input, names);
    if (/^(CreateSecret|PutSecretValue|GetSecretValue|DeleteSecret|DescribeSecret)Command$/.test(name))
      return secretsGrants(name, input, names);
    if (name === "PutEventsCommand") {
      const buses = new Set(
        ((input.Entries as { EventBusName?: string }[] | undefined) ?? []).map((entry) => entry.EventBusName),
      );
      if (buses.size !== 1 || !buses.has(names.operationalEventBus))
        throw new Error(`PutEvents on ${[...buses].join(", ")}, not the operational-event bus`);
      return [{ resource: "operationalEventBus" as const, action: "events:PutEvents" }];
    }
    throw new Error(`no IAM mapping for ${name}`);
  });
  return [...new Set(grants.map(key))].sort();
}

/** The grants a `FunctionAccess` declares, in the same `<resource> <action>` form. */
export function grantsDeclared(access: FunctionAccess, exclude: readonly Grant[] = []): string[] {
  const grants: Grant[] = [
    ...access.table.map((action) => ({ resource: "table" as const, action })),
    ...Object.entries(access.indexes).flatMap(([index, actions]) =>
      actions.map((action) => ({ resource: `index/${index}` as const, action })),
    ),
    ...access.deliveryQueue.map((action) => ({ resource: "deliveryQueue" as const, action })),
    ...access.deadLetterQueue.map((action) => ({ resource: "deadLetterQueue" as const, action })),
    ...access.ingestQueue.map((action) => ({ resource: "ingestQueue" as const, action })),
    ...access.ingestDeadLetterQueue.map((action) => ({ resource: "ingestDeadLetterQueue" as const, action })),
    ...access.secrets.map((action) => ({ resource: "secrets" as const, action })),
    ...access.portalKey.map((action) => ({ resource: "portalKey" as const, action })),
    ...access.operationalEventBus.map((action) => ({ resource: "operationalEventBus" as const, action })),
  ];
  const excluded = new Set(exclude.map(key));
  return [...new Set(grants.map(key))].filter((grant) => !excluded.has(grant)).sort();
}
