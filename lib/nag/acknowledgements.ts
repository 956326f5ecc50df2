/**
 * Every cdk-nag finding this stack accepts, acknowledged on the construct it concerns (never stack-wide), each
 * with its reason. docs/deploy.md lists them. Anything not here fails the synth.
 */
import { type CfnElement, Stack, Token, Validations } from "aws-cdk-lib";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { IConstruct } from "constructs";
import type { Webhooks } from "../webhooks.ts";

export interface Acknowledgement {
  readonly rule: string;
  readonly where: string;
  readonly reason: string;
  /** The construct it sits on; the infra test checks each reason against what was synthesized there. */
  readonly scope: IConstruct;
}

const acknowledge = (
  construct: IConstruct,
  where: string,
  rule: string,
  reason: string,
  log: Acknowledgement[],
) => {
  Validations.of(construct).acknowledge({ id: rule, reason });
  log.push({ rule, where, reason, scope: construct });
};

/** Why a function's secrets grant is scoped to the stack's prefix rather than to named ARNs. */
function secretGrantReason(name: "api" | "deliver" | "portal", sealed: boolean): string {
  const manages = name === "api" || name === "portal";
  if (sealed)
    return manages
      ? "Sealed secret storage: the api and portal functions read the key-encryption key to seal new secrets; its ARN ends in a suffix Secrets Manager picks, so the grant is scoped to this stack's secret name prefix, nothing else in the account."
      : "Sealed secret storage: the deliver function reads the key-encryption key (any of its versions) to open the sealed secrets; scoped to this stack's secret name prefix, nothing else in the account.";
  return manages
    ? "One signing secret per webhook, created at runtime, so its ARN is unknown at deploy time: create, tag, rotate and delete (with a recovery window only) are scoped to this stack's secret name prefix, nothing else in the account."
    : "One signing secret per webhook, created at runtime, so its ARN is unknown at deploy time: reading values is scoped to this stack's secret name prefix, nothing else in the account.";
}

export function acknowledgeFindings(webhooks: Webhooks, secretPrefix: string): Acknowledgement[] {
  const log: Acknowledgement[] = [];
  const { region: stackRegion, account: stackAccount } = Stack.of(webhooks);
  const region = Token.isUnresolved(stackRegion) ? "<AWS::Region>" : stackRegion;
  const account = Token.isUnresolved(stackAccount) ? "<AWS::AccountId>" : stackAccount;

  for (const [name, fn] of Object.entries(webhooks.functions)) {
    const where = `${name} function role`;
    acknowledge(
      fn,
      where,
      "AwsSolutions-IAM5[Resource::*]",
      "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions.",
      log,
    );
    acknowledge(
      fn,
      `${name} function`,
      "Serverless-LambdaDLQ",
      name === "reconcile"
        ? "Run by a schedule every few minutes and idempotent: a failed run is simply the next run's work, there is no event to keep."
        : "Invoked synchronously (API Gateway) or by an SQS event source mapping; a function DLQ only applies to asynchronous invocations.",
      log,
    );
  }
  for (const name of ["api", "deliver", "portal"] as const) {
    acknowledge(
      webhooks.functions[name],
      `${name} function role`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${secretPrefix}*]`,
      secretGrantReason(name, webhooks.keyEncryptionKey !== undefined),
      log,
    );
  }
  acknowledge(
    webhooks.functions.deliver,
    "deliver event source mapping",
    "Serverless-LambdaEventSourceMappingDestination",
    "SQS event source mappings take no on-failure destination; failed records return to the queue, whose redrive policy and the function's own DLQ copy (with the reason) catch them.",
    log,
  );
  acknowledge(
    webhooks.functions.publish,
    "publish (ingest queue) event source mapping",
    "Serverless-LambdaEventSourceMappingDestination",
    "SQS event source mappings take no on-failure destination; a failed record returns to the ingest queue, whose redrive policy moves it to the ingest DLQ after 5 receives, and publish keeps what it cannot route there itself (with the reason).",
    log,
  );
  if (webhooks.keyEncryptionKey)
    acknowledge(
      webhooks.keyEncryptionKey,
      "key-encryption key",
      "AwsSolutions-SMG4",
      "Rotated by an operator with PutSecretValue (docs/secrets.md), not by a rotation Lambda: every key version stays readable and each sealed secret is re-sealed under the new key on its next read, so no function has to rewrite the items at once.",
      log,
    );
  acknowledge(
    webhooks.reconcileSchedule,
    "reconciler schedule",
    "Serverless-EventBusDLQ",
    "A schedule, not an event: a run EventBridge cannot deliver carries no data to keep, and the next run (minutes later) does the same work.",
    log,
  );
  acknowledge(
    webhooks.managementApi.api,
    "management API methods",
    "AwsSolutions-COG4",
    "IAM (SigV4) auth on every method by design: callers are AWS principals (services, operators, a portal backend), not end users of a Cognito pool.",
    log,
  );
  acknowledge(
    webhooks.managementApi.api,
    "management API stage",
    "AwsSolutions-APIG3",
    "An IAM-authenticated management API; unsigned requests never reach the integration. Attach a WAF web ACL if the API must be shielded from volumetric abuse.",
    log,
  );
  acknowledge(
    webhooks.managementApi.api,
    "API Gateway CloudWatch role",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    "The account-level role API Gateway uses to write execution logs; AWS's managed policy is the documented way to grant it.",
    log,
  );
  acknowledge(
    webhooks.storage.deadLetterQueue,
    "delivery DLQ",
    "Serverless-SQSRedrivePolicy",
    "This queue is the delivery DLQ itself: a DLQ behind it would only move exhausted deliveries one hop further. It is alarmed on and redriven through the API.",
    log,
  );
  acknowledge(
    webhooks.ingestDeadLetterQueue,
    "ingest DLQ",
    "AwsSolutions-SQS3",
    "This queue is itself a dead-letter queue (of the ingest queue and of the EventBridge rules' SQS targets); it is alarmed on.",
    log,
  );
  acknowledge(
    webhooks.ingestDeadLetterQueue,
    "ingest DLQ",
    "Serverless-SQSRedrivePolicy",
    "This queue is itself a dead-letter queue; a DLQ behind it would only move failed events one hop further.",
    log,
  );
  acknowledgePortal(webhooks, log);
  const topic = webhooks.operations.topic;
  if (topic instanceof Topic) {
    acknowledge(
      topic,
      "alarm e-mail subscription",
      "Serverless-SNSRedrivePolicy",
      "Alarm notifications by e-mail: a DLQ for undeliverable alarm mails would be a queue nobody watches, and every alarm stays visible in CloudWatch.",
      log,
    );
  }
  return log;
}

function acknowledgePortal(webhooks: Webhooks, log: Acknowledgement[]) {
  const { portal } = webhooks;
  const stack = Stack.of(webhooks);
  acknowledge(
    portal.keySet,
    "portal signing keys",
    "AwsSolutions-SMG4",
    "An HMAC key set rotated by the operator (docs/portal.md): a new kid becomes current while the previous keeps verifying until its tokens expire, which a single-value rotation Lambda cannot express.",
    log,
  );
  for (const rule of ["AwsSolutions-APIG4", "AwsSolutions-COG4"]) {
    acknowledge(
      portal.api,
      "portal API methods",
      rule,
      "The portal function verifies the bearer token on every call (signature, kid, iss, aud, exp, revocation against the tenant record, capabilities): an authorizer with a cache would delay revocation, and customers are not users of a Cognito pool.",
      log,
    );
  }
  acknowledge(
    portal.api,
    "portal API stage",
    "AwsSolutions-APIG3",
    "Throttled at the stage (portalThrottleRatePerSecond) and per tenant in the function; attach a WAF web ACL to the stage or the distribution if volumetric abuse is a concern.",
    log,
  );
  acknowledge(
    portal.distribution,
    "portal distribution",
    "AwsSolutions-CFR1",
    "Customers of the tenants may be anywhere; restrict countries with a geo restriction on the distribution if the business needs it.",
    log,
  );
  acknowledge(
    portal.distribution,
    "portal distribution",
    "AwsSolutions-CFR2",
    "The page is static and every API call is token-verified and throttled per tenant; attach a WAF web ACL if volumetric abuse is a concern.",
    log,
  );
  acknowledge(
    portal.distribution,
    "portal distribution",
    "AwsSolutions-CFR3",
    "API calls are logged by the portal API's access log (without tokens); CloudFront standard logs would need a log bucket with ACLs enabled for a static page of three files.",
    log,
  );
  acknowledge(
    portal.distribution,
    "portal distribution",
    "AwsSolutions-CFR4",
    "The default *.cloudfront.net certificate; HTTPS only (no HTTP at all). Give the distribution a custom domain and certificate to pin TLS 1.2+ (docs/portal.md).",
    log,
  );
  acknowledge(
    portal.bucket,
    "portal page bucket",
    "AwsSolutions-S1",
    "A private bucket holding the built page (three files), written only by the deployment and read only by CloudFront through origin access control; there is no access to audit beyond that.",
    log,
  );
  // The bucket deployment's handler: a CDK-provided singleton at the stack's root.
  const handler = stack.node.children.find((child) =>
    child.node.id.startsWith("Custom::CDKBucketDeployment"),
  );
  if (!handler) return;
  const where = "portal page deployment (CDK's BucketDeployment handler)";
  const managed =
    "CDK's BucketDeployment handler, run once per deployment to copy the built page into the portal bucket; its role and runtime are CDK's own.";
  for (const rule of [
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions-IAM5[Action::s3:List*]",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
    "AwsSolutions-IAM5[Action::s3:Abort*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(portal.bucket.node.defaultChild as CfnElement)}.Arn>/*]`,
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-L1",
    "Serverless-LambdaDLQ",
    "Serverless-LambdaLatestVersion",
    "Serverless-LambdaTracing",
  ])
    acknowledge(handler, where, rule, managed, log);
}
