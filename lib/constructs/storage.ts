/** The platform's table and queues, built from the shared definitions in `functions/core/shared/resource-definitions.ts`. */
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  deadLetterQueue,
  deliveryQueue,
  type KeyAttribute,
  type QueueDefinition,
  type TableDefinition,
  webhooksTable,
} from "#core/shared/resource-definitions.ts";

export interface StorageProps {
  /** Protects the table from `cdk destroy` and console deletes; on by default. */
  readonly deletionProtection: boolean;
  readonly removalPolicy: RemovalPolicy;
}

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === "S" ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

function tableFromDefinition(
  scope: Construct,
  definition: TableDefinition,
  props: StorageProps,
): dynamodb.TableV2 {
  return new dynamodb.TableV2(scope, definition.logicalName, {
    partitionKey: attribute(definition.partitionKey),
    sortKey: attribute(definition.sortKey),
    globalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      sortKey: attribute(index.sortKey),
      projectionType: dynamodb.ProjectionType[index.projection],
      ...(index.nonKeyAttributes ? { nonKeyAttributes: [...index.nonKeyAttributes] } : {}),
    })),
    timeToLiveAttribute: definition.timeToLiveAttribute,
    billing: dynamodb.Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // AWS-owned key: no per-request KMS charge on the hot path; see docs/deploy.md "KMS choices".
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    deletionProtection: props.deletionProtection,
    removalPolicy: props.removalPolicy,
  });
}

/** A queue's props from its shared definition: SSE-SQS, TLS only. */
export function queueProps(definition: QueueDefinition): sqs.QueueProps {
  return {
    visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
    retentionPeriod: Duration.seconds(definition.retentionPeriodSeconds),
    receiveMessageWaitTime: Duration.seconds(definition.receiveMessageWaitTimeSeconds),
    // SSE-SQS: encrypted at rest without KMS request charges; see docs/deploy.md "KMS choices".
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  };
}

export class Storage extends Construct {
  readonly table: dynamodb.TableV2;
  readonly deliveryQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.table = tableFromDefinition(this, webhooksTable, props);
    this.deadLetterQueue = new sqs.Queue(this, deadLetterQueue.logicalName, queueProps(deadLetterQueue));
    this.deliveryQueue = new sqs.Queue(this, deliveryQueue.logicalName, {
      ...queueProps(deliveryQueue),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: deliveryQueue.maxReceiveCount },
    });
  }
}
