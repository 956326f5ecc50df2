/**
 * This repository's deployable app is one stack holding the `Webhooks` construct, with the construct's values as
 * the stack's outputs (`cdk deploy --outputs-file cdk-outputs.json` keeps them for `npm run api`).
 */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { StackConfig } from "./stack-config.ts";
import { Webhooks } from "./webhooks.ts";

export interface WebhooksStackProps extends StackProps {
  readonly config: StackConfig;
}

export class WebhooksStack extends Stack {
  readonly webhooks: Webhooks;

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    super(scope, id, props);
    const { account: _account, region: _region, ...webhooksProps } = props.config;
    // "Default" adds nothing to the logical ids: the resources keep the ids they had when this was the stack itself.
    this.webhooks = new Webhooks(this, "Default", webhooksProps);
    for (const [name, { value, description }] of Object.entries(this.webhooks.outputs))
      new CfnOutput(this, name, { value, description });
  }
}
