/**
 * A token bucket per tenant, per container: `ratePerSecond` refill, `burst` capacity. With reserved concurrency
 * N on the portal function, one tenant can make at most N × the rate per second overall (docs/portal.md says why
 * not an API Gateway usage plan). Buckets of idle tenants are dropped beyond `maxTenants`.
 */
import { TooManyRequestsError } from "./portal-tokens.ts";

export interface RateLimitSettings {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxTenants?: number;
}

export class TenantRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #settings: RateLimitSettings;
  readonly #now: () => number;

  constructor(settings: RateLimitSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  /** Takes one request from the tenant's bucket, or throws a 429 saying when to retry. */
  take(tenantId: string): void {
    const { ratePerSecond, burst } = this.#settings;
    const now = this.#now();
    const bucket = this.#buckets.get(tenantId) ?? { tokens: burst, at: now };
    this.#buckets.delete(tenantId);
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
    bucket.at = now;
    this.#buckets.set(tenantId, bucket);
    if (this.#buckets.size > (this.#settings.maxTenants ?? 10_000)) {
      const idlest = this.#buckets.keys().next().value;
      if (idlest !== undefined) this.#buckets.delete(idlest);
    }
    if (bucket.tokens < 1) throw new TooManyRequestsError(Math.ceil((1 - bucket.tokens) / ratePerSecond));
    bucket.tokens -= 1;
  }
}
