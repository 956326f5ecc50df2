/** Builds the CDK app with cdk-nag's AwsSolutions and Serverless packs as validation plugins. */
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { WebhooksStack } from "./webhooks-stack.ts";

export function createApp(appProps: AppProps = {}): { app: App; stack: WebhooksStack } {
  const app = new App(appProps);
  const stageContext: unknown = app.node.tryGetContext("stage");
  const stage = typeof stageContext === "string" && stageContext !== "" ? stageContext : "dev";
  const stack = new WebhooksStack(app, `ServerlessWebhooks-${stage}`, {
    stage,
    description: `Serverless Webhooks (${stage})`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}
