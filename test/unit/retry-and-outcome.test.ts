import { describe, expect, it } from "vitest";
import { classifyAttempt } from "#core/delivery-outcome.ts";
import {
  attemptLimit,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  defaultRetryPolicy,
  MAX_RETRY_DELAY_SECONDS,
  maxAttemptsOf,
  parseRetryAfter,
  parseSchedule,
  retryDelaySeconds,
} from "#core/retry-policy.ts";

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

describe("classifyAttempt follows the wire contract", () => {
  const response = (status: number, retryAfter?: string) =>
    classifyAttempt({ kind: "response", status, retryAfter }, now);

  it.each([200, 201, 204, 299])("%i succeeds", (status) =>
    expect(response(status)).toEqual({ action: "succeed" }),
  );
  it.each([301, 302, 307, 308, 400, 401, 403, 404, 422])("%i fails permanently", (status) =>
    expect(response(status)).toEqual({ action: "fail", reason: `http_${status}` }),
  );
  it.each([408, 500, 502, 504])("%i retries", (status) =>
    expect(response(status)).toEqual({ action: "retry", reason: `http_${status}` }),
  );
  it("410 disables the webhook", () =>
    expect(response(410)).toEqual({ action: "disable", reason: "http_410" }));
  it("429 and 503 carry Retry-After", () => {
    expect(response(429, "12")).toEqual({ action: "retry", reason: "http_429", retryAfterSeconds: 12 });
    expect(response(503)).toEqual({ action: "retry", reason: "http_503", retryAfterSeconds: undefined });
  });
  it("transport errors retry, except a blocked destination or an invalid request", () => {
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
    expect(classifyAttempt({ kind: "transport_error", errorClass: "destination_blocked" }, now).action).toBe(
      "fail",
    );
    expect(classifyAttempt({ kind: "transport_error", errorClass: "invalid_request" }, now).action).toBe(
      "fail",
    );
  });
});
