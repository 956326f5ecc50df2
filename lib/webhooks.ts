/**
 * The platform as one construct, for any CDK app: the table and queues (from the shared definitions), four
 * functions, the management API, the EventBridge ingest rule and queue, the reconciler's schedule, alarms and a dashboard,
 * least-privilege and observable. `import { Webhooks } from "serverless-webhooks/cdk"`; this repository's own app
 * (`lib/stack.ts`) is one stack holding it.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  deliverFunctionTimeoutSeconds,
  ingestQueue as ingestQueueDefinition,
  KEK_SECRET_SUFFIX,
  publishFunctionTimeoutSeconds,
  RECONCILE_INTERVAL_MINUTES,
} from "#core/shared/resource-definitions.ts";
import { ManagementApi } from "./constructs/management-api.ts";
import { Operations } from "./constructs/operations.ts";
import { Portal } from "./constructs/portal.ts";
import { queueProps, Storage } from "./constructs/storage.ts";
import { WebhooksFunction } from "./constructs/webhooks-function.ts";
import { functionAccessFor } from "./function-access.ts";
import { type Acknowledgement, acknowledgeFindings } from "./nag/acknowledgements.ts";
import { ingestEventPattern, parseWebhooksProps, type WebhooksProps } from "./stack-config.ts";

export type { WebhooksProps } from "./stack-config.ts";

/** A value the deployment exposes (the app's stack turns each into a CloudFormation output of that name). */
export interface WebhooksOutput {
  readonly value: string;
  readonly description: string;
}

export class Webhooks extends Construct {
  readonly storage: Storage;
  /** Sealed secret storage only: the one key-encryption key. */
  readonly keyEncryptionKey: secretsmanager.Secret | undefined;
  readonly functions: Record<"api" | "publish" | "deliver" | "reconcile" | "portal", WebhooksFunction>;
  readonly portal: Portal;
  readonly managementApi: ManagementApi;
  /** Absent unless `eventSources` names what to forward. */
  readonly ingestRule: events.Rule | undefined;
  /** Where every rule of `routeEvents()` puts its events; publish takes them in batches. */
  readonly ingestQueue: sqs.Queue;
  readonly ingestDeadLetterQueue: sqs.Queue;
  readonly operations: Operations;
  readonly acknowledgements: Acknowledgement[];
  readonly reconcileSchedule: events.Rule;
  /** `ApiUrl`, `TableName`, the queues, log groups, …: what `cdk-outputs.json` holds for `npm run api`. */
  readonly outputs: Readonly<Record<string, WebhooksOutput>>;

  /** Props are validated like CDK context: a bad value throws, naming the prop. */
  constructor(scope: Construct, id: string, props: WebhooksProps = {}) {
    super(scope, id);
    const config = parseWebhooksProps(props);
    const stack = Stack.of(this);
    const removalPolicy = config.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.storage = new Storage(this, "Storage", {
      deletionProtection: config.deletionProtection,
      removalPolicy,
    });
    const { table, deliveryQueue, deadLetterQueue } = this.storage;
    // Unique per stack, so two stages in one account never share (or can read) each other's secrets.
    const secretPrefix = `serverless-webhooks/${stack.stackName}/`;

    // Ingested events that were not published: kept by publish with a reason (unroutable, malformed), moved by
    // the ingest queue's redrive after its receives ran out, or put by EventBridge when it could not reach the
    // ingest queue.
    this.ingestDeadLetterQueue = new sqs.Queue(this, "IngestDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    // EventBridge rules → this queue → publish in batches of up to 10 (one way in for every rule).
    this.ingestQueue = new sqs.Queue(this, "IngestQueue", {
      ...queueProps(ingestQueueDefinition),
      deadLetterQueue: {
        queue: this.ingestDeadLetterQueue,
        maxReceiveCount: ingestQueueDefinition.maxReceiveCount,
      },
    });

    const resources = {
      table,
      deliveryQueue,
      deadLetterQueue,
      ingestQueue: this.ingestQueue,
      ingestDeadLetterQueue: this.ingestDeadLetterQueue,
      secretPrefix,
      operationalEventBusName: config.operationalEventBusName,
    };
    const functionAccess = functionAccessFor(config.secretStorage);
    // Sealed storage: one key-encryption key for every webhook's secret (docs/secrets.md). Kept if the stack is
    // deleted: without it no sealed secret opens again.
    this.keyEncryptionKey =
      config.secretStorage === "sealed"
        ? new secretsmanager.Secret(this, "KeyEncryptionKey", {
            secretName: `${secretPrefix}${KEK_SECRET_SUFFIX}`,
            description: "Key-encryption key of the sealed webhook signing secrets",
            generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : undefined;

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
        MAX_WEBHOOKS_PER_TENANT: String(config.maxWebhooksPerTenant),
        SECRET_STORAGE: config.secretStorage,
      },
    };
    const publish = new WebhooksFunction(this, "Publish", {
      ...shared,
      entry: "functions/publish/handler.ts",
      description: "Stores each event once and fans it out to the delivery queue",
      memorySize: 512,
      timeout: Duration.seconds(publishFunctionTimeoutSeconds),
    })
      .useResources(functionAccess.publish, resources)
      .setEnvironment("TENANT_ID_PATH", config.tenantIdPath);
    if (config.defaultTenantId) publish.setEnvironment("DEFAULT_TENANT_ID", config.defaultTenantId);
    const deliver = new WebhooksFunction(this, "Deliver", {
      ...shared,
      entry: "functions/deliver/handler.ts",
      description: "Signs and POSTs deliveries, retrying through the queue",
      memorySize: 1024,
      timeout: Duration.seconds(deliverFunctionTimeoutSeconds),
    })
      .useResources(functionAccess.deliver, resources)
      .setEnvironment("CIRCUIT_WINDOW_SECONDS", String(config.circuitWindowSeconds))
      .setEnvironment("CIRCUIT_MIN_ATTEMPTS", String(config.circuitMinAttempts))
      .setEnvironment("CIRCUIT_FAILURE_PERCENT", String(config.circuitFailurePercent))
      .setEnvironment("CIRCUIT_PROBE_INTERVAL_SECONDS", String(config.circuitProbeIntervalSeconds))
      .setEnvironment("AUTO_DISABLE_AFTER_SECONDS", String(Math.round(config.autoDisableAfterDays * 86_400)));
    const api = new WebhooksFunction(this, "Api", {
      ...shared,
      entry: "functions/api/handler.ts",
      description: "Management API: webhooks, deliveries, DLQ",
      memorySize: 512,
      timeout: Duration.seconds(29),
    })
      .useResources(functionAccess.api, resources)
      .setEnvironment("STRICT_EVENT_TYPES", String(config.strictEventTypes));
    // Every RECONCILE_INTERVAL_MINUTES: re-enqueue live work that nothing will come for (docs/delivery.md).
    const reconcile = new WebhooksFunction(this, "Reconcile", {
      ...shared,
      entry: "functions/reconcile/handler.ts",
      description: "Re-enqueues stranded deliveries and unfinished fan-outs",
      memorySize: 512,
      timeout: Duration.seconds(120),
    }).useResources(functionAccess.reconcile, resources);
    this.reconcileSchedule = new events.Rule(this, "ReconcileSchedule", {
      description: "Runs the reconciler",
      schedule: events.Schedule.rate(Duration.minutes(RECONCILE_INTERVAL_MINUTES)),
      targets: [new targets.LambdaFunction(reconcile.function, { retryAttempts: 0 })],
    });
    // The customer portal: its own function (the management routes on one tenant's data, reached with a token,
    // and the session routes the management API sends it), its own API, page bucket and distribution.
    this.portal = new Portal(this, "CustomerPortal", {
      throttleRatePerSecond: config.portalThrottleRatePerSecond,
      throttleBurst: config.portalThrottleBurst,
      logRetentionDays: config.logRetentionDays,
      removalPolicy,
    });
    const portal = new WebhooksFunction(this, "Portal", {
      ...shared,
      entry: "functions/portal/handler.ts",
      description: "Customer portal API and portal sessions",
      memorySize: 512,
      timeout: Duration.seconds(29),
    })
      .useResources(functionAccess.portal, { ...resources, portalKey: this.portal.keySet })
      .setEnvironment("PORTAL_URL", this.portal.url)
      .setEnvironment("PORTAL_RATE_PER_SECOND", String(config.portalTenantRatePerSecond))
      .setEnvironment("PORTAL_BURST", String(config.portalTenantBurst));
    this.portal.addRoutes(portal.function);
    this.functions = { api, publish, deliver, reconcile, portal };

    // A plain mapping rather than SqsEventSource, which would also grant sqs:GetQueueUrl: the role already holds
    // exactly the mapping's three actions (functionAccess.deliver).
    new lambda.EventSourceMapping(deliver, "EventSource", {
      target: deliver.function,
      eventSourceArn: deliveryQueue.queueArn,
      batchSize: config.deliverBatchSize,
      maxBatchingWindow:
        config.batchingWindowSeconds > 0 ? Duration.seconds(config.batchingWindowSeconds) : undefined,
      reportBatchItemFailures: true,
      maxConcurrency: config.maxConcurrency,
    });
    // The ingest queue's records in batches of 10; a record that failed for a passing reason is reported alone
    // (batchItemFailures) and comes back after the visibility timeout. Plain mapping, as above.
    new lambda.EventSourceMapping(publish, "IngestEventSource", {
      target: publish.function,
      eventSourceArn: this.ingestQueue.queueArn,
      batchSize: 10,
      maxBatchingWindow:
        config.ingestBatchingWindowSeconds > 0
          ? Duration.seconds(config.ingestBatchingWindowSeconds)
          : undefined,
      reportBatchItemFailures: true,
      maxConcurrency: config.ingestMaxConcurrency,
    });

    this.managementApi = new ManagementApi(this, "ManagementApi", {
      targets: { api: api.function, publish: publish.function, portal: portal.function },
      throttleRatePerSecond: config.apiThrottleRatePerSecond,
      throttleBurst: config.apiThrottleBurst,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
    });

    // Only what was asked for: exact sources (and detail-types), never "everything but aws.*" on a shared bus.
    const pattern = ingestEventPattern(config);
    if (pattern) {
      this.ingestRule = this.routeEvents(
        "IngestRule",
        pattern,
        events.EventBus.fromEventBusName(this, "Bus", config.eventBusName),
      );
    }

    this.operations = new Operations(this, "Operations", {
      deliveryQueue,
      deadLetterQueue,
      ingestQueue: this.ingestQueue,
      ingestDeadLetterQueue: this.ingestDeadLetterQueue,
      deliver: deliver.function,
      publish: publish.function,
      api: api.function,
      reconcile: reconcile.function,
      restApi: this.managementApi.api,
      alarmEmail: config.alarmEmail,
      alarmTopicArn: config.alarmTopicArn,
    });

    this.acknowledgements = acknowledgeFindings(this, secretPrefix);

    const outputs: Record<string, WebhooksOutput> = {};
    const output = (name: string, value: string, description: string) => {
      outputs[name] = { value, description };
    };
    // No trailing slash, so "$API/webhooks" is a path the API has (API Gateway's own url ends in "/v1/").
    const { api: restApi } = this.managementApi;
    output(
      "ApiUrl",
      `https://${restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${restApi.deploymentStage.stageName}`,
      "Management API base URL (IAM auth, SigV4), without a trailing slash",
    );
    output("TableName", table.tableName, "DynamoDB table");
    output("DeliveryQueueUrl", deliveryQueue.queueUrl, "Delivery queue");
    output("DeadLetterQueueUrl", deadLetterQueue.queueUrl, "Delivery DLQ (redrive with POST /dlq/redrive)");
    output("IngestQueueUrl", this.ingestQueue.queueUrl, "EventBridge events on their way to publish");
    output(
      "IngestDeadLetterQueueUrl",
      this.ingestDeadLetterQueue.queueUrl,
      "Events that could not be published",
    );
    output("SecretNamePrefix", secretPrefix, "Secrets Manager name prefix of the signing secrets");
    output(
      "DashboardUrl",
      `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards:name=${this.operations.dashboard.dashboardName}`,
      "CloudWatch dashboard",
    );
    // The runbook's Logs Insights queries name these (docs/operations.md).
    output("ApiLogGroup", api.logGroup.logGroupName, "Logs of the api function");
    output("PublishLogGroup", publish.logGroup.logGroupName, "Logs of the publish function");
    output("DeliverLogGroup", deliver.logGroup.logGroupName, "Logs of the deliver function");
    output("ReconcileLogGroup", reconcile.logGroup.logGroupName, "Logs of the reconcile function");
    output("PortalLogGroup", portal.logGroup.logGroupName, "Logs of the portal function");
    output("PortalUrl", this.portal.url, "Customer portal (mint a link: POST /tenants/{id}/portal-sessions)");
    output(
      "PortalKeySecretArn",
      this.portal.keySet.secretArn,
      "The portal's signing key set (docs/portal.md)",
    );
    output("ApiAccessLogGroup", this.managementApi.accessLogs.logGroupName, "API Gateway access logs");
    if (pattern)
      output(
        "IngestEventPattern",
        JSON.stringify(pattern),
        `EventBridge pattern on bus ${config.eventBusName}`,
      );
    this.outputs = outputs;
  }

  /**
   * Publishes the events matching `pattern` on `bus` (the account's default bus unless given) as webhook events:
   * the rule puts them in the ingest queue (retrying for up to a day, then the ingest DLQ), which publish takes
   * in batches. The tenant comes from `tenantIdPath`, or is `defaultTenantId` for events that name none (an AWS
   * service's). Each rule adds a queue-policy statement letting EventBridge send for that rule's ARN only.
   */
  routeEvents(id: string, pattern: events.EventPattern, bus?: events.IEventBus): events.Rule {
    return new events.Rule(this, id, {
      description: "Events published to webhooks",
      ...(bus ? { eventBus: bus } : {}),
      eventPattern: pattern,
      targets: [
        new targets.SqsQueue(this.ingestQueue, {
          deadLetterQueue: this.ingestDeadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
