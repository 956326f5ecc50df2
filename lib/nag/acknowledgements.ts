/**
 * Every cdk-nag finding this stack accepts, acknowledged on the construct it concerns (never stack-wide), each
 * with its reason. docs/deploy.md lists them. Anything not here fails the synth.
 */
import { Stack, Token, Validations } from "aws-cdk-lib";
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
      name === "publish"
        ? "Asynchronous (EventBridge) failures go to an on-failure destination, the ingest DLQ, which supersedes a function DLQ."
        : name === "reconcile"
          ? "Run by a schedule every few minutes and idempotent: a failed run is simply the next run's work, there is no event to keep."
          : "Invoked synchronously (API Gateway) or by an SQS event source mapping; a function DLQ only applies to asynchronous invocations.",
      log,
    );
  }
  for (const name of ["api", "deliver"] as const) {
    acknowledge(
      webhooks.functions[name],
      `${name} function role`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${secretPrefix}*]`,
      webhooks.keyEncryptionKey
        ? name === "api"
          ? "Sealed secret storage: the api reads the key-encryption key to seal new secrets; its ARN ends in a suffix Secrets Manager picks, so the grant is scoped to this stack's secret name prefix, nothing else in the account."
          : "Sealed secret storage: the deliver function reads the key-encryption key (any of its versions) to open the sealed secrets; scoped to this stack's secret name prefix, nothing else in the account."
        : name === "api"
          ? "One signing secret per webhook, created at runtime, so its ARN is unknown at deploy time: create, tag, rotate and delete (with a recovery window only) are scoped to this stack's secret name prefix, nothing else in the account."
          : "One signing secret per webhook, created at runtime, so its ARN is unknown at deploy time: reading values is scoped to this stack's secret name prefix, nothing else in the account.",
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
    "This queue is itself a dead-letter queue (of the EventBridge rule target and of publish's async invocations); it is alarmed on.",
    log,
  );
  acknowledge(
    webhooks.ingestDeadLetterQueue,
    "ingest DLQ",
    "Serverless-SQSRedrivePolicy",
    "This queue is itself a dead-letter queue; a DLQ behind it would only move failed events one hop further.",
    log,
  );
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
