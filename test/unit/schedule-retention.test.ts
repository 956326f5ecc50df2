import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_SCHEDULE_SECONDS, worstCaseScheduleSeconds } from "#core/delivery/retry-policy.ts";
import { deliveryQueue } from "#core/shared/resource-definitions.ts";
import { stackConfigSchema } from "#lib/stack-config.ts";

describe("a retry schedule must fit the delivery queue's retention", () => {
  it("counts every step at +20 % jitter plus a day of margin", () => {
    expect(worstCaseScheduleSeconds([100, 200])).toBe(360 + 86_400);
  });

  it("accepts the default schedule, refuses one that would outlive the queue's messages, naming both", () => {
    expect(worstCaseScheduleSeconds(DEFAULT_RETRY_SCHEDULE_SECONDS)).toBeLessThan(
      deliveryQueue.retentionPeriodSeconds,
    );
    expect(stackConfigSchema.safeParse({ stage: "dev" }).success).toBe(true);
    const tooLong = stackConfigSchema.safeParse({
      stage: "dev",
      retryScheduleSeconds: Array(8).fill(42_900),
    });
    expect(tooLong.success).toBe(false);
    const issue = tooLong.error?.issues[0];
    expect(issue?.path).toEqual(["retryScheduleSeconds"]);
    expect(issue?.message).toContain(String(deliveryQueue.retentionPeriodSeconds));
    const justFits = Math.floor((deliveryQueue.retentionPeriodSeconds - 86_400) / 1.2 / 6);
    expect(
      stackConfigSchema.safeParse({ stage: "dev", retryScheduleSeconds: Array(6).fill(justFits) }).success,
    ).toBe(true);
  });
});
