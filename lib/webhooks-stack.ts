/**
 * Everything the handlers need, least-privilege and observable: the table and queues (from the shared
 * definitions), three functions, the management API, the EventBridge ingest rule, alarms and a dashboard.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { deliverFunctionTimeoutSeconds } from "#core/resource-definitions.ts";
import { ManagementApi } from "./constructs/management-api.ts";
import { Operations } from "./constructs/operations.ts";
import { Storage } from "./constructs/storage.ts";
import { WebhooksFunction } from "./constructs/webhooks-function.ts";
import { type Acknowledgement, acknowledgeFindings } from "./nag/acknowledgements.ts";
import { type StackConfig, scheduleSpanSeconds } from "./stack-config.ts";

export interface WebhooksStackProps extends StackProps {
  readonly config: StackConfig;
}

const SECRET_WRITE_ACTIONS = [
  "secretsmanager:CreateSecret",
  "secretsmanager:PutSecretValue",
  "secretsmanager:DeleteSecret",
  "secretsmanager:GetSecretValue",
  "secretsmanager:DescribeSecret",
  "secretsmanager:TagResource",
];

export class WebhooksStack extends Stack {
  readonly storage: Storage;
  readonly functions: Record<"api" | "publish" | "deliver", WebhooksFunction>;
  readonly managementApi: ManagementApi;
  readonly ingestRule: events.Rule;
  readonly ingestDeadLetterQueue: sqs.Queue;
  readonly operations: Operations;
  readonly acknowledgements: Acknowledgement[];

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.storage = new Storage(this, "Storage", {
      deletionProtection: config.deletionProtection,
      removalPolicy,
    });
    const { table, deliveryQueue, deadLetterQueue } = this.storage;
    // Unique per stack, so two stages in one account never share (or can read) each other's secrets.
    const secretPrefix = `serverless-webhooks/${this.stackName}/`;

    const shared = {
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: "serverless-webhooks",
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: "ServerlessWebhooks",
        RETRY_SCHEDULE_SECONDS: config.retryScheduleSeconds.join(","),
        ALLOW_HTTP_DESTINATIONS: String(config.allowHttpDestinations),
        ALLOWED_PORTS: config.allowedPorts,
        ALLOW_PRIVATE_DESTINATIONS: config.allowPrivateDestinations ? "loopback" : "none",
        ALLOW_AUTHORIZATION_HEADER: String(config.allowAuthorizationHeader),
        RETENTION_DAYS: String(config.retentionDays),
      },
    };
    const publish = new WebhooksFunction(this, "Publish", {
      ...shared,
      entry: "functions/publish/handler.ts",
      description: "Stores each event once and fans it out to the delivery queue",
      memorySize: 512,
      timeout: Duration.seconds(30),
    })
      .useTable(table, "readWrite")
      .useQueue(deliveryQueue, "DELIVERY_QUEUE_URL", "send")
      .setEnvironment("DEAD_LETTER_QUEUE_URL", deadLetterQueue.queueUrl)
      .setEnvironment("SECRET_NAME_PREFIX", secretPrefix);
    const deliver = new WebhooksFunction(this, "Deliver", {
      ...shared,
      entry: "functions/deliver/handler.ts",
      description: "Signs and POSTs deliveries, retrying through the queue",
      memorySize: 1024,
      timeout: Duration.seconds(deliverFunctionTimeoutSeconds),
    })
      .useTable(table, "readWrite")
      .useQueue(deliveryQueue, "DELIVERY_QUEUE_URL", "consume")
      .useQueue(deadLetterQueue, "DEAD_LETTER_QUEUE_URL", "send")
      .useSecretsUnder(secretPrefix, ["secretsmanager:GetSecretValue"]);
    const api = new WebhooksFunction(this, "Api", {
      ...shared,
      entry: "functions/api/handler.ts",
      description: "Management API: webhooks, deliveries, DLQ",
      memorySize: 512,
      timeout: Duration.seconds(29),
    })
      .useTable(table, "readWrite")
      .useQueue(deliveryQueue, "DELIVERY_QUEUE_URL", "send")
      .useQueue(deadLetterQueue, "DEAD_LETTER_QUEUE_URL", "send+consume")
      .useSecretsUnder(secretPrefix, SECRET_WRITE_ACTIONS);
    this.functions = { api, publish, deliver };

    deliver.function.addEventSource(
      new SqsEventSource(deliveryQueue, {
        batchSize: 10,
        maxBatchingWindow:
          config.batchingWindowSeconds > 0 ? Duration.seconds(config.batchingWindowSeconds) : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: config.maxConcurrency,
      }),
    );

    this.managementApi = new ManagementApi(this, "ManagementApi", {
      targets: { api: api.function, publish: publish.function },
      throttleRatePerSecond: config.apiThrottleRatePerSecond,
      throttleBurst: config.apiThrottleBurst,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
    });

    // Events EventBridge could not hand to publish, and invocations publish could not complete, land here.
    this.ingestDeadLetterQueue = new sqs.Queue(this, "IngestDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    publish.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.ingestDeadLetterQueue),
    });
    const bus = events.EventBus.fromEventBusName(this, "Bus", config.eventBusName);
    this.ingestRule = new events.Rule(this, "IngestRule", {
      description: "Events published to webhooks",
      eventBus: bus,
      eventPattern: (config.eventPattern as events.EventPattern | undefined) ?? {
        source: events.Match.anythingButPrefix("aws."),
      },
      targets: [
        new targets.LambdaFunction(publish.function, {
          deadLetterQueue: this.ingestDeadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.operations = new Operations(this, "Operations", {
      deliveryQueue,
      deadLetterQueue,
      ingestDeadLetterQueue: this.ingestDeadLetterQueue,
      deliver: deliver.function,
      publish: publish.function,
      api: api.function,
      maxMessageAge: Duration.seconds(scheduleSpanSeconds(config) * 1.2 + 3600),
      alarmEmail: config.alarmEmail,
      alarmTopicArn: config.alarmTopicArn,
    });

    this.acknowledgements = acknowledgeFindings(this, secretPrefix);

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output("ApiUrl", this.managementApi.api.url, "Management API base URL (IAM auth, SigV4)");
    output("TableName", table.tableName, "DynamoDB table");
    output("DeliveryQueueUrl", deliveryQueue.queueUrl, "Delivery queue");
    output("DeadLetterQueueUrl", deadLetterQueue.queueUrl, "Delivery DLQ (redrive with POST /dlq/redrive)");
    output(
      "IngestDeadLetterQueueUrl",
      this.ingestDeadLetterQueue.queueUrl,
      "Events that could not be published",
    );
    output("SecretNamePrefix", secretPrefix, "Secrets Manager name prefix of the signing secrets");
    output(
      "DashboardUrl",
      `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.operations.dashboard.dashboardName}`,
      "CloudWatch dashboard",
    );
  }
}
