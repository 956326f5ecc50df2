/**
 * The one description of the platform's tables and queues. The CDK stack (`lib/`) and local mode
 * (`local/provision.ts`) both build their resources from these objects, so a key, index, TTL attribute or
 * queue attribute cannot drift between AWS and a laptop. Plain data: no AWS imports.
 */

export type AttributeType = "S" | "N";

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /**
   * What the index copies: every attribute (listings), the keys alone (a lookup that reads the table after), or
   * the keys and `nonKeyAttributes` (a listing of summaries of large items).
   */
  readonly projection: "ALL" | "KEYS_ONLY" | "INCLUDE";
  readonly nonKeyAttributes?: readonly string[];
}

export interface TableDefinition {
  /** Logical name: the CDK construct id, and the suffix of the physical name in local mode. */
  readonly logicalName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry; items without it never expire. */
  readonly timeToLiveAttribute: string;
}

export interface QueueDefinition {
  readonly logicalName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionPeriodSeconds: number;
  readonly receiveMessageWaitTimeSeconds: number;
}

export interface RedrivenQueueDefinition extends QueueDefinition {
  /** Safety net only: the attempt count that matters is kept in DynamoDB (see DESIGN.md, Invariants). */
  readonly maxReceiveCount: number;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * Single-table design, partitioned by tenant. Item shapes (written by the repositories in `functions/aws/`):
 * tenant `TENANT#t / META`, webhook `TENANT#t / WEBHOOK#id`, subscription index `SUB#t#pattern / WEBHOOK#id`,
 * event `TENANT#t#EVENT#id / META`,
 * delivery `DELIVERY#id / META`, attempt `DELIVERY#id / ATTEMPT#n`. `gsi1` and `gsi2` serve the
 * listings (tenants, an event's deliveries, attempts per webhook newest first, failed deliveries by time).
 * `gsi3` is sparse and keys-only: the reconciler's view of work that is due (live deliveries, unfinished
 * fan-outs), sharded over `DUE#00000`…`DUE#00015`. `gsi4` lists a tenant's events newest first with only the
 * envelope's small fields (an event's body can be 256 KiB: an `ALL` projection would write it twice).
 */
export const webhooksTable: TableDefinition = {
  logicalName: "Webhooks",
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  globalSecondaryIndexes: [
    {
      indexName: "gsi1",
      partitionKey: { name: "gsi1pk", type: "S" },
      sortKey: { name: "gsi1sk", type: "S" },
      projection: "ALL",
    },
    {
      indexName: "gsi2",
      partitionKey: { name: "gsi2pk", type: "S" },
      sortKey: { name: "gsi2sk", type: "S" },
      projection: "ALL",
    },
    {
      indexName: "gsi3",
      partitionKey: { name: "gsi3pk", type: "S" },
      sortKey: { name: "gsi3sk", type: "S" },
      projection: "KEYS_ONLY",
    },
    {
      indexName: "gsi4",
      partitionKey: { name: "gsi4pk", type: "S" },
      sortKey: { name: "gsi4sk", type: "S" },
      projection: "INCLUDE",
      nonKeyAttributes: ["id", "tenantId", "type", "timestamp", "source", "createdAt"],
    },
  ],
  timeToLiveAttribute: "expiresAt",
};

/** The deliver Lambda's timeout; the queue's visibility timeout is derived from it (AWS asks for ≥ 6×). */
export const deliverFunctionTimeoutSeconds = 60;

/**
 * The largest deliver batch the stack accepts (`deliverBatchSize`): its sends run at once and its ledger writes
 * are two transactions, well inside the function's timeout.
 */
export const MAX_DELIVER_BATCH_SIZE = 100;

/**
 * Standard-queue messages keep their original enqueue time when they move to a DLQ, so the DLQ must keep
 * messages longer than the source queue or they expire there early. SQS caps retention at 14 days, so the
 * source keeps 4 days (the default schedule spans about 27.6 h) and the DLQ the full 14.
 */
export const deliveryQueue: RedrivenQueueDefinition = {
  logicalName: "DeliveryQueue",
  visibilityTimeoutSeconds: 6 * deliverFunctionTimeoutSeconds,
  retentionPeriodSeconds: 4 * DAY,
  receiveMessageWaitTimeSeconds: 20,
  maxReceiveCount: 30,
};

export const deadLetterQueue: QueueDefinition = {
  logicalName: "DeliveryDeadLetterQueue",
  visibilityTimeoutSeconds: 30,
  retentionPeriodSeconds: 14 * DAY,
  receiveMessageWaitTimeSeconds: 0,
};

/** The publish Lambda's timeout; the ingest queue's visibility timeout is derived from it (AWS asks for ≥ 6×). */
export const publishFunctionTimeoutSeconds = 30;

/**
 * Where EventBridge rules put the events to publish: the publish function takes them in batches through an event
 * source mapping. A record whose publish failed for a passing reason comes back after the visibility timeout —
 * longer than a fan-out lease, so the retry can take over a fan-out its first attempt left unfinished — and moves
 * to the ingest DLQ after `maxReceiveCount` receives (about 15 minutes of retries). The DLQ keeps messages
 * longer than this queue (a redriven message keeps its original enqueue time).
 */
export const ingestQueue: RedrivenQueueDefinition = {
  logicalName: "IngestQueue",
  visibilityTimeoutSeconds: 6 * publishFunctionTimeoutSeconds,
  retentionPeriodSeconds: 4 * DAY,
  receiveMessageWaitTimeSeconds: 20,
  maxReceiveCount: 5,
};

/**
 * Ingested events that were not published: those no tenant can take or that cannot be parsed (kept by the publish
 * function with a `reason` attribute), those whose publish kept failing (redriven from the ingest queue, no
 * `reason`), and those EventBridge could not put in the ingest queue.
 */
export const ingestDeadLetterQueue: QueueDefinition = {
  logicalName: "IngestDeadLetterQueue",
  visibilityTimeoutSeconds: 30,
  retentionPeriodSeconds: 14 * DAY,
  receiveMessageWaitTimeSeconds: 0,
};

export const tables = [webhooksTable] as const;

/**
 * The reconciler re-enqueues live work only once it is this far past due: beyond the longest dependency backoff
 * (10 min), so an outage's backoffs are never mistaken for stranded work.
 */
export const DEFAULT_RECONCILE_GRACE_SECONDS = 20 * 60;
/** How often the deployed reconciler runs (an EventBridge schedule). */
export const RECONCILE_INTERVAL_MINUTES = 5;

/** Sealed secret storage's key-encryption key: the secret `<secret name prefix>key-encryption-key`. */
export const KEK_SECRET_SUFFIX = "key-encryption-key";
