/**
 * Alarms a pager can trust, an optional SNS topic for them, and a dashboard of the pipeline. Each alarm fires on
 * something arriving or stopping (a rate over a window), never on a state that stays true for days, and each has
 * a runbook entry in docs/operations.md under its name.
 */
import { Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export const METRICS_NAMESPACE = "ServerlessWebhooks";
/** Powertools adds this `service` dimension to every metric the functions emit. */
const SERVICE_DIMENSION = { service: "serverless-webhooks" };

export interface OperationsProps {
  readonly deliveryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly ingestQueue: sqs.IQueue;
  readonly ingestDeadLetterQueue: sqs.IQueue;
  readonly deliver: lambda.IFunction;
  readonly publish: lambda.IFunction;
  readonly api: lambda.IFunction;
  readonly reconcile: lambda.IFunction;
  readonly restApi: apigateway.RestApi;
  readonly alarmEmail?: string | undefined;
  readonly alarmTopicArn?: string | undefined;
}

/** The alarms, by name; docs/operations.md has a runbook section for each (the infra test checks it). */
export type AlarmName =
  | "DeadLettersArriving"
  | "IngestDeadLettersArriving"
  | "IngestQueueBacklog"
  | "DeliveryConsumerStalled"
  | "ApiServerErrors"
  | "PublishFailures"
  | "LambdaThrottles"
  | "StrandedWorkFound"
  | "UnroutableEvents"
  | "ReconcilerErrors"
  | "DeliverErrors"
  | "DeliveryFailureRate";

const metric = (
  name: string,
  statistic: string,
  period: Duration,
  dimensions: Record<string, string> = SERVICE_DIMENSION,
) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    statistic,
    dimensionsMap: dimensions,
    period,
  });

const FIVE_MINUTES = Duration.minutes(5);
const { GREATER_THAN_THRESHOLD: ABOVE, GREATER_THAN_OR_EQUAL_TO_THRESHOLD: AT_LEAST } =
  cloudwatch.ComparisonOperator;

export class Operations extends Construct {
  readonly alarms: Partial<Record<AlarmName, cloudwatch.Alarm>> = {};
  readonly dashboard: cloudwatch.Dashboard;
  readonly topic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    if (props.alarmTopicArn) {
      this.topic = sns.Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn);
    } else if (props.alarmEmail) {
      const topic = new sns.Topic(this, "AlarmTopic", {
        displayName: "Serverless Webhooks alarms",
        enforceSSL: true,
        masterKey: undefined,
      });
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      this.topic = topic;
    }

    const alarm = (
      name: AlarmName,
      description: string,
      options: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric },
    ) => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmDescription: `${description} Runbook: docs/operations.md#${name.toLowerCase()}`,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      if (this.topic) {
        created.addAlarmAction(new actions.SnsAction(this.topic));
        created.addOkAction(new actions.SnsAction(this.topic));
      }
      this.alarms[name] = created;
      return created;
    };

    // NumberOfMessagesSent counts what the deliver function sends to the DLQ (every exhausted or permanent
    // failure); it returns to 0 as soon as letters stop arriving, whatever still sits in the queue.
    alarm(
      "DeadLettersArriving",
      "At least 10 deliveries were dead-lettered within 15 minutes: many endpoints failing at once, or a systemic fault.",
      {
        metric: props.deadLetterQueue.metricNumberOfMessagesSent({
          period: Duration.minutes(15),
          statistic: "Sum",
        }),
        threshold: 10,
        comparisonOperator: AT_LEAST,
        evaluationPeriods: 1,
      },
    );
    alarm(
      "IngestDeadLettersArriving",
      "Events from EventBridge were not published and arrived in the ingest DLQ: kept by publish with a reason (unroutable, malformed, refused data), moved there after the ingest queue's receives ran out, or put there by EventBridge when it could not reach the ingest queue.",
      {
        metric: props.ingestDeadLetterQueue.metricNumberOfMessagesSent({
          period: FIVE_MINUTES,
          statistic: "Sum",
        }),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 1,
      },
    );
    // Normally an event waits seconds in the ingest queue; a record that keeps failing leaves it for the DLQ after
    // 5 receives (about 15 minutes). Older than 20 minutes: publish is not taking the queue (stopped, throttled,
    // or capped by ingestMaxConcurrency below the arrival rate).
    alarm(
      "IngestQueueBacklog",
      "The oldest event in the ingest queue has waited more than 20 minutes: the publish function is not keeping up with EventBridge, or its event source mapping has stopped.",
      {
        metric: props.ingestQueue.metricApproximateAgeOfOldestMessage({
          period: FIVE_MINUTES,
          statistic: "Maximum",
        }),
        threshold: 20 * 60,
        comparisonOperator: ABOVE,
        evaluationPeriods: 1,
      },
    );
    // A message waiting out a retry delay is in flight (not visible), however long the schedule; a visible one is
    // due now. Due work that nobody receives for ten whole minutes is a stalled consumer.
    alarm(
      "DeliveryConsumerStalled",
      "Deliveries are due in the delivery queue but none was received for 10 minutes: the deliver function or its event source mapping has stopped.",
      {
        metric: new cloudwatch.MathExpression({
          expression: "IF(visible > 0 AND FILL(received, 0) == 0, 1, 0)",
          usingMetrics: {
            visible: props.deliveryQueue.metricApproximateNumberOfMessagesVisible({
              period: Duration.minutes(1),
              statistic: "Minimum",
            }),
            received: props.deliveryQueue.metricNumberOfMessagesReceived({
              period: Duration.minutes(1),
              statistic: "Sum",
            }),
          },
          label: "Due deliveries with no receive (1 = stalled)",
          period: Duration.minutes(1),
        }),
        threshold: 1,
        comparisonOperator: AT_LEAST,
        evaluationPeriods: 10,
        datapointsToAlarm: 10,
      },
    );
    alarm(
      "ApiServerErrors",
      "The management API answered 5xx at least 5 times in 5 minutes (a function error, timeout or an AWS dependency failing).",
      {
        metric: props.restApi.deploymentStage.metricServerError({ period: FIVE_MINUTES, statistic: "Sum" }),
        threshold: 5,
        comparisonOperator: AT_LEAST,
        evaluationPeriods: 1,
      },
    );
    alarm(
      "PublishFailures",
      "Events could not be stored or enqueued at least 3 times in 5 minutes, through POST /events (callers got 5xx) or EventBridge (the ingest queue retries, then the ingest DLQ).",
      {
        metric: new cloudwatch.MathExpression({
          expression: "FILL(api, 0) + FILL(eventbridge, 0)",
          usingMetrics: {
            api: metric("PublishFailures", "Sum", FIVE_MINUTES, { ...SERVICE_DIMENSION, ingest: "api" }),
            eventbridge: metric("PublishFailures", "Sum", FIVE_MINUTES, {
              ...SERVICE_DIMENSION,
              ingest: "eventbridge",
            }),
          },
          label: "Publish failures (both ingest paths)",
          period: FIVE_MINUTES,
        }),
        threshold: 3,
        comparisonOperator: AT_LEAST,
        evaluationPeriods: 1,
      },
    );
    alarm(
      "LambdaThrottles",
      "A function was throttled in two consecutive 5-minute periods (account concurrency exhausted, or a reserved concurrency too low).",
      {
        metric: new cloudwatch.MathExpression({
          expression: "FILL(api, 0) + FILL(publish, 0) + FILL(deliver, 0) + FILL(reconcile, 0)",
          usingMetrics: {
            api: props.api.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
            publish: props.publish.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
            deliver: props.deliver.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
            reconcile: props.reconcile.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
          },
          label: "Throttled invocations (all functions)",
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
      },
    );
    alarm(
      "StrandedWorkFound",
      "The reconciler found accepted work that no queue held (a delivery or fan-out stranded by a crash) and re-enqueued it.",
      {
        metric: metric("StrandedWorkFound", "Sum", Duration.minutes(15)),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 1,
      },
    );
    alarm(
      "UnroutableEvents",
      "EventBridge events arrived that no tenant can take (no tenant id, an invalid one, or an unknown tenant); each is kept in the ingest DLQ with the reason.",
      {
        metric: new cloudwatch.MathExpression({
          expression: "FILL(missing, 0) + FILL(invalid, 0) + FILL(unknown, 0)",
          usingMetrics: {
            missing: metric("UnroutableEvents", "Sum", FIVE_MINUTES, {
              ...SERVICE_DIMENSION,
              reason: "missing_tenant",
            }),
            invalid: metric("UnroutableEvents", "Sum", FIVE_MINUTES, {
              ...SERVICE_DIMENSION,
              reason: "invalid_tenant",
            }),
            unknown: metric("UnroutableEvents", "Sum", FIVE_MINUTES, {
              ...SERVICE_DIMENSION,
              reason: "unknown_tenant",
            }),
          },
          label: "Unroutable EventBridge events",
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 1,
      },
    );
    alarm(
      "ReconcilerErrors",
      "The reconciler failed in two consecutive 15-minute windows: stranded work is not being re-enqueued.",
      {
        metric: props.reconcile.metricErrors({ period: Duration.minutes(15), statistic: "Sum" }),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
      },
    );
    alarm(
      "DeliverErrors",
      "The deliver function failed whole invocations in two consecutive 5-minute periods (a crash or timeout, not a receiver's failure).",
      {
        metric: props.deliver.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
        threshold: 0,
        comparisonOperator: ABOVE,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
      },
    );
    alarm(
      "DeliveryFailureRate",
      "More than half of the delivery attempts failed in each of three 5-minute periods (at least 20 attempts each).",
      {
        metric: new cloudwatch.MathExpression({
          expression: "IF(total > 20, 100 * failures / total, 0)",
          usingMetrics: {
            failures: metric("DeliveryAttemptFailures", "Sum", FIVE_MINUTES),
            total: metric("DeliveryAttemptsTotal", "Sum", FIVE_MINUTES),
          },
          label: "Failed attempts (%)",
          period: FIVE_MINUTES,
        }),
        threshold: 50,
        comparisonOperator: ABOVE,
        evaluationPeriods: 3,
      },
    );

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: Object.values(this.alarms),
        width: 24,
      }),
      new cloudwatch.GraphWidget({
        title: "Delivery attempts by outcome",
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,outcome} MetricName="DeliveryAttempts"', 'Sum', 300)`,
            label: "",
            period: FIVE_MINUTES,
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Delivery latency (ms)",
        left: ["p50", "p90", "p99"].map((statistic) =>
          metric("DeliveryLatency", statistic, FIVE_MINUTES).with({ label: statistic }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Delivery queue: due, in flight (retrying), received",
        left: [
          props.deliveryQueue.metricApproximateNumberOfMessagesVisible(),
          props.deliveryQueue.metricApproximateNumberOfMessagesNotVisible(),
        ],
        right: [props.deliveryQueue.metricNumberOfMessagesReceived({ statistic: "Sum" })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Ingest queue (EventBridge → publish): waiting, received; oldest (s)",
        left: [
          props.ingestQueue.metricApproximateNumberOfMessagesVisible(),
          props.ingestQueue.metricNumberOfMessagesReceived({ statistic: "Sum" }),
        ],
        right: [props.ingestQueue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum" })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Dead letters arriving, and waiting",
        left: [
          props.deadLetterQueue.metricNumberOfMessagesSent({ statistic: "Sum" }),
          props.ingestDeadLetterQueue.metricNumberOfMessagesSent({ statistic: "Sum" }),
        ],
        right: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
          props.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Fan-out per event, and publish failures",
        left: [metric("FanOutSize", "Average", FIVE_MINUTES), metric("FanOutSize", "Maximum", FIVE_MINUTES)],
        right: [
          metric("EventsPublished", "Sum", FIVE_MINUTES),
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,ingest} MetricName="PublishFailures"', 'Sum', 300)`,
            label: "",
            period: FIVE_MINUTES,
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Management API",
        left: [
          props.restApi.deploymentStage.metricServerError({ statistic: "Sum" }),
          props.restApi.deploymentStage.metricClientError({ statistic: "Sum" }),
        ],
        right: [props.restApi.deploymentStage.metricLatency({ statistic: "p99" })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Functions",
        left: [
          props.deliver.metricErrors(),
          props.publish.metricErrors(),
          props.api.metricErrors(),
          props.reconcile.metricErrors(),
          props.deliver.metricThrottles(),
          props.publish.metricThrottles(),
          props.api.metricThrottles(),
          props.reconcile.metricThrottles(),
        ],
        right: [props.deliver.metricDuration({ statistic: "p99" })],
        width: 12,
      }),
    );
  }
}
