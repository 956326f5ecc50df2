/** The pure health decisions: the rate limiter's bound as documented, the breaker's threshold and the clock. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  circuitGate,
  DEFAULT_HEALTH_POLICY,
  failedTooLong,
  planReservation,
  shouldOpen,
  successesNeedWriting,
} from "#core/health/endpoint-health.ts";

/** When each request was granted, reserving as the conditional writes apply it (serially, each condition holds). */
function grantTimes(limit: number, requests: readonly { gapMs: number; wanted: number }[]): number[] {
  let now = 1_700_000_000_000;
  let tat: number | undefined;
  const granted: number[] = [];
  for (const { gapMs, wanted } of requests) {
    now += gapMs;
    const plan = planReservation(limit, tat, now, wanted);
    if (plan.kind === "none") continue;
    tat = plan.kind === "reset" ? plan.newTat : (tat ?? 0) + plan.add;
    for (let n = 0; n < plan.granted; n += 1) granted.push(now);
  }
  return granted;
}

describe("rate limit (GCRA)", () => {
  it("never grants more than limit × 5 + a quarter second's worth in any 5 s window, whatever the request pattern", () => {
    fc.assert(
      fc.property(
        // Limits low enough that random traffic saturates them for longer than a window.
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 100 }), wanted: fc.integer({ min: 1, max: 10 }) }),
          // Long enough (fast-check's default size keeps arrays short) to saturate a bucket past one window.
          { minLength: 100, maxLength: 300 },
        ),
        (limit, requests) => {
          const granted = grantTimes(limit, requests);
          const bound = limit * 5 + Math.max(1, limit / 4);
          for (const start of granted) {
            const inWindow = granted.filter((at) => at >= start && at < start + 5000).length;
            expect(inWindow).toBeLessThanOrEqual(bound);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("grants a full burst to an idle bucket and nothing more at the same instant", () => {
    const now = 1_000_000;
    const first = planReservation(40, undefined, now, 20);
    expect(first).toMatchObject({ kind: "reset", granted: 10 });
    const tat = first.kind === "reset" ? first.newTat : 0;
    expect(planReservation(40, tat, now, 1)).toEqual({ kind: "none" });
    expect(planReservation(40, tat, now + 25, 5)).toMatchObject({ kind: "advance", granted: 1 });
  });
});

describe("circuit breaker and auto-disable", () => {
  const policy = { ...DEFAULT_HEALTH_POLICY, minAttempts: 10, failurePercent: 50, probeIntervalSeconds: 30 };
  const base = { tenantId: "t", webhookId: "wh" };

  it("opens only with enough attempts and a high enough failed share", () => {
    expect(shouldOpen({ attempts: 9, failures: 9 }, policy)).toBe(false);
    expect(shouldOpen({ attempts: 10, failures: 4 }, policy)).toBe(false);
    expect(shouldOpen({ attempts: 10, failures: 5 }, policy)).toBe(true);
  });

  it("holds until the probe time, then lets one probe be taken; a live lease holds everyone else", () => {
    const now = new Date("2026-01-01T00:00:00.000Z");
    const later = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
    expect(circuitGate(undefined, policy, now)).toEqual({ kind: "closed" });
    expect(circuitGate({ ...base, circuit: "open", probeAt: later(12) }, policy, now)).toEqual({
      kind: "hold",
      delaySeconds: 12,
    });
    expect(circuitGate({ ...base, circuit: "open", probeAt: later(-1) }, policy, now)).toEqual({
      kind: "probe_due",
    });
    expect(
      circuitGate(
        { ...base, circuit: "half_open", probeAt: later(-1), probeLeaseUntil: later(5) },
        policy,
        now,
      ),
    ).toEqual({ kind: "hold", delaySeconds: 30 });
  });

  it("disables only after the whole window of failure, and never with a window of 0", () => {
    const now = new Date("2026-01-06T00:00:00.000Z");
    const failing = { ...base, failingSince: "2026-01-01T00:00:00.000Z" };
    expect(failedTooLong(failing, { ...policy, disableAfterSeconds: 5 * 86_400 }, now)).toBe(true);
    expect(failedTooLong(failing, { ...policy, disableAfterSeconds: 5 * 86_400 + 1 }, now)).toBe(false);
    expect(failedTooLong(failing, { ...policy, disableAfterSeconds: 0 }, now)).toBe(false);
    expect(failedTooLong(base, policy, now)).toBe(false);
  });
});

describe("which successes are written", () => {
  const now = new Date("2026-12-01T12:00:00.000Z");
  const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
  const healthy = {
    tenantId: "t",
    webhookId: "wh",
    windowStart: secondsAgo(10),
    windowAttempts: 10,
    windowFailures: 0,
    lastSuccessAt: secondsAgo(10),
  };

  it("a healthy webhook's successes are written once per window, not per batch", () => {
    expect(successesNeedWriting(healthy, DEFAULT_HEALTH_POLICY, now)).toBe(false);
    expect(
      successesNeedWriting({ ...healthy, lastSuccessAt: secondsAgo(60) }, DEFAULT_HEALTH_POLICY, now),
    ).toBe(true);
    expect(successesNeedWriting(undefined, DEFAULT_HEALTH_POLICY, now)).toBe(true);
    expect(successesNeedWriting({ ...healthy, lastSuccessAt: undefined }, DEFAULT_HEALTH_POLICY, now)).toBe(
      true,
    );
  });

  it("successes that change a decision are always written: a failure clock to stop, failures in the window, a circuit not closed", () => {
    expect(
      successesNeedWriting({ ...healthy, failingSince: secondsAgo(5) }, DEFAULT_HEALTH_POLICY, now),
    ).toBe(true);
    expect(successesNeedWriting({ ...healthy, windowFailures: 1 }, DEFAULT_HEALTH_POLICY, now)).toBe(true);
    expect(successesNeedWriting({ ...healthy, circuit: "half_open" }, DEFAULT_HEALTH_POLICY, now)).toBe(true);
    expect(successesNeedWriting({ ...healthy, circuit: "open" }, DEFAULT_HEALTH_POLICY, now)).toBe(true);
    // Failures of a window that has ended no longer count.
    expect(
      successesNeedWriting(
        { ...healthy, windowStart: secondsAgo(90), windowFailures: 5 },
        DEFAULT_HEALTH_POLICY,
        now,
      ),
    ).toBe(false);
  });
});
