import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyAttempt, type Verdict } from "#core/delivery/delivery-outcome.ts";
import {
  attemptLimit,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  defaultRetryPolicy,
  MAX_RETRY_DELAY_SECONDS,
  maxAttemptsOf,
  parseRetryAfter,
  parseSchedule,
  retryDelaySeconds,
} from "#core/delivery/retry-policy.ts";

const now = new Date("2026-11-28T12:00:00Z");

describe("the default retry schedule", () => {
  it("is 8 attempts over about 27.6 hours, each step within the 12-hour visibility ceiling", () => {
    expect(maxAttemptsOf(defaultRetryPolicy)).toBe(8);
    const total = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((sum, step) => sum + step, 0);
    expect(total / 3600).toBeCloseTo(27.6, 1);
    for (const step of DEFAULT_RETRY_SCHEDULE_SECONDS) expect(step * 1.2).toBeLessThanOrEqual(43_200);
  });

  it("applies ±20 % jitter and never exceeds the ceiling", () => {
    expect(retryDelaySeconds(defaultRetryPolicy, 2, undefined, () => 0)).toBe(240);
    expect(retryDelaySeconds(defaultRetryPolicy, 2, undefined, () => 0.5)).toBe(300);
    expect(retryDelaySeconds(defaultRetryPolicy, 2, undefined, () => 0.999_999)).toBe(360);
    expect(retryDelaySeconds(defaultRetryPolicy, 7, undefined, () => 0.999_999)).toBeLessThanOrEqual(
      MAX_RETRY_DELAY_SECONDS,
    );
  });

  it("lets a webhook lower, but not raise, the number of attempts", () => {
    expect(attemptLimit(defaultRetryPolicy, 3)).toBe(3);
    expect(attemptLimit(defaultRetryPolicy, 50)).toBe(8);
    expect(attemptLimit(defaultRetryPolicy, undefined)).toBe(8);
  });

  it("honours Retry-After (seconds or HTTP date), bounded", () => {
    expect(retryDelaySeconds(defaultRetryPolicy, 1, 120)).toBe(120);
    expect(retryDelaySeconds(defaultRetryPolicy, 1, 0)).toBe(1);
    expect(retryDelaySeconds(defaultRetryPolicy, 1, 10 ** 7)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter("Sat, 28 Nov 2026 12:01:00 GMT", now)).toBe(60);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("parses a compressed schedule for tests and local mode, refusing nonsense", () => {
    expect(parseSchedule("1, 2,4")).toEqual([1, 2, 4]);
    for (const bad of ["", "a", "1,-2", "1.5", String(MAX_RETRY_DELAY_SECONDS + 1)])
      expect(() => parseSchedule(bad), bad).toThrow(RangeError);
  });
});

describe("classifyAttempt follows the Standard Webhooks rules", () => {
  const response = (status: number, retryAfter?: string) =>
    classifyAttempt({ kind: "response", status, retryAfter }, now);
  const succeed: Verdict = { action: "succeed" };
  const retry = (status: number): Verdict => ({ action: "retry", reason: `http_${status}` });

  // Oddities the guarded sender can surface (test/integration/guarded-sender.test.ts): a 101 upgrade answer and
  // any three digits node:http parses (099, 600, 999). Informational 100/102/103 are consumed before the final status.
  it.each<[number, Verdict["action"]]>([
    [0, "retry"],
    [99, "retry"],
    [101, "retry"],
    [199, "retry"],
    [200, "succeed"],
    [201, "succeed"],
    [204, "succeed"],
    [299, "succeed"],
    [300, "retry"],
    [301, "retry"],
    [302, "retry"],
    [304, "retry"],
    [307, "retry"],
    [308, "retry"],
    [400, "retry"],
    [401, "retry"],
    [403, "retry"],
    [404, "retry"],
    [408, "retry"],
    [409, "retry"],
    [410, "disable"],
    [413, "retry"],
    [422, "retry"],
    [429, "retry"],
    [499, "retry"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
    [599, "retry"],
    [600, "retry"],
    [999, "retry"],
  ])("%i → %s", (status, action) => {
    const expected: Verdict = action === "succeed" ? succeed : { action, reason: `http_${status}` };
    expect(response(status)).toEqual(expected);
  });

  it("never fails a response at once: over every status 100..599, only 2xx succeeds and only 410 disables", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.option(fc.nat({ max: 10 ** 6 })),
        (status, delay) => {
          const verdict = response(status, delay === null ? undefined : String(delay));
          if (status >= 200 && status <= 299) expect(verdict).toEqual({ action: "succeed" });
          else if (status === 410) expect(verdict).toEqual({ action: "disable", reason: "http_410" });
          else {
            expect(verdict).toMatchObject({ action: "retry", reason: `http_${status}` });
            const honoured = (status === 429 || status === 503) && delay !== null;
            expect(verdict.action === "retry" && verdict.retryAfterSeconds).toBe(
              honoured ? delay : undefined,
            );
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  describe("Retry-After", () => {
    // The delay the deliver loop asks SQS for after attempt 1, given the verdict.
    const nextDelay = (status: number, retryAfter?: string) => {
      const verdict = response(status, retryAfter);
      expect(verdict.action).toBe("retry");
      return retryDelaySeconds(
        defaultRetryPolicy,
        1,
        verdict.action === "retry" ? verdict.retryAfterSeconds : undefined,
        () => 0.5,
      );
    };
    const scheduled = DEFAULT_RETRY_SCHEDULE_SECONDS[0];

    it.each([429, 503])("on a %i sets the next delay (seconds or HTTP date)", (status) => {
      expect(nextDelay(status, "120")).toBe(120);
      expect(nextDelay(status, "Sat, 28 Nov 2026 12:10:00 GMT")).toBe(600);
      expect(response(status, "12")).toEqual({
        action: "retry",
        reason: `http_${status}`,
        retryAfterSeconds: 12,
      });
    });

    it.each([429, 503])(
      "on a %i is capped at the SQS visibility ceiling and floored at one second",
      (status) => {
        expect(nextDelay(status, "86400")).toBe(MAX_RETRY_DELAY_SECONDS);
        expect(nextDelay(status, "999999999")).toBe(MAX_RETRY_DELAY_SECONDS);
        expect(nextDelay(status, "Mon, 28 Dec 2026 12:00:00 GMT")).toBe(MAX_RETRY_DELAY_SECONDS);
        expect(nextDelay(status, "0")).toBe(1);
        expect(nextDelay(status, "Fri, 27 Nov 2026 12:00:00 GMT")).toBe(1);
      },
    );

    it.each([429, 503])("on a %i falls back to the schedule when absent or unreadable", (status) => {
      expect(nextDelay(status)).toBe(scheduled);
      expect(nextDelay(status, "soon")).toBe(scheduled);
      expect(nextDelay(status, "-5")).toBe(scheduled);
    });

    it.each([301, 400, 404, 408, 413, 500, 502, 504])("is ignored on a %i", (status) => {
      expect(response(status, "120")).toEqual(retry(status));
      expect(nextDelay(status, "120")).toBe(scheduled);
    });
  });

  it("transport errors retry, except our own refusals: a blocked destination or an unbuildable request", () => {
    for (const errorClass of [
      "timeout",
      "connection_refused",
      "connection_reset",
      "dns_failure",
      "tls_error",
      "network_error",
    ] as const) {
      expect(classifyAttempt({ kind: "transport_error", errorClass }, now)).toEqual({
        action: "retry",
        reason: errorClass,
      });
    }
    for (const errorClass of ["destination_blocked", "invalid_request"] as const) {
      expect(classifyAttempt({ kind: "transport_error", errorClass }, now)).toEqual({
        action: "fail",
        reason: errorClass,
      });
    }
  });
});
