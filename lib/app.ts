/** Builds the CDK app: the stack from validated context, cdk-nag's AwsSolutions and Serverless packs, and ours. */
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { WebhooksChecks } from "./nag/webhooks-checks.ts";
import { WebhooksStack } from "./stack.ts";
import { stackConfigFromContext } from "./stack-config.ts";

export function createApp(appProps: AppProps = {}): { app: App; stack: WebhooksStack } {
  const app = new App(appProps);
  const config = stackConfigFromContext((key) => app.node.tryGetContext(key));
  const stack = new WebhooksStack(app, `ServerlessWebhooks-${config.stage}`, {
    config,
    description: `Serverless Webhooks (${config.stage})`,
    // Environment-agnostic unless `-c account=… -c region=…` pins it: `cdk deploy` then targets the account of the
    // credentials in use and the region of AWS_REGION (or the profile), and an offline synth bakes in no region.
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new WebhooksChecks(app),
  );
  return { app, stack };
}
