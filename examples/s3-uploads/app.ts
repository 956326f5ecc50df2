/**
 * An existing app adds webhooks: a stack that already has an uploads bucket gets the `Webhooks` construct, and
 * every object created in that bucket becomes an `Object Created` webhook event for one tenant.
 *
 *   npm run build:package            # once, at the repository root: builds serverless-webhooks/cdk
 *   cd examples/s3-uploads && npx cdk synth
 */
import { App, CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { Webhooks } from "serverless-webhooks/cdk";

class UploadsStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const uploads = new s3.Bucket(this, "Uploads", {
      eventBridgeEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // S3's events name no tenant: they all go to the "uploads" tenant (create it with PUT /tenants/uploads).
    const webhooks = new Webhooks(this, "Webhooks", {
      stage: "uploads",
      defaultTenantId: "uploads",
      retryScheduleSeconds: [10, 60, 600, 3600],
    });
    // Only this bucket's new objects, on the default bus where S3 sends them.
    webhooks.routeEvents("UploadsCreated", {
      source: ["aws.s3"],
      detailType: ["Object Created"],
      detail: { bucket: { name: [uploads.bucketName] } },
    });

    new CfnOutput(this, "WebhooksApiUrl", { value: webhooks.outputs.ApiUrl?.value ?? "" });
  }
}

const app = new App();
new UploadsStack(app, "UploadsWithWebhooks");
app.synth();
