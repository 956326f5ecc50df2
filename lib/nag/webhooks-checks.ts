/** Rules cdk-nag ships outside its packs that this project enforces too. */
import type { CfnResource } from "aws-cdk-lib";
import { NagMessageLevel, NagPack, type NagPackProps, rules } from "cdk-nag";
import type { IConstruct } from "constructs";

export class WebhooksChecks extends NagPack {
  readonly name = "Webhooks";

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = "Webhooks";
  }

  protected checkResource(node: CfnResource): void {
    this.applyRule({
      info: "The SQS queue's visibility timeout is less than 6 times the timeout of the Lambda function it feeds.",
      explanation:
        "AWS recommends a visibility timeout of at least six times the function timeout, so that a batch retried by the event source mapping is not received again while still being processed.",
      level: NagMessageLevel.ERROR,
      rule: rules.lambda.LambdaEventSourceSQSVisibilityTimeout,
      node,
    });
  }
}
