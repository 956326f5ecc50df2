/**
 * When to try a failed delivery again. The queue holds the schedule: a retry is a ChangeMessageVisibility to
 * the next step, so each step must fit SQS's 12-hour visibility ceiling.
 */

/** Delays after attempts 1..7 (8 attempts in all, about 27.6 hours). */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/** SQS allows at most 12 h of visibility from the receive; keep a margin for the time spent processing. */
export const MAX_RETRY_DELAY_SECONDS = 43_200 - 300;
export const JITTER_RATIO = 0.2;

export interface RetryPolicy {
  /** Delay in seconds after each failed attempt; attempts = schedule length + 1. */
  readonly scheduleSeconds: readonly number[];
  readonly jitterRatio: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
  jitterRatio: JITTER_RATIO,
};

export function maxAttemptsOf(policy: RetryPolicy): number {
  return policy.scheduleSeconds.length + 1;
}

/** Attempts allowed for one webhook: its own `maxAttempts` when lower than the schedule's. */
export function attemptLimit(policy: RetryPolicy, webhookMaxAttempts: number | undefined): number {
  return Math.max(1, Math.min(maxAttemptsOf(policy), webhookMaxAttempts ?? Number.POSITIVE_INFINITY));
}

const clampDelay = (seconds: number) => Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(0, Math.round(seconds)));

/**
 * Seconds to wait after failed attempt `attempt` (1-based): the schedule's step with ±jitter, or the receiver's
 * `Retry-After` when it asked for one (bounded by the same ceiling). `random` returns [0, 1).
 */
export function retryDelaySeconds(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined) return clampDelay(Math.max(1, retryAfterSeconds));
  const step = policy.scheduleSeconds[Math.min(attempt, policy.scheduleSeconds.length) - 1] ?? 0;
  const jitter = 1 + policy.jitterRatio * (2 * random() - 1);
  return clampDelay(step * jitter);
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into seconds from `now`; undefined if absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** Parses a comma-separated schedule (`"1,2,4"`), refusing steps outside 0..MAX_RETRY_DELAY_SECONDS. */
export function parseSchedule(text: string): number[] {
  const steps = text.split(",").map((part) => (part.trim() === "" ? Number.NaN : Number(part.trim())));
  if (
    steps.length === 0 ||
    steps.some((step) => !Number.isInteger(step) || step < 0 || step > MAX_RETRY_DELAY_SECONDS)
  ) {
    throw new RangeError(
      `a retry schedule is comma-separated whole seconds from 0 to ${MAX_RETRY_DELAY_SECONDS}`,
    );
  }
  return steps;
}

/** Longest wait after a failure of our own dependencies: well inside the reconciler's grace. */
export const MAX_DEPENDENCY_BACKOFF_SECONDS = 600;

/**
 * Wait after a dependency failure on the `receives`-th receive: `base` doubling per receive, capped, so that a
 * 15-minute DynamoDB or Secrets Manager outage costs a handful of receives, not 30.
 */
export function dependencyBackoffSeconds(base: number, receives: number): number {
  const doublings = Math.min(Math.max(0, receives - 1), 16);
  return Math.min(MAX_DEPENDENCY_BACKOFF_SECONDS, Math.max(base, base * 2 ** doublings));
}

/** A day of margin for dependency backoffs and a slow consumer, on top of the schedule's worst-case span. */
export const RETENTION_MARGIN_SECONDS = 86_400;

/**
 * The longest a delivery can take from its first receive to its last attempt: every step at +jitter, plus the
 * margin. SQS keeps a message's original enqueue time, so this must fit the delivery queue's retention or a late
 * retry would expire silently.
 */
export function worstCaseScheduleSeconds(
  scheduleSeconds: readonly number[],
  jitterRatio = JITTER_RATIO,
): number {
  const span = scheduleSeconds.reduce(
    (sum, step) => sum + Math.min(MAX_RETRY_DELAY_SECONDS, step * (1 + jitterRatio)),
    0,
  );
  return Math.ceil(span) + RETENTION_MARGIN_SECONDS;
}
