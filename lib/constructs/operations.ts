/**
 * Alarms (DLQ not empty, oldest message too old, deliver errors and throttles, publish errors, failure rate),
 * an optional SNS topic for them, and a dashboard of the pipeline.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export const METRICS_NAMESPACE = "ServerlessWebhooks";

export interface OperationsProps {
  readonly deliveryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly ingestDeadLetterQueue: sqs.IQueue;
  readonly deliver: lambda.IFunction;
  readonly publish: lambda.IFunction;
  readonly api: lambda.IFunction;
  /** Oldest-message alarm threshold: the retry schedule's span plus a margin. */
  readonly maxMessageAge: Duration;
  readonly alarmEmail?: string | undefined;
  readonly alarmTopicArn?: string | undefined;
}

const metric = (
  name: string,
  statistic: string,
  dimensions: Record<string, string> = { service: "serverless-webhooks" },
) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    statistic,
    dimensionsMap: dimensions,
    period: Duration.minutes(5),
  });

export class Operations extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
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
      name: string,
      description: string,
      options: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric },
    ) => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      if (this.topic) created.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };

    alarm(
      "DeadLettersPresent",
      "Deliveries were exhausted or failed permanently and wait in the DLQ for a redrive.",
      {
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: "Maximum",
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
    );
    alarm("IngestFailures", "Events from EventBridge could not be published and wait in the ingest DLQ.", {
      metric: props.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: "Maximum",
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm(
      "OldestDeliveryTooOld",
      "A delivery message is older than the whole retry schedule: the deliver function is not keeping up.",
      {
        metric: props.deliveryQueue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: "Maximum",
        }),
        threshold: props.maxMessageAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      },
    );
    alarm("DeliverErrors", "The deliver function failed whole invocations.", {
      metric: props.deliver.metricErrors({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });
    alarm(
      "DeliverThrottles",
      "The deliver function is throttled (account concurrency or maxConcurrency too low).",
      {
        metric: props.deliver.metricThrottles({ period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      },
    );
    alarm(
      "PublishErrors",
      "The publish function failed invocations (callers get 5xx; EventBridge retries).",
      {
        metric: props.publish.metricErrors({ period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
    );
    const failureRate = new cloudwatch.MathExpression({
      expression: "IF(total > 20, 100 * failures / total, 0)",
      usingMetrics: {
        failures: metric("DeliveryAttemptFailures", "Sum"),
        total: metric("DeliveryAttemptsTotal", "Sum"),
      },
      label: "Failed attempts (%)",
      period: Duration.minutes(5),
    });
    alarm(
      "DeliveryFailureRate",
      "More than half of the delivery attempts failed over 15 minutes (at least 20 attempts).",
      {
        metric: failureRate,
        threshold: 50,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      },
    );

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Delivery attempts by outcome",
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,outcome} MetricName="DeliveryAttempts"', 'Sum', 300)`,
            label: "",
            period: Duration.minutes(5),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Delivery latency (ms)",
        left: ["p50", "p90", "p99"].map((statistic) =>
          metric("DeliveryLatency", statistic).with({ label: statistic }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Delivery queue depth and age",
        left: [
          props.deliveryQueue.metricApproximateNumberOfMessagesVisible(),
          props.deliveryQueue.metricApproximateNumberOfMessagesNotVisible(),
        ],
        right: [props.deliveryQueue.metricApproximateAgeOfOldestMessage()],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "DLQ depth",
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
          props.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Fan-out per event",
        left: [metric("FanOutSize", "Average"), metric("FanOutSize", "Maximum")],
        right: [metric("EventsPublished", "Sum")],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Functions",
        left: [
          props.deliver.metricErrors(),
          props.publish.metricErrors(),
          props.api.metricErrors(),
          props.deliver.metricThrottles(),
        ],
        right: [props.deliver.metricDuration({ statistic: "p99" })],
        width: 12,
      }),
    );
  }
}
