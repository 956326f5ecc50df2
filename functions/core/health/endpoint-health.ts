/**
 * Endpoint health: the per-webhook rate limit, the circuit breaker and the sustained-failure clock, as pure
 * decisions over one health record per webhook (`docs/endpoint-health.md`). The adapters only execute them.
 */

export type CircuitState = "closed" | "open" | "half_open";

/** What the table keeps per webhook, beside (not inside) the webhook record, so health writes never race a PATCH. */
export interface EndpointHealth {
  readonly tenantId: string;
  readonly webhookId: string;
  /** Absent: closed. */
  readonly circuit?: CircuitState | undefined;
  readonly openedAt?: string | undefined;
  /** While open: when the next probe may go. */
  readonly probeAt?: string | undefined;
  /** While half-open: the one probe's lease (a container that died mid-probe loses it when this passes). */
  readonly probeLeaseUntil?: string | undefined;
  /** The current failure-density window: when it started, attempts and failures in it. */
  readonly windowStart?: string | undefined;
  readonly windowAttempts?: number | undefined;
  readonly windowFailures?: number | undefined;
  /** Set by the first failure after a success; removed by any success. */
  readonly failingSince?: string | undefined;
  readonly lastSuccessAt?: string | undefined;
  /** The rate limiter's theoretical arrival time (GCRA), epoch milliseconds. */
  readonly rateTat?: number | undefined;
}

export interface HealthPolicy {
  /** The failure-density window. */
  readonly windowSeconds: number;
  /** Attempts the window needs before its failure ratio counts. */
  readonly minAttempts: number;
  /** Failed share of the window's attempts (0–100) that opens the circuit. */
  readonly failurePercent: number;
  /** While open, one probe per this many seconds. */
  readonly probeIntervalSeconds: number;
  /** How long one probe holds its lease: longer than a request can take. */
  readonly probeLeaseSeconds: number;
  /** Continuous failure (no success at all) for this long disables the webhook; 0 never does. */
  readonly disableAfterSeconds: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  windowSeconds: 60,
  minAttempts: 20,
  failurePercent: 80,
  probeIntervalSeconds: 60,
  probeLeaseSeconds: 120,
  disableAfterSeconds: 5 * 86_400,
};

const ms = (iso: string | undefined) => (iso === undefined ? Number.NaN : Date.parse(iso));

/** Whether the window the record counts in is still the current one at `now`. */
export function windowIsCurrent(
  health: EndpointHealth | undefined,
  policy: HealthPolicy,
  now: Date,
): boolean {
  const start = ms(health?.windowStart);
  return Number.isFinite(start) && now.getTime() - start < policy.windowSeconds * 1000;
}

/**
 * Whether a batch whose attempts all succeeded must have its counts written. A healthy webhook's successes change
 * no decision — no failure in the current window, no failure clock, the circuit closed — so they are written once
 * per window (keeping `lastSuccessAt` within a window of the truth), not once per batch: no extra call on the
 * normal path. The window's failure ratio is therefore over its attempts since its first failure.
 */
export function successesNeedWriting(
  health: EndpointHealth | undefined,
  policy: HealthPolicy,
  now: Date,
): boolean {
  if (!health || health.failingSince !== undefined || (health.circuit ?? "closed") !== "closed") return true;
  if (windowIsCurrent(health, policy, now) && (health.windowFailures ?? 0) > 0) return true;
  const lastSuccess = ms(health.lastSuccessAt);
  return !Number.isFinite(lastSuccess) || now.getTime() - lastSuccess >= policy.windowSeconds * 1000;
}

/** Attempts and failures of the current window once this batch's are added. */
export function windowAfter(
  health: EndpointHealth | undefined,
  policy: HealthPolicy,
  now: Date,
  batch: { attempts: number; failures: number },
): { attempts: number; failures: number } {
  const current = windowIsCurrent(health, policy, now);
  return {
    attempts: (current ? (health?.windowAttempts ?? 0) : 0) + batch.attempts,
    failures: (current ? (health?.windowFailures ?? 0) : 0) + batch.failures,
  };
}

/** Whether a window's failure density opens the circuit. */
export function shouldOpen(window: { attempts: number; failures: number }, policy: HealthPolicy): boolean {
  return (
    window.attempts >= policy.minAttempts && window.failures * 100 >= policy.failurePercent * window.attempts
  );
}

export type CircuitGate =
  | { readonly kind: "closed" }
  /** Held without a request or an attempt, for this many seconds. */
  | { readonly kind: "hold"; readonly delaySeconds: number }
  /** Open and a probe is due: whoever takes the lease sends exactly one delivery. */
  | { readonly kind: "probe_due" };

const HOLD_MIN_SECONDS = 1;

export function circuitGate(
  health: EndpointHealth | undefined,
  policy: HealthPolicy,
  now: Date,
): CircuitGate {
  if (!health?.circuit || health.circuit === "closed") return { kind: "closed" };
  const at = now.getTime();
  const lease = ms(health.probeLeaseUntil);
  if (Number.isFinite(lease) && lease > at)
    return { kind: "hold", delaySeconds: Math.max(HOLD_MIN_SECONDS, policy.probeIntervalSeconds) };
  const probeAt = ms(health.probeAt);
  if (Number.isFinite(probeAt) && probeAt > at)
    return { kind: "hold", delaySeconds: Math.max(HOLD_MIN_SECONDS, Math.ceil((probeAt - at) / 1000)) };
  return { kind: "probe_due" };
}

/** Whether the webhook has failed, with no success at all, for the whole auto-disable window. */
export function failedTooLong(health: EndpointHealth | undefined, policy: HealthPolicy, now: Date): boolean {
  if (policy.disableAfterSeconds <= 0) return false;
  const since = ms(health?.failingSince);
  return Number.isFinite(since) && now.getTime() - since >= policy.disableAfterSeconds * 1000;
}

/**
 * The rate limit as GCRA (a token bucket kept as one number): each request moves the theoretical arrival time
 * `tat` on by 1/limit s, and a request is allowed while `tat` stays within `burst` intervals of now. Over any
 * window of W seconds at most limit·W + burst requests are allowed, whatever the number of workers.
 */
/**
 * A quarter of a second's worth: over any 5 s window at most 5.25 × limit (5 % over), and a batch of 10 can go at
 * once from 40/s up. Smaller bursts are more exact but hold more messages back for another receive.
 */
export const burstOf = (limitPerSecond: number) => Math.max(1, Math.floor(limitPerSecond / 4));
export const intervalMs = (limitPerSecond: number) => 1000 / limitPerSecond;

export type RateReservation =
  /** Nothing can be granted now. */
  | { readonly kind: "none" }
  /** The bucket is idle (`tat` in the past or absent): set `tat` to `newTat` if it is still below `now`. */
  | { readonly kind: "reset"; readonly granted: number; readonly newTat: number; readonly now: number }
  /** Add `add` to `tat` if it is still at most `maxTat`. */
  | { readonly kind: "advance"; readonly granted: number; readonly add: number; readonly maxTat: number };

export function planReservation(
  limitPerSecond: number,
  tat: number | undefined,
  now: number,
  wanted: number,
): RateReservation {
  const interval = intervalMs(limitPerSecond);
  const burst = burstOf(limitPerSecond);
  if (wanted <= 0) return { kind: "none" };
  if (tat === undefined || tat < now) {
    const granted = Math.min(wanted, burst);
    return { kind: "reset", granted, newTat: now + granted * interval, now };
  }
  // A tiny epsilon: floating-point intervals (1000/3) must not lose a whole request to rounding.
  const room = Math.floor((now + burst * interval - tat) / interval + 1e-9);
  const granted = Math.min(wanted, room);
  if (granted <= 0) return { kind: "none" };
  return { kind: "advance", granted, add: granted * interval, maxTat: now + (burst - granted) * interval };
}

/** Seconds until the `position`-th (1-based) request beyond those granted may go, given `tat` after the grant. */
export function rateWaitSeconds(limitPerSecond: number, tat: number, now: number, position: number): number {
  const interval = intervalMs(limitPerSecond);
  const allowedAt = tat + position * interval - burstOf(limitPerSecond) * interval;
  return Math.max(1, Math.ceil((allowedAt - now) / 1000));
}
