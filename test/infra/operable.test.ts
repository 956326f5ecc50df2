/**
 * What the synthesized template grants, alarms on and forwards, read as an operator would: every assertion is a
 * literal, so a broader grant, a changed alarm or a wider EventBridge pattern fails here first.
 */
import { readFileSync } from "node:fs";
import type { Template } from "aws-cdk-lib/assertions";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestModels } from "#core/http/request-models.ts";
import { parseConfig } from "#core/shared/config.ts";
import { RECONCILE_INTERVAL_MINUTES } from "#core/shared/resource-definitions.ts";
import { createApp } from "#lib/app.ts";
import type { AlarmName } from "#lib/constructs/operations.ts";
import { functionAccess } from "#lib/function-access.ts";
import { stackConfigFromContext } from "#lib/stack-config.ts";
import { type Resource, readable, removeSynthOutput, synthesize, withoutHash } from "#test/support/synth.ts";
import { alarmsIn } from "../../bench/cost.ts";

let synthesized: ReturnType<typeof synthesize>;
let template: Template;
let resources: [string, Resource][];

beforeAll(() => {
  synthesized = synthesize();
  if (!synthesized.template) throw new Error(`synth failed: ${String(synthesized.error)}`);
  template = synthesized.template;
  resources = synthesized.resources;
});
afterAll(removeSynthOutput);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

type Role = "Api" | "Publish" | "Deliver" | "Reconcile" | "Portal";

/** `Allow <resource> <action>` lines of one function role's policies, every statement split per action. */
function grantsOf(role: Role): string[] {
  const policies = resources.filter(
    ([, resource]) =>
      resource.Type === "AWS::IAM::Policy" &&
      JSON.stringify(readable(resource.Properties?.Roles)) === JSON.stringify([`${role}Role`]),
  );
  return policies
    .flatMap(
      ([, policy]) =>
        (policy.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
    )
    .flatMap((statement) =>
      [statement.Action].flat().flatMap((action) =>
        [statement.Resource].flat().map((resource) => {
          const where = String(readable(resource)).replace(
            "arn:AWS::Partition:secretsmanager:AWS::Region:AWS::AccountId:secret:serverless-webhooks/ServerlessWebhooks-test/*",
            "<stack secrets>",
          );
          const condition = statement.Condition ? ` if ${JSON.stringify(statement.Condition)}` : "";
          return `${statement.Effect} ${where} ${action}${condition}`;
        }),
      ),
    )
    .sort();
}

const XRAY = ["Allow * xray:PutTelemetryRecords", "Allow * xray:PutTraceSegments"];
const logs = (role: string) => [
  `Allow ${role}Logs.Arn logs:CreateLogStream`,
  `Allow ${role}Logs.Arn logs:PutLogEvents`,
];

describe("least privilege, per function, by action and resource", () => {
  it("publish: writes events, queries the subscription items on the table's own key (no index), enqueues", () => {
    expect(grantsOf("Publish")).toEqual(
      [
        ...logs("Publish"),
        ...XRAY,
        // A resumed fan-out reads which of its deliveries already exist.
        "Allow StorageWebhooks.Arn dynamodb:BatchGetItem",
        "Allow StorageWebhooks.Arn dynamodb:GetItem",
        "Allow StorageWebhooks.Arn dynamodb:PutItem",
        "Allow StorageWebhooks.Arn dynamodb:Query",
        "Allow StorageWebhooks.Arn dynamodb:UpdateItem",
        "Allow StorageDeliveryQueue.Arn sqs:SendMessage",
        // The ingest queue's event source mapping (AWS's documented three for an SQS trigger).
        "Allow IngestQueue.Arn sqs:DeleteMessage",
        "Allow IngestQueue.Arn sqs:GetQueueAttributes",
        "Allow IngestQueue.Arn sqs:ReceiveMessage",
        // Where publish keeps EventBridge events it cannot publish (with the reason).
        "Allow IngestDeadLetterQueue.Arn sqs:SendMessage",
      ].sort(),
    );
  });

  it("deliver: reads configs and the batch, writes attempts, consumes the queue, dead-letters, reads secrets", () => {
    expect(grantsOf("Deliver")).toEqual(
      [
        ...logs("Deliver"),
        ...XRAY,
        "Allow StorageWebhooks.Arn dynamodb:BatchGetItem",
        "Allow StorageWebhooks.Arn dynamodb:GetItem",
        "Allow StorageWebhooks.Arn dynamodb:PutItem",
        "Allow StorageWebhooks.Arn dynamodb:UpdateItem",
        "Allow arn:AWS::Partition:events:AWS::Region:AWS::AccountId:event-bus/default events:PutEvents",
        "Allow StorageDeliveryQueue.Arn sqs:ChangeMessageVisibility",
        "Allow StorageDeliveryQueue.Arn sqs:SendMessage",
        "Allow StorageDeliveryQueue.Arn sqs:DeleteMessage",
        "Allow StorageDeliveryQueue.Arn sqs:GetQueueAttributes",
        "Allow StorageDeliveryQueue.Arn sqs:ReceiveMessage",
        "Allow StorageDeliveryDeadLetterQueue.Arn sqs:SendMessage",
        "Allow <stack secrets> secretsmanager:GetSecretValue",
      ].sort(),
    );
  });

  it("reconcile: queries the due index (gsi3) and the table's own key, re-enqueues; no DLQ, no secrets, no other index", () => {
    expect(grantsOf("Reconcile")).toEqual(
      [
        ...logs("Reconcile"),
        ...XRAY,
        "Allow StorageWebhooks.Arn dynamodb:BatchGetItem",
        "Allow StorageWebhooks.Arn dynamodb:GetItem",
        "Allow StorageWebhooks.Arn dynamodb:PutItem",
        "Allow StorageWebhooks.Arn dynamodb:Query",
        "Allow StorageWebhooks.Arn dynamodb:UpdateItem",
        "Allow StorageWebhooks.Arn/index/gsi3 dynamodb:Query",
        "Allow StorageDeliveryQueue.Arn sqs:SendMessage",
      ].sort(),
    );
  });

  it("api: queries exactly gsi1, gsi2 and gsi4, manages secrets on the stack prefix, deletes them only with a recovery window", () => {
    expect(grantsOf("Api")).toEqual(
      [
        ...logs("Api"),
        ...XRAY,
        "Allow StorageWebhooks.Arn dynamodb:BatchGetItem",
        "Allow StorageWebhooks.Arn dynamodb:BatchWriteItem",
        "Allow StorageWebhooks.Arn dynamodb:DeleteItem",
        "Allow StorageWebhooks.Arn dynamodb:GetItem",
        "Allow StorageWebhooks.Arn dynamodb:PutItem",
        "Allow StorageWebhooks.Arn dynamodb:Query",
        "Allow StorageWebhooks.Arn dynamodb:UpdateItem",
        "Allow StorageWebhooks.Arn/index/gsi1 dynamodb:Query",
        "Allow StorageWebhooks.Arn/index/gsi2 dynamodb:Query",
        "Allow StorageWebhooks.Arn/index/gsi4 dynamodb:Query",
        "Allow arn:AWS::Partition:events:AWS::Region:AWS::AccountId:event-bus/default events:PutEvents",
        "Allow StorageDeliveryQueue.Arn sqs:SendMessage",
        "Allow StorageDeliveryDeadLetterQueue.Arn sqs:ChangeMessageVisibility",
        "Allow StorageDeliveryDeadLetterQueue.Arn sqs:DeleteMessage",
        "Allow StorageDeliveryDeadLetterQueue.Arn sqs:GetQueueAttributes",
        "Allow StorageDeliveryDeadLetterQueue.Arn sqs:ReceiveMessage",
        "Allow <stack secrets> secretsmanager:CreateSecret",
        "Allow <stack secrets> secretsmanager:PutSecretValue",
        "Allow <stack secrets> secretsmanager:TagResource",
        'Allow <stack secrets> secretsmanager:DeleteSecret if {"NumericGreaterThanEquals":{"secretsmanager:RecoveryWindowInDays":7}}',
        'Deny <stack secrets> secretsmanager:DeleteSecret if {"Bool":{"secretsmanager:ForceDeleteWithoutRecovery":"true"}}',
      ].sort(),
    );
  });

  it("portal: the api's tenant-data grants minus the DLQ and BatchWriteItem, plus reading its own key set by ARN", () => {
    // A rotation or a manual disable through the portal is told on the operational-event bus, like the api's.
    expect(grantsOf("Portal")).toEqual(
      [
        ...logs("Portal"),
        ...XRAY,
        "Allow StorageWebhooks.Arn dynamodb:BatchGetItem",
        "Allow StorageWebhooks.Arn dynamodb:DeleteItem",
        "Allow StorageWebhooks.Arn dynamodb:GetItem",
        "Allow StorageWebhooks.Arn dynamodb:PutItem",
        "Allow StorageWebhooks.Arn dynamodb:Query",
        "Allow StorageWebhooks.Arn dynamodb:UpdateItem",
        "Allow StorageWebhooks.Arn/index/gsi1 dynamodb:Query",
        "Allow StorageWebhooks.Arn/index/gsi2 dynamodb:Query",
        "Allow StorageWebhooks.Arn/index/gsi4 dynamodb:Query",
        "Allow StorageDeliveryQueue.Arn sqs:SendMessage",
        "Allow CustomerPortalSigningKeys secretsmanager:GetSecretValue",
        "Allow arn:AWS::Partition:events:AWS::Region:AWS::AccountId:event-bus/default events:PutEvents",
        "Allow <stack secrets> secretsmanager:CreateSecret",
        "Allow <stack secrets> secretsmanager:PutSecretValue",
        "Allow <stack secrets> secretsmanager:TagResource",
        'Allow <stack secrets> secretsmanager:DeleteSecret if {"NumericGreaterThanEquals":{"secretsmanager:RecoveryWindowInDays":7}}',
        'Deny <stack secrets> secretsmanager:DeleteSecret if {"Bool":{"secretsmanager:ForceDeleteWithoutRecovery":"true"}}',
      ].sort(),
    );
  });

  it("grants nothing through managed or inline policies on the function roles, and no Scan anywhere", () => {
    for (const [id, role] of resources.filter(([, resource]) => resource.Type === "AWS::IAM::Role")) {
      if (!/^(Api|Publish|Deliver|Reconcile)Role/.test(id)) continue;
      expect(role.Properties?.ManagedPolicyArns, id).toBeUndefined();
      expect(role.Properties?.Policies, id).toBeUndefined();
    }
    const policies = resources.filter(([, resource]) => resource.Type === "AWS::IAM::Policy");
    expect(policies.length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(policies)).not.toMatch(/dynamodb:Scan|dynamodb:\*|sqs:\*|secretsmanager:\*/);
  });

  it("docs/operations.md's table says the same, function by function", () => {
    const runbook = readFileSync("docs/operations.md", "utf8");
    const start = runbook.indexOf("\n| function ");
    const rows = runbook
      .slice(start + 1, runbook.indexOf("\n\n", start))
      .split("\n")
      .slice(2)
      .map((row) => row.split("|").map((cell) => cell.trim()));
    expect(rows.map((cells) => cells[1]).sort()).toEqual(Object.keys(functionAccess).sort());
    const names = (actions: readonly string[]) => actions.map((action) => action.replace(/^\w+:/, "")).sort();
    for (const [, name = "", table = "", indexes = "", sqs = "", secrets = ""] of rows) {
      const access = functionAccess[name as keyof typeof functionAccess];
      // A note in parentheses ("PutItem (in transactions)") says how an action is used; the action is what counts.
      expect(
        table
          .replace(/ \([^)]*\)/g, "")
          .split(", ")
          .sort(),
        name,
      ).toEqual(names(access.table));
      const indexNames = Object.keys(access.indexes).sort();
      expect(indexes, name).toBe(
        indexNames.length === 0 ? "none" : `${indexNames.map((index) => `\`${index}\``).join(", ")}: Query`,
      );
      for (const action of names([...access.deliveryQueue, ...access.deadLetterQueue]))
        expect(sqs, `${name} ${action}`).toContain(action);
      for (const action of names(access.secrets)) expect(secrets, `${name} ${action}`).toContain(action);
      if (access.secrets.length === 0) expect(secrets, name).toBe("none");
    }
  });

  it("a broader grant changes these lists, so one of the tests above fails", () => {
    // A Scan on the table: no wildcard, so cdk-nag is silent; only a literal list like the ones above catches it.
    const broad = synthesize(
      {},
      {
        mutate: (stack) =>
          stack.functions.publish.function.addToRolePolicy(
            new PolicyStatement({ actions: ["dynamodb:Scan"], resources: [stack.storage.table.tableArn] }),
          ),
      },
    );
    const saved = resources;
    resources = broad.resources;
    try {
      expect(broad.error).toBeUndefined();
      expect(grantsOf("Publish")).toContain("Allow StorageWebhooks.Arn dynamodb:Scan");
    } finally {
      resources = saved;
    }
    expect(grantsOf("Publish")).not.toContain("Allow StorageWebhooks.Arn dynamodb:Scan");
  });
});

describe("cdk-nag acknowledgements say what is true", () => {
  const acknowledgements = () => synthesized.webhooks.acknowledgements;
  type Name = "api" | "publish" | "deliver" | "reconcile" | "portal";
  const policyOf = (name: Name) =>
    grantsOf(
      (
        {
          api: "Api",
          publish: "Publish",
          deliver: "Deliver",
          reconcile: "Reconcile",
          portal: "Portal",
        } as const
      )[name],
    );
  const indexesOf = (name: Name) => policyOf(name).filter((grant) => grant.includes("/index/"));

  it("acknowledges no index wildcard: each role names the exact indexes it queries, or none", () => {
    expect(acknowledgements().some((ack) => ack.rule.includes("/index/"))).toBe(false);
    expect(indexesOf("publish")).toEqual([]);
    expect(indexesOf("deliver")).toEqual([]);
    expect(indexesOf("reconcile")).toEqual(["Allow StorageWebhooks.Arn/index/gsi3 dynamodb:Query"]);
    expect(indexesOf("api")).toEqual([
      "Allow StorageWebhooks.Arn/index/gsi1 dynamodb:Query",
      "Allow StorageWebhooks.Arn/index/gsi2 dynamodb:Query",
      "Allow StorageWebhooks.Arn/index/gsi4 dynamodb:Query",
    ]);
  });

  it("X-Ray: each role's only `*` resource holds exactly the two X-Ray actions that take no resource", () => {
    const xray = acknowledgements().filter((ack) => ack.rule === "AwsSolutions-IAM5[Resource::*]");
    expect(
      xray
        .map((ack) => ack.where)
        .filter((where) => where.endsWith("function role"))
        .sort(),
    ).toEqual([
      "api function role",
      "deliver function role",
      "portal function role",
      "publish function role",
      "reconcile function role",
    ]);
    for (const name of ["api", "publish", "deliver", "reconcile", "portal"] as const)
      expect(
        policyOf(name)
          .filter((grant) => grant.startsWith("Allow * "))
          .sort(),
        name,
      ).toEqual(XRAY);
  });

  it("secrets: acknowledged exactly on the roles whose policy has the prefix wildcard, with the actions it says", () => {
    const secretAcks = acknowledgements().filter((ack) => ack.rule.includes(":secret:"));
    expect(secretAcks.map((ack) => ack.where).sort()).toEqual([
      "api function role",
      "deliver function role",
      "portal function role",
    ]);
    for (const ack of secretAcks)
      expect(ack.rule).toContain("secret:serverless-webhooks/ServerlessWebhooks-test/*");
    expect(policyOf("publish").some((grant) => grant.includes("<stack secrets>"))).toBe(false);
    expect(policyOf("reconcile").some((grant) => grant.includes("<stack secrets>"))).toBe(false);
    expect(secretAcks.find((ack) => ack.where.startsWith("deliver"))?.reason).toMatch(/reading values/);
    expect(policyOf("deliver").filter((grant) => grant.includes("<stack secrets>"))).toEqual([
      "Allow <stack secrets> secretsmanager:GetSecretValue",
    ]);
    expect(secretAcks.find((ack) => ack.where.startsWith("api"))?.reason).toMatch(
      /create, tag, rotate and delete \(with a recovery window only\)/,
    );
  });

  it("the other acknowledgements hold: the ingest queue redrives to the ingest DLQ, no async invoke, no mapping destination", () => {
    const ingestDlq = resources.find(([id]) => id.startsWith("IngestDeadLetterQueue"))?.[0];
    const ingestQueue = resources.find(([id]) => withoutHash(id) === "IngestQueue");
    expect(ingestQueue?.[1].Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [ingestDlq, "Arn"] },
      maxReceiveCount: 5,
    });
    // One way in: publish is never invoked asynchronously (no retries or destination of its own to configure).
    expect(resources.filter(([, resource]) => resource.Type === "AWS::Lambda::EventInvokeConfig")).toEqual(
      [],
    );
    const mappings = resources.filter(([, resource]) => resource.Type === "AWS::Lambda::EventSourceMapping");
    expect(mappings).toHaveLength(2);
    for (const [, mapping] of mappings) expect(mapping.Properties?.DestinationConfig).toBeUndefined();
  });

  it("the reconciler's hold: only its schedule invokes it, and EventBridge does not retry a run it cannot deliver", () => {
    const lambdaDlq = acknowledgements().filter((ack) => ack.rule === "Serverless-LambdaDLQ");
    expect(
      lambdaDlq
        .map((ack) => ack.where)
        .filter((where) => where.endsWith("function"))
        .sort(),
    ).toEqual([
      "api function",
      "deliver function",
      "portal function",
      "publish function",
      "reconcile function",
    ]);
    expect(lambdaDlq.find((ack) => ack.where === "reconcile function")?.reason).toMatch(
      /Run by a schedule .* idempotent/,
    );
    const eventBusDlq = acknowledgements().filter((ack) => ack.rule === "Serverless-EventBusDLQ");
    expect(eventBusDlq.map((ack) => ack.where)).toEqual(["reconciler schedule"]);
    expect(eventBusDlq[0]?.scope).toBe(synthesized.webhooks.reconcileSchedule);
    // Who may invoke the reconciler: the schedule rule, nothing else (no API route, no event source mapping).
    const invokers = resources
      .filter(([, resource]) => resource.Type === "AWS::Lambda::Permission")
      .map(([, permission]) => readable(permission.Properties))
      .filter(
        (permission) => (permission as { FunctionName: string }).FunctionName === "ReconcileFunction.Arn",
      );
    expect(invokers).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: "ReconcileFunction.Arn",
        Principal: "events.amazonaws.com",
        SourceArn: "ReconcileSchedule.Arn",
      },
    ]);
  });
});

/** An alarm in readable form: its metric(s), statistic, period, threshold and evaluation. */
function alarmNamed(name: AlarmName) {
  const found = resources.filter(
    ([id, resource]) => resource.Type === "AWS::CloudWatch::Alarm" && withoutHash(id) === `Operations${name}`,
  );
  expect(found, name).toHaveLength(1);
  const {
    AlarmDescription: _description,
    AlarmActions: _actions,
    OKActions: _ok,
    ...rest
  } = (found[0]?.[1].Properties ?? {}) as Record<string, unknown>;
  return readable(rest);
}

const sqsMetric = (name: string, queue: string, stat: string, period: number) => ({
  MetricStat: {
    Metric: {
      Dimensions: [{ Name: "QueueName", Value: `${queue}.QueueName` }],
      MetricName: name,
      Namespace: "AWS/SQS",
    },
    Period: period,
    Stat: stat,
  },
});
const customMetric = (name: string, dimensions: Record<string, string>) => ({
  MetricStat: {
    Metric: {
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      MetricName: name,
      Namespace: "ServerlessWebhooks",
    },
    Period: 300,
    Stat: "Sum",
  },
});
const throttles = (fn: string) => ({
  MetricStat: {
    Metric: {
      Dimensions: [{ Name: "FunctionName", Value: fn }],
      MetricName: "Throttles",
      Namespace: "AWS/Lambda",
    },
    Period: 300,
    Stat: "Sum",
  },
});
const query = (id: string, metric: object) => ({ Id: id, ReturnData: false, ...metric });

const EXPECTED_ALARMS: Record<AlarmName, unknown> = {
  DeadLettersArriving: {
    Namespace: "AWS/SQS",
    MetricName: "NumberOfMessagesSent",
    Dimensions: [{ Name: "QueueName", Value: "StorageDeliveryDeadLetterQueue.QueueName" }],
    Statistic: "Sum",
    Period: 900,
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    Threshold: 10,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  IngestDeadLettersArriving: {
    Namespace: "AWS/SQS",
    MetricName: "NumberOfMessagesSent",
    Dimensions: [{ Name: "QueueName", Value: "IngestDeadLetterQueue.QueueName" }],
    Statistic: "Sum",
    Period: 300,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  IngestQueueBacklog: {
    Namespace: "AWS/SQS",
    MetricName: "ApproximateAgeOfOldestMessage",
    Dimensions: [{ Name: "QueueName", Value: "IngestQueue.QueueName" }],
    Statistic: "Maximum",
    Period: 300,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 1200,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  DeliveryConsumerStalled: {
    Metrics: [
      {
        Expression: "IF(visible > 0 AND FILL(received, 0) == 0, 1, 0)",
        Id: "expr_1",
        Label: "Due deliveries with no receive (1 = stalled)",
        ReturnData: true,
      },
      query(
        "visible",
        sqsMetric("ApproximateNumberOfMessagesVisible", "StorageDeliveryQueue", "Minimum", 60),
      ),
      query("received", sqsMetric("NumberOfMessagesReceived", "StorageDeliveryQueue", "Sum", 60)),
    ],
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    Threshold: 1,
    EvaluationPeriods: 10,
    DatapointsToAlarm: 10,
    TreatMissingData: "notBreaching",
  },
  ApiServerErrors: {
    Namespace: "AWS/ApiGateway",
    MetricName: "5XXError",
    Dimensions: [
      { Name: "ApiName", Value: "ServerlessWebhooks-test" },
      { Name: "Stage", Value: "ManagementApiDeploymentStagev1" },
    ],
    Statistic: "Sum",
    Period: 300,
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    Threshold: 5,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  PublishFailures: {
    Metrics: [
      {
        Expression: "FILL(api, 0) + FILL(eventbridge, 0)",
        Id: "expr_1",
        Label: "Publish failures (both ingest paths)",
        ReturnData: true,
      },
      query("api", customMetric("PublishFailures", { ingest: "api", service: "serverless-webhooks" })),
      query(
        "eventbridge",
        customMetric("PublishFailures", { ingest: "eventbridge", service: "serverless-webhooks" }),
      ),
    ],
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    Threshold: 3,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  LambdaThrottles: {
    Metrics: [
      {
        Expression: "FILL(api, 0) + FILL(publish, 0) + FILL(deliver, 0) + FILL(reconcile, 0)",
        Id: "expr_1",
        Label: "Throttled invocations (all functions)",
        ReturnData: true,
      },
      query("api", throttles("ApiFunction")),
      query("publish", throttles("PublishFunction")),
      query("deliver", throttles("DeliverFunction")),
      query("reconcile", throttles("ReconcileFunction")),
    ],
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    TreatMissingData: "notBreaching",
  },
  StrandedWorkFound: {
    Namespace: "ServerlessWebhooks",
    MetricName: "StrandedWorkFound",
    // Powertools adds `service` to every metric; an alarm without it would watch a metric that never gets data.
    Dimensions: [{ Name: "service", Value: "serverless-webhooks" }],
    Statistic: "Sum",
    Period: 900,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  UnroutableEvents: {
    Metrics: [
      {
        Expression: "FILL(missing, 0) + FILL(invalid, 0) + FILL(unknown, 0)",
        Id: "expr_1",
        Label: "Unroutable EventBridge events",
        ReturnData: true,
      },
      query(
        "missing",
        customMetric("UnroutableEvents", { reason: "missing_tenant", service: "serverless-webhooks" }),
      ),
      query(
        "invalid",
        customMetric("UnroutableEvents", { reason: "invalid_tenant", service: "serverless-webhooks" }),
      ),
      query(
        "unknown",
        customMetric("UnroutableEvents", { reason: "unknown_tenant", service: "serverless-webhooks" }),
      ),
    ],
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  },
  ReconcilerErrors: {
    Namespace: "AWS/Lambda",
    MetricName: "Errors",
    Dimensions: [{ Name: "FunctionName", Value: "ReconcileFunction" }],
    Statistic: "Sum",
    Period: 900,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    TreatMissingData: "notBreaching",
  },
  DeliverErrors: {
    Namespace: "AWS/Lambda",
    MetricName: "Errors",
    Dimensions: [{ Name: "FunctionName", Value: "DeliverFunction" }],
    Statistic: "Sum",
    Period: 300,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 0,
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    TreatMissingData: "notBreaching",
  },
  DeliveryFailureRate: {
    Metrics: [
      {
        Expression: "IF(total > 20, 100 * failures / total, 0)",
        Id: "expr_1",
        Label: "Failed attempts (%)",
        ReturnData: true,
      },
      query("failures", customMetric("DeliveryAttemptFailures", { service: "serverless-webhooks" })),
      query("total", customMetric("DeliveryAttemptsTotal", { service: "serverless-webhooks" })),
    ],
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: 50,
    EvaluationPeriods: 3,
    TreatMissingData: "notBreaching",
  },
};

describe("alarms a pager can trust", () => {
  const names = Object.keys(EXPECTED_ALARMS) as AlarmName[];

  it("are exactly these, no more", () => {
    const alarms = resources.filter(([, resource]) => resource.Type === "AWS::CloudWatch::Alarm");
    expect(alarms.map(([id]) => withoutHash(id).replace(/^Operations/, "")).sort()).toEqual(
      [...names].sort(),
    );
    expect(Object.keys(synthesized.webhooks.operations.alarms).sort()).toEqual([...names].sort());
  });

  for (const name of Object.keys(EXPECTED_ALARMS) as AlarmName[]) {
    it(`${name}: metric, statistic, period, threshold and evaluation`, () => {
      expect(alarmNamed(name)).toEqual(EXPECTED_ALARMS[name]);
    });
  }

  it("no alarm watches a queue's depth, nor the age of a queue where messages wait for people (a state that stays true for days); the DLQ alarms count arrivals", () => {
    const alarms = resources.filter(([, resource]) => resource.Type === "AWS::CloudWatch::Alarm");
    const json = JSON.stringify(alarms.map(([, alarm]) => alarm));
    // The one age alarm is the ingest queue's: nothing waits there longer than its 5 receives (≈ 15 minutes)
    // before the redrive moves it, so an old message means publish is not taking the queue.
    expect(
      alarms
        .filter(([, alarm]) => JSON.stringify(alarm).includes("ApproximateAgeOfOldestMessage"))
        .map(([id]) => withoutHash(id)),
    ).toEqual(["OperationsIngestQueueBacklog"]);
    // Visible messages appear only inside the stalled-consumer expression, next to the receive count.
    expect(json.match(/ApproximateNumberOfMessagesVisible/g)).toHaveLength(1);
  });

  it("each has a runbook in docs/operations.md: what it means, the first three steps, a Logs Insights query", () => {
    const runbook = readFileSync("docs/operations.md", "utf8");
    for (const name of names) {
      const start = runbook.indexOf(`\n### ${name}\n`);
      expect(start, `### ${name}`).toBeGreaterThan(-1);
      const next = runbook.indexOf("\n### ", start + 1);
      const section = runbook.slice(start, next === -1 ? undefined : next);
      expect(section, name).toContain("**What it means.**");
      expect(section, name).toMatch(/\*\*First three steps\.\*\*\n\n1\. [\s\S]+\n2\. [\s\S]+\n3\. \S/);
      expect(section, name).toMatch(/\*\*Logs Insights\*\*[^\n]*\n\n```\n(fields|filter|stats)[^`]+```/);
      const description = String(
        resources.find(([id]) => withoutHash(id) === `Operations${name}`)?.[1].Properties?.AlarmDescription,
      );
      expect(description).toContain(`docs/operations.md#${name.toLowerCase()}`);
    }
  });

  it("the dashboard graphs errors and throttles of all four functions (the LambdaThrottles runbook starts there)", () => {
    const dashboards = resources.filter(([, resource]) => resource.Type === "AWS::CloudWatch::Dashboard");
    expect(dashboards).toHaveLength(1);
    const body = JSON.parse(String(readable(dashboards[0]?.[1].Properties?.DashboardBody))) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    const widget = body.widgets.find((candidate) => candidate.properties.title === "Functions");
    const lambdaMetrics = (widget?.properties.metrics ?? [])
      .filter((line) => line[0] === "AWS/Lambda" && line[1] !== "Duration")
      .map((line) => `${String(line[1])} ${String(line[3])}`)
      .sort();
    expect(lambdaMetrics).toEqual(
      ["Api", "Deliver", "Publish", "Reconcile"]
        .flatMap((name) => [`Errors ${name}Function`, `Throttles ${name}Function`])
        .sort(),
    );
  });

  it("cost: the model counts 12 alarms reading 20 metrics in the template, as docs/deploy.md says", () => {
    const metrics = Object.values(EXPECTED_ALARMS).reduce<number>(
      (sum, alarm) =>
        sum +
        ((alarm as { Metrics?: { MetricStat?: unknown }[] }).Metrics?.filter((m) => m.MetricStat).length ??
          1),
      0,
    );
    expect(alarmsIn(template.toJSON() as Parameters<typeof alarmsIn>[0])).toEqual({ alarms: 12, metrics });
    expect(metrics).toBe(20);
    expect(readFileSync("docs/deploy.md", "utf8")).toContain("plus 12 alarms reading 20 metrics ($2.00:");
  });

  it("notify the topic on alarm and on recovery when an e-mail is configured", () => {
    const withEmail = synthesize({ alarmEmail: "oncall@example.com" });
    const alarms = withEmail.resources.filter(([, resource]) => resource.Type === "AWS::CloudWatch::Alarm");
    expect(alarms).toHaveLength(Object.keys(EXPECTED_ALARMS).length);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties?.AlarmActions).toHaveLength(1);
      expect(alarm.Properties?.OKActions).toHaveLength(1);
    }
  });
});

const rulesOf = (synth: ReturnType<typeof synthesize>) =>
  synth.resources.filter(([, resource]) => resource.Type === "AWS::Events::Rule");

describe("EventBridge ingest forwards only what was asked for", () => {
  /** The ingest rule, if any: every rule but the reconciler's schedule (below). */
  const rules = (synth: ReturnType<typeof synthesize>) =>
    rulesOf(synth).filter(([id]) => withoutHash(id) !== "ReconcileSchedule");

  it("has no rule unless sources are named (the reconciler's schedule is the only rule then)", () => {
    expect(rules(synthesized)).toEqual([]);
    expect(rulesOf(synthesized).map(([id]) => withoutHash(id))).toEqual(["ReconcileSchedule"]);
    expect(synthesized.template?.toJSON().Outputs.IngestEventPattern).toBeUndefined();
  });

  it("a custom producer: exact sources and detail-types from comma-separated context, on the chosen bus", () => {
    const custom = synthesize({
      eventBusName: "orders",
      eventSources: "com.example.orders,com.example.billing",
      eventDetailTypes: "order.completed,Invoice Paid",
    });
    expect(rules(custom).map(([, rule]) => rule.Properties)).toEqual([
      expect.objectContaining({
        EventBusName: "orders",
        EventPattern: {
          source: ["com.example.orders", "com.example.billing"],
          "detail-type": ["order.completed", "Invoice Paid"],
        },
        Targets: [
          expect.objectContaining({
            DeadLetterConfig: expect.anything(),
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
          }),
        ],
      }),
    ]);
  });

  it("an AWS service: its source with the detail-types named (JSON arrays work too)", () => {
    const s3 = synthesize({ eventSources: '["aws.s3"]', eventDetailTypes: '["Object Created"]' });
    expect(rules(s3).map(([, rule]) => rule.Properties?.EventPattern)).toEqual([
      { source: ["aws.s3"], "detail-type": ["Object Created"] },
    ]);
  });

  it("refuses patterns that would forward more than named: wildcards, pattern objects, a bare AWS source", () => {
    const config = (context: Record<string, unknown>) => () =>
      stackConfigFromContext((key) => ({ stage: "dev", ...context })[key]);
    expect(config({ eventSources: "*" })).toThrow(/eventSources/);
    expect(config({ eventSources: "com.example.*" })).toThrow(/eventSources.*exactly/);
    expect(config({ eventSources: '[{"anything-but":{"prefix":"aws."}}]' })).toThrow(/eventSources/);
    expect(config({ eventSources: [{ prefix: "" }] })).toThrow(/eventSources/);
    expect(config({ eventSources: "aws.ec2" })).toThrow(/eventDetailTypes.*AWS service/);
    expect(config({ eventDetailTypes: "Order Completed" })).toThrow(/eventDetailTypes.*sources/);
    expect(config({ eventPattern: '{"source":[{"prefix":""}]}' })).toThrow(/eventPattern.*eventSources/);
  });
});

describe("the reconciler's schedule", () => {
  it("runs the reconcile function every 5 minutes on the default bus, without retries (the next run retries)", () => {
    expect(RECONCILE_INTERVAL_MINUTES).toBe(5);
    const schedules = rulesOf(synthesized).filter(([id]) => withoutHash(id) === "ReconcileSchedule");
    expect(schedules.map(([, rule]) => readable(rule.Properties))).toEqual([
      {
        Description: "Runs the reconciler",
        ScheduleExpression: "rate(5 minutes)",
        State: "ENABLED",
        Targets: [{ Arn: "ReconcileFunction.Arn", Id: "Target0", RetryPolicy: { MaximumRetryAttempts: 0 } }],
      },
    ]);
  });

  it("is there with an ingest rule too, and stays the reconciler's alone", () => {
    const custom = synthesize({ eventSources: "com.example.orders" });
    const targets = rulesOf(custom).map(([id, rule]) => [
      withoutHash(id),
      (readable(rule.Properties?.Targets) as { Arn: string }[]).map((target) => target.Arn),
    ]);
    expect(targets.sort()).toEqual([
      ["IngestRule", ["IngestQueue.Arn"]],
      ["ReconcileSchedule", ["ReconcileFunction.Arn"]],
    ]);
  });
});

describe("request models", () => {
  it("are the shared draft-04 schemas local mode validates against, one per body-bearing route", () => {
    const models = resources.filter(
      ([id, resource]) => resource.Type === "AWS::ApiGateway::Model" && id.startsWith("ManagementApi"),
    );
    expect(models).toHaveLength(Object.keys(requestModels).length);
    for (const [key, schema] of Object.entries(requestModels)) {
      const model = models.find(([id]) =>
        id.startsWith(`ManagementApiModel${key.replace(/[^A-Za-z0-9]/g, "")}`),
      );
      expect(model?.[1].Properties?.Schema, key).toEqual(schema);
    }
  });
});

describe("deploy inputs and outputs", () => {
  it("ApiUrl ends at the stage, without a slash, so $API/webhooks is a real path", () => {
    const apiUrl = String(readable(synthesized.template?.toJSON().Outputs.ApiUrl.Value));
    expect(apiUrl).toBe(
      "https://ManagementApi.execute-api.AWS::Region.AWS::URLSuffix/ManagementApiDeploymentStagev1",
    );
    const rendered = apiUrl
      .replace("ManagementApi.", "abc123.")
      .replace("AWS::Region", "eu-west-1")
      .replace("AWS::URLSuffix", "amazonaws.com")
      .replace("ManagementApiDeploymentStagev1", "v1");
    expect(`${rendered}/webhooks`).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/webhooks");
  });

  it("outputs what the deploy guide and the runbook use, and no second API URL with a trailing slash", () => {
    const outputs = Object.keys(synthesized.template?.toJSON().Outputs ?? {});
    expect(outputs.sort()).toEqual(
      [
        "ApiUrl",
        "TableName",
        "DeliveryQueueUrl",
        "DeadLetterQueueUrl",
        "IngestQueueUrl",
        "IngestDeadLetterQueueUrl",
        "SecretNamePrefix",
        "DashboardUrl",
        "ApiLogGroup",
        "PublishLogGroup",
        "DeliverLogGroup",
        "ReconcileLogGroup",
        "ApiAccessLogGroup",
        "PortalLogGroup",
        "PortalUrl",
        "PortalKeySecretArn",
      ].sort(),
    );
    const runbook = readFileSync("docs/operations.md", "utf8");
    for (const named of runbook.match(/`(\w+LogGroup)`/g) ?? [])
      expect(outputs, named).toContain(named.replaceAll("`", ""));
  });

  it("teardown keeps what docs/deploy.md says: with deletionProtection the data and logs; always the API Gateway account role", () => {
    const retained = (synth: ReturnType<typeof synthesize>) =>
      synth.resources
        .filter(([, resource]) => (resource as { DeletionPolicy?: string }).DeletionPolicy === "Retain")
        .map(([id]) => withoutHash(id))
        .sort();
    expect(retained(synthesized)).toEqual(
      [
        "StorageWebhooks",
        "PublishLogs",
        "DeliverLogs",
        "ApiLogs",
        "ReconcileLogs",
        "PortalLogs",
        "ManagementApiAccessLogs",
        "ManagementApiCloudWatchRole",
        "ManagementApiAccount",
        "CustomerPortalSigningKeys",
        "CustomerPortalAccessLogs",
        "CustomerPortalPage",
      ].sort(),
    );
    expect(retained(synthesize({ deletionProtection: "false" }))).toEqual([
      "ManagementApiAccount",
      "ManagementApiCloudWatchRole",
    ]);
  });

  it("bakes in no region unless one is given; -c account and -c region pin the stack", () => {
    expect(synthesized.stack.region).toMatch(/^\$\{Token/);
    const pinned = createApp({ context: { stage: "prod", account: "123456789012", region: "eu-west-1" } });
    expect(pinned.stack.region).toBe("eu-west-1");
    expect(pinned.stack.account).toBe("123456789012");
    expect(() => createApp({ context: { region: "Europe" } })).toThrow(/region/);
  });

  it("tenant props reach the functions: MAX_WEBHOOKS_PER_TENANT on all, TENANT_ID_PATH and DEFAULT_TENANT_ID on publish", () => {
    const SHARED = [
      "NODE_OPTIONS",
      "POWERTOOLS_SERVICE_NAME",
      "POWERTOOLS_LOG_LEVEL",
      "POWERTOOLS_METRICS_NAMESPACE",
      "RETRY_SCHEDULE_SECONDS",
      "ALLOW_HTTP_DESTINATIONS",
      "ALLOWED_PORTS",
      "ALLOW_PRIVATE_DESTINATIONS",
      "ALLOW_AUTHORIZATION_HEADER",
      "RETENTION_DAYS",
      "MAX_WEBHOOKS_PER_TENANT",
      "TABLE_NAME",
      "DELIVERY_QUEUE_URL",
      "DEAD_LETTER_QUEUE_URL",
      "SECRET_NAME_PREFIX",
      "SECRET_STORAGE",
    ];
    const HEALTH_KEYS = [
      "CIRCUIT_WINDOW_SECONDS",
      "CIRCUIT_MIN_ATTEMPTS",
      "CIRCUIT_FAILURE_PERCENT",
      "CIRCUIT_PROBE_INTERVAL_SECONDS",
      "AUTO_DISABLE_AFTER_SECONDS",
    ];
    const TENANT_KEYS = [
      "MAX_WEBHOOKS_PER_TENANT",
      "TENANT_ID_PATH",
      "DEFAULT_TENANT_ID",
      "INGEST_DEAD_LETTER_QUEUE_URL",
    ];
    const environments = (synth: ReturnType<typeof synthesize>) =>
      Object.fromEntries(
        synth.resources
          .filter(
            ([id, resource]) =>
              resource.Type === "AWS::Lambda::Function" && !id.startsWith("CustomCDKBucketDeployment"),
          )
          .map(([id, fn]) => [
            withoutHash(id).replace(/Function$/, ""),
            readable(
              (fn.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
            ) as Record<string, string>,
          ]),
      );
    const tenantVariables = (synth: ReturnType<typeof synthesize>) =>
      Object.fromEntries(
        Object.entries(environments(synth)).map(([name, variables]) => [
          name,
          Object.fromEntries(Object.entries(variables).filter(([key]) => TENANT_KEYS.includes(key))),
        ]),
      );

    const defaults = environments(synthesized);
    expect(
      Object.fromEntries(Object.entries(defaults).map(([name, vars]) => [name, Object.keys(vars).sort()])),
    ).toEqual({
      Api: [...SHARED, "OPERATIONAL_EVENT_BUS", "STRICT_EVENT_TYPES"].sort(),
      Deliver: [...SHARED, "OPERATIONAL_EVENT_BUS", ...HEALTH_KEYS].sort(),
      Publish: [...SHARED, "TENANT_ID_PATH", "INGEST_DEAD_LETTER_QUEUE_URL"].sort(),
      Reconcile: [...SHARED].sort(),
      Portal: [
        ...SHARED,
        "OPERATIONAL_EVENT_BUS",
        "PORTAL_KEY_SECRET_ID",
        "PORTAL_URL",
        "PORTAL_RATE_PER_SECOND",
        "PORTAL_BURST",
      ].sort(),
    });
    expect(tenantVariables(synthesized)).toEqual({
      Api: { MAX_WEBHOOKS_PER_TENANT: "50" },
      Deliver: { MAX_WEBHOOKS_PER_TENANT: "50" },
      Publish: {
        MAX_WEBHOOKS_PER_TENANT: "50",
        TENANT_ID_PATH: "detail.tenantId",
        INGEST_DEAD_LETTER_QUEUE_URL: "IngestDeadLetterQueue",
      },
      Reconcile: { MAX_WEBHOOKS_PER_TENANT: "50" },
      Portal: { MAX_WEBHOOKS_PER_TENANT: "50" },
    });

    const tenants = synthesize({
      maxWebhooksPerTenant: "7",
      tenantIdPath: "detail.customer.id",
      defaultTenantId: "acme",
    });
    expect(tenantVariables(tenants)).toEqual({
      Api: { MAX_WEBHOOKS_PER_TENANT: "7" },
      Deliver: { MAX_WEBHOOKS_PER_TENANT: "7" },
      Publish: {
        MAX_WEBHOOKS_PER_TENANT: "7",
        TENANT_ID_PATH: "detail.customer.id",
        DEFAULT_TENANT_ID: "acme",
        INGEST_DEAD_LETTER_QUEUE_URL: "IngestDeadLetterQueue",
      },
      Reconcile: { MAX_WEBHOOKS_PER_TENANT: "7" },
      Portal: { MAX_WEBHOOKS_PER_TENANT: "7" },
    });
    // The names are the ones the functions read (functions/core/shared/config.ts), not look-alikes it would ignore.
    const publish = parseConfig({
      ...environments(tenants).Publish,
      AWS_REGION: "eu-west-1",
      DELIVERY_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q",
      DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/d",
      INGEST_DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/i",
    });
    expect(publish).toMatchObject({
      maxWebhooksPerTenant: 7,
      tenantIdPath: "detail.customer.id",
      defaultTenantId: "acme",
      ingestDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/1/i",
    });
    // strictEventTypes reaches the api (which checks subscriptions), as the variable its config reads.
    expect(defaults.Api?.STRICT_EVENT_TYPES).toBe("false");
    const strictApi = environments(synthesize({ strictEventTypes: "true" })).Api;
    expect(strictApi?.STRICT_EVENT_TYPES).toBe("true");
    expect(
      parseConfig({
        ...strictApi,
        AWS_REGION: "eu-west-1",
        DELIVERY_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q",
        DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/d",
      }).strictEventTypes,
    ).toBe(true);
  });

  it("-c values take the environment variables' forms: a comma-separated schedule as RETRY_SCHEDULE_SECONDS", () => {
    const read = (context: Record<string, unknown>) =>
      stackConfigFromContext((key) => ({ stage: "dev", ...context })[key]);
    expect(read({ retryScheduleSeconds: "2,5" }).retryScheduleSeconds).toEqual([2, 5]);
    expect(read({ retryScheduleSeconds: "[2,5]" }).retryScheduleSeconds).toEqual([2, 5]);
    expect(read({ retryScheduleSeconds: [2, 5] }).retryScheduleSeconds).toEqual([2, 5]);
    expect(() => read({ retryScheduleSeconds: "2,x" })).toThrow(/retryScheduleSeconds/);
    expect(read({ allowedPorts: "443,8443" }).allowedPorts).toBe("443,8443");
    expect(read({ deletionProtection: "false", maxConcurrency: "10" })).toMatchObject({
      deletionProtection: false,
      maxConcurrency: 10,
    });
    const deliver = synthesize({ retryScheduleSeconds: "2,5" }).resources.find(([id]) =>
      id.startsWith("DeliverFunction"),
    );
    expect(
      (deliver?.[1].Properties?.Environment as { Variables: Record<string, string> } | undefined)?.Variables
        .RETRY_SCHEDULE_SECONDS,
    ).toBe("2,5");
  });
});
