/**
 * The deliver function's EMF metrics for one batch: each attempt's latency, and the dimensionless totals the
 * failure-rate alarm divides (it takes their Sum), written once per batch with the batch's counts.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchMetrics } from "#functions/deliver/runtime.ts";
import { captureOutput } from "#test/support/capture-output.ts";

const previous = process.env.POWERTOOLS_METRICS_DISABLED;
beforeAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});
afterAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = previous;
});

const documents = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => "_aws" in line);

const sum = (lines: Record<string, unknown>[], name: string) =>
  lines
    .filter((line) => name in line)
    .flatMap((line) => [line[name]].flat() as number[])
    .reduce((total, value) => total + value, 0);

describe("a deliver batch's metrics", () => {
  it("sum to the batch's attempts and failures, with one latency value per attempt", async () => {
    const { output } = await captureOutput(async () => {
      const metrics = new BatchMetrics(new Metrics({ namespace: "test", serviceName: "test" }));
      metrics.attempt("succeeded", 10, "t1");
      metrics.attempt("http_500", 20, "t1");
      metrics.attempt("succeeded", 30, "t2");
      metrics.attempt("timeout", 40, "t2");
      metrics.attempt("succeeded", 50, "t2");
      metrics.flush();
      metrics.attempt("succeeded", 60, "t1");
      metrics.flush();
    });
    const lines = documents(output);
    expect(sum(lines, "DeliveryAttemptsTotal")).toBe(6);
    expect(sum(lines, "DeliveryAttemptFailures")).toBe(2);
    expect(lines.flatMap((line) => [line.DeliveryLatency ?? []].flat()).sort()).toEqual([
      10, 20, 30, 40, 50, 60,
    ]);
    expect(lines.filter((line) => line.outcome === "succeeded").map((line) => line.DeliveryAttempts)).toEqual(
      [3, 1],
    );
  });

  it("a batch without attempts writes no totals", async () => {
    const { output } = await captureOutput(async () => {
      const metrics = new BatchMetrics(new Metrics({ namespace: "test", serviceName: "test" }));
      metrics.dropped("webhook_disabled");
      metrics.flush();
    });
    const lines = documents(output);
    expect(sum(lines, "DeliveryAttemptsTotal")).toBe(0);
    expect(lines.some((line) => line.reason === "webhook_disabled")).toBe(true);
  });
});
