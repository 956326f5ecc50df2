/**
 * What each function may do, by action and resource: the one source of the stack's grants (the house function
 * construct turns these lists into IAM statements and nothing else). Plain data, so tests read it without CDK:
 * the infra test checks the synthesized policies against a literal copy (a broader grant fails it), and
 * `test/integration/iam-coverage.test.ts` runs every code path of each function against the local engines and
 * checks that the calls it makes are exactly these (a grant the code does not use fails it, and so does a call
 * that no grant covers).
 */

export type DynamoAction =
  | "dynamodb:GetItem"
  | "dynamodb:BatchGetItem"
  | "dynamodb:Query"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:BatchWriteItem"
  | "dynamodb:ConditionCheckItem";

export type SqsAction =
  | "sqs:SendMessage"
  | "sqs:ReceiveMessage"
  | "sqs:DeleteMessage"
  | "sqs:ChangeMessageVisibility"
  | "sqs:GetQueueAttributes";

export type SecretsAction =
  | "secretsmanager:CreateSecret"
  | "secretsmanager:TagResource"
  | "secretsmanager:PutSecretValue"
  | "secretsmanager:GetSecretValue"
  | "secretsmanager:DeleteSecret";

export type EventsAction = "events:PutEvents";

export interface FunctionAccess {
  /** Actions on the table itself (TransactWriteItems is authorized per item: PutItem, DeleteItem, …). */
  readonly table: readonly DynamoAction[];
  /** Index name → actions on `<table>/index/<name>`; only the indexes the function queries. */
  readonly indexes: Readonly<Record<string, readonly "dynamodb:Query"[]>>;
  readonly deliveryQueue: readonly SqsAction[];
  readonly deadLetterQueue: readonly SqsAction[];
  /** Actions on the ingest queue (where EventBridge rules put events to publish). */
  readonly ingestQueue: readonly SqsAction[];
  /** Actions on the ingest DLQ (ingested events that were not published). */
  readonly ingestDeadLetterQueue: readonly SqsAction[];
  /**
   * Actions on the stack's signing secrets (`secret:<prefix>*`). `DeleteSecret` is granted only with a recovery
   * window of at least `SECRET_RECOVERY_WINDOW_DAYS`, and deleting without recovery is denied outright.
   */
  readonly secrets: readonly SecretsAction[];
  /** Actions on the portal's signing key set (one secret, by ARN); only the portal function reads it. */
  readonly portalKey: readonly "secretsmanager:GetSecretValue"[];
  /** Actions on the operational-event bus (`operationalEventBusName`), and no other bus. */
  readonly operationalEventBus: readonly EventsAction[];
}

export type FunctionName = "api" | "publish" | "deliver" | "reconcile" | "portal";

/**
 * What Lambda's SQS event source mapping does with the consuming function's role (AWS documents these three as
 * the execution role's requirement for an SQS trigger; AWSLambdaSQSQueueExecutionRole holds the same); the
 * handler's own code calls none of them.
 */
export const EVENT_SOURCE_MAPPING_ACTIONS: readonly SqsAction[] = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
];

export const functionAccess: Readonly<Record<FunctionName, FunctionAccess>> = {
  publish: {
    // Read the tenant and the event type's catalogue entry (GetItem, cached 30 s), store the event once
    // (conditional put; a repeat reads the stored one), find subscribers and their filters with one Query per
    // pattern on the table's own key (no index), take/release/mark the fan-out lease (updates); a resumed fan-out
    // reads which deliveries already exist (BatchGetItem).
    table: [
      "dynamodb:PutItem",
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
      "dynamodb:BatchGetItem",
    ],
    indexes: {},
    deliveryQueue: ["sqs:SendMessage"],
    deadLetterQueue: [],
    // The ingest queue's event source mapping; an unpublished event is kept in the ingest DLQ (with its reason)
    // by the code itself, and a failing one moved there by the queue's redrive policy (no grant needed).
    ingestQueue: EVENT_SOURCE_MAPPING_ACTIONS,
    ingestDeadLetterQueue: ["sqs:SendMessage"],
    secrets: [],
    portalKey: [],
    operationalEventBus: [],
  },
  deliver: {
    // Large bodies (GetItem), the batch's deliveries, webhooks, health records and tenants (BatchGetItem),
    // attempts and deliveries (conditional puts in one transaction per batch), the health counts (UpdateItem),
    // the rate limiter and the circuit's transitions (conditional updates), and disabling a webhook after a 410
    // or sustained failure (puts in a transaction). Operational events: PutEvents on the configured bus. A message
    // held past the queue's receive budget is sent again as a new one (SendMessage).
    table: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    indexes: {},
    deliveryQueue: [...EVENT_SOURCE_MAPPING_ACTIONS, "sqs:ChangeMessageVisibility", "sqs:SendMessage"],
    deadLetterQueue: ["sqs:SendMessage"],
    ingestQueue: [],
    ingestDeadLetterQueue: [],
    secrets: ["secretsmanager:GetSecretValue"],
    portalKey: [],
    operationalEventBus: ["events:PutEvents"],
  },
  reconcile: {
    // The sparse "due" index (gsi3, keys only), then the items themselves: live deliveries (BatchGetItem), a
    // conditional put to record the re-enqueued copy, events (GetItem) and their fan-out lease (UpdateItem),
    // subscribers (Query on the table's own key) and existing deliveries (BatchGetItem).
    table: [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ],
    indexes: { gsi3: ["dynamodb:Query"] },
    deliveryQueue: ["sqs:SendMessage"],
    deadLetterQueue: [],
    ingestQueue: [],
    ingestDeadLetterQueue: [],
    secrets: [],
    portalKey: [],
    operationalEventBus: [],
  },
  api: {
    // Tenants (put and delete, the webhook count updated in the webhook transactions), webhooks and their
    // subscription items (transactions of puts, updates and deletes), the event-type catalogue (a put with its
    // count in a transaction, conditional puts, reads, Queries of its partition, BatchGetItem for notices), events (a test event is stored and marked
    // fanned out), deliveries (the records of deliveries restarted by recover and redrive, in batches); listings
    // on the tenant's partition (webhooks), gsi1 (tenants, an event's deliveries, a webhook's attempts), gsi2
    // (failed deliveries by time) and gsi4 (a tenant's events).
    table: [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem",
    ],
    indexes: { gsi1: ["dynamodb:Query"], gsi2: ["dynamodb:Query"], gsi4: ["dynamodb:Query"] },
    deliveryQueue: ["sqs:SendMessage"],
    deadLetterQueue: [
      "sqs:ReceiveMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:DeleteMessage",
    ],
    ingestQueue: [],
    ingestDeadLetterQueue: [],
    // Create (with a tag), rotate (a new version), delete (recovery window only). The api never reads a value.
    secrets: [
      "secretsmanager:CreateSecret",
      "secretsmanager:TagResource",
      "secretsmanager:PutSecretValue",
      "secretsmanager:DeleteSecret",
    ],
    portalKey: [],
    // A manual disable and a secret rotation are told on the operational-event bus.
    operationalEventBus: ["events:PutEvents"],
  },
  portal: {
    // The management routes on one tenant's data (the same code as the api's, through its token), and the
    // session routes: the tenant (GetItem; a revoke's UpdateItem), webhooks and subscriptions (transactions of
    // puts, updates and deletes; BatchGetItem for a listing by event type), test events (PutItem, UpdateItem),
    // deliveries restarted by recover (transactions of puts); gsi1 (a webhook's or delivery's attempts, an event's
    // deliveries), gsi2 (failed deliveries by time), gsi4 (the tenant's events). No tenant listing or deletion,
    // no DLQ, no publishing.
    table: [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    ],
    indexes: { gsi1: ["dynamodb:Query"], gsi2: ["dynamodb:Query"], gsi4: ["dynamodb:Query"] },
    deliveryQueue: ["sqs:SendMessage"],
    deadLetterQueue: [],
    ingestQueue: [],
    ingestDeadLetterQueue: [],
    // Webhooks' signing secrets as the api handles them (create, rotate, delete); never reads a value.
    secrets: [
      "secretsmanager:CreateSecret",
      "secretsmanager:TagResource",
      "secretsmanager:PutSecretValue",
      "secretsmanager:DeleteSecret",
    ],
    portalKey: ["secretsmanager:GetSecretValue"],
    // A rotation and a manual disable through the portal are told on the operational-event bus too.
    operationalEventBus: ["events:PutEvents"],
  },
};

/**
 * The grants for a stack's `secretStorage`. Sealed, the signing secrets are items in the table: the api creates,
 * rotates (a transaction with a condition check on the webhook's secret head) and deletes them there and reads
 * the key-encryption key to seal; it no longer creates or deletes Secrets Manager secrets. The deliver function's
 * grants stay as they are: it reads items (GetItem) and the key (GetSecretValue), and re-seals an item under a new
 * key with a conditional put.
 */
export function functionAccessFor(
  secretStorage: "secrets-manager" | "sealed",
): Readonly<Record<FunctionName, FunctionAccess>> {
  if (secretStorage === "secrets-manager") return functionAccess;
  // Sealed: the functions that create and rotate secrets read the key-encryption key and check the webhook's head
  // item in the table instead of managing one secret per webhook.
  const sealed = (access: FunctionAccess): FunctionAccess => ({
    ...access,
    // Deleting a webhook deletes its sealed versions in batches.
    table: [
      ...new Set<DynamoAction>([...access.table, "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"]),
    ],
    secrets: ["secretsmanager:GetSecretValue"],
  });
  return { ...functionAccess, api: sealed(functionAccess.api), portal: sealed(functionAccess.portal) };
}
