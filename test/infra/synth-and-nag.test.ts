import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { deadLetterQueue, deliveryQueue, webhooksTable } from "#core/resource-definitions.ts";
import { createApp } from "#lib/app.ts";

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
}

const outdirs: string[] = [];
function synthesize(mutate?: (stack: ReturnType<typeof createApp>["stack"]) => void) {
  const outdir = mkdtempSync(join(tmpdir(), "sw-synth-"));
  outdirs.push(outdir);
  const { app, stack } = createApp({ outdir, context: { stage: "test" } });
  mutate?.(stack);
  const synth = () => app.synth();
  const report = (): ValidationReport | undefined => {
    const path = join(outdir, "validation-report.json");
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as ValidationReport) : undefined;
  };
  return { app, stack, synth, report };
}

afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the CDK app", () => {
  it("synthesizes with zero unacknowledged cdk-nag findings (AwsSolutions and Serverless packs)", () => {
    const { synth, report } = synthesize();
    expect(synth).not.toThrow();
    const failures = report()?.pluginReports.filter((plugin) => plugin.conclusion !== "success") ?? [];
    expect(failures).toEqual([]);
  });

  it("fails synthesis when a construct breaks a cdk-nag rule (the packs are really applied)", () => {
    const { synth, report } = synthesize((stack) => {
      new sqs.Queue(stack, "NonCompliant", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    });
    expect(synth).toThrow(/AwsSolutions-SQS4/);
    const rules = report()?.pluginReports.flatMap((plugin) =>
      plugin.violations.map((violation) => violation.ruleName),
    );
    expect(rules).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });

  it("builds the table from the shared definition with PITR and TTL", () => {
    const { stack } = synthesize();
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      KeySchema: [
        { AttributeName: webhooksTable.partitionKey.name, KeyType: "HASH" },
        { AttributeName: webhooksTable.sortKey.name, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: webhooksTable.globalSecondaryIndexes.map((index) =>
        Match.objectLike({ IndexName: index.indexName }),
      ),
      TimeToLiveSpecification: { AttributeName: webhooksTable.timeToLiveAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it("builds both queues from the shared definitions, encrypted, with the redrive policy", () => {
    const { stack } = synthesize();
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: deliveryQueue.visibilityTimeoutSeconds,
      MessageRetentionPeriod: deliveryQueue.retentionPeriodSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: deliveryQueue.maxReceiveCount }),
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      MessageRetentionPeriod: deadLetterQueue.retentionPeriodSeconds,
      SqsManagedSseEnabled: true,
    });
    expect(deadLetterQueue.retentionPeriodSeconds).toBeGreaterThan(deliveryQueue.retentionPeriodSeconds);
  });

  it("gives no resource a physical name, so two stages can share an account", () => {
    const { stack } = synthesize();
    const resources = Object.values(
      Template.fromStack(stack).toJSON().Resources as Record<string, { Properties?: object }>,
    );
    const named = resources.filter((resource) =>
      ["TableName", "QueueName"].some((key) => key in (resource.Properties ?? {})),
    );
    expect(named).toEqual([]);
  });
});
