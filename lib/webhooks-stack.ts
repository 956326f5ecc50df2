import { CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Storage } from "./constructs/storage.ts";

export interface WebhooksStackProps extends StackProps {
  /** Stage name, e.g. `dev` or `prod`; part of the stack name, never of a physical resource name. */
  readonly stage: string;
  readonly deletionProtection?: boolean;
}

export class WebhooksStack extends Stack {
  readonly storage: Storage;

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    super(scope, id, props);
    const protect = props.deletionProtection ?? true;
    this.storage = new Storage(this, "Storage", {
      deletionProtection: protect,
      removalPolicy: protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    new CfnOutput(this, "TableName", { value: this.storage.table.tableName });
    new CfnOutput(this, "DeliveryQueueUrl", { value: this.storage.deliveryQueue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.storage.deadLetterQueue.queueUrl });
  }
}
