/** Builds the CDK app: the stack from validated context, cdk-nag's AwsSolutions and Serverless packs, and ours. */
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { WebhooksChecks } from "./nag/webhooks-checks.ts";
import { stackConfigFromContext } from "./stack-config.ts";
import { WebhooksStack } from "./webhooks-stack.ts";

export function createApp(appProps: AppProps = {}): { app: App; stack: WebhooksStack } {
  const app = new App(appProps);
  const config = stackConfigFromContext((key) => app.node.tryGetContext(key));
  const stack = new WebhooksStack(app, `ServerlessWebhooks-${config.stage}`, {
    config,
    description: `Serverless Webhooks (${config.stage})`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new WebhooksChecks(app),
  );
  return { app, stack };
}
