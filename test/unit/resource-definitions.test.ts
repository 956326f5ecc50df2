import { describe, expect, it } from "vitest";
import { FANOUT_LEASE_SECONDS } from "#core/publishing/publish.ts";
import {
  deadLetterQueue,
  deliverFunctionTimeoutSeconds,
  deliveryQueue,
  ingestDeadLetterQueue,
  ingestQueue,
  publishFunctionTimeoutSeconds,
  webhooksTable,
} from "#core/shared/resource-definitions.ts";
import { createTableInput } from "#local/provision.ts";

describe("resource definitions", () => {
  it("give the delivery queue a visibility timeout of at least 6× the deliver function timeout", () => {
    expect(deliveryQueue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * deliverFunctionTimeoutSeconds);
  });

  it("keep DLQ messages longer than the source queue, within the SQS maximum of 14 days", () => {
    expect(deadLetterQueue.retentionPeriodSeconds).toBeGreaterThan(deliveryQueue.retentionPeriodSeconds);
    expect(deadLetterQueue.retentionPeriodSeconds).toBeLessThanOrEqual(14 * 86_400);
    expect(ingestDeadLetterQueue.retentionPeriodSeconds).toBeGreaterThan(ingestQueue.retentionPeriodSeconds);
    expect(ingestDeadLetterQueue.retentionPeriodSeconds).toBeLessThanOrEqual(14 * 86_400);
  });

  it("give the ingest queue 6× the publish timeout, longer than a fan-out lease, so a retried record can finish its fan-out", () => {
    expect(ingestQueue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * publishFunctionTimeoutSeconds);
    expect(ingestQueue.visibilityTimeoutSeconds).toBeGreaterThan(FANOUT_LEASE_SECONDS);
    expect(ingestQueue.maxReceiveCount).toBe(5);
  });
});

describe("createTableInput", () => {
  it("declares each key attribute once, for the table and every index", () => {
    const input = createTableInput(webhooksTable, "t-Webhooks");
    const names = input.AttributeDefinitions.map((definition) => definition.AttributeName);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([
      "gsi1pk",
      "gsi1sk",
      "gsi2pk",
      "gsi2sk",
      "gsi3pk",
      "gsi3sk",
      "gsi4pk",
      "gsi4sk",
      "pk",
      "sk",
    ]);
    expect(input.GlobalSecondaryIndexes.map((index) => index.IndexName)).toEqual([
      "gsi1",
      "gsi2",
      "gsi3",
      "gsi4",
    ]);
    expect(input.BillingMode).toBe("PAY_PER_REQUEST");
  });
});
