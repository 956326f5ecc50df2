/** What one HTTP attempt's result means for the delivery, per the wire contract. */
import { parseRetryAfter } from "./retry-policy.ts";

export type TransportErrorClass =
  | "timeout"
  | "connection_refused"
  | "connection_reset"
  | "dns_failure"
  | "tls_error"
  | "network_error"
  | "destination_blocked"
  | "invalid_request";

export type AttemptResult =
  | { readonly kind: "response"; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly kind: "transport_error"; readonly errorClass: TransportErrorClass };

export type Verdict =
  | { readonly action: "succeed" }
  | { readonly action: "retry"; readonly reason: string; readonly retryAfterSeconds?: number | undefined }
  | { readonly action: "fail"; readonly reason: string }
  | { readonly action: "disable"; readonly reason: string };

/**
 * Our own refusals: the request never left, and sending it again cannot change that. A blocked destination
 * (the SSRF guard said no) or a request node:http refuses to build (`invalid_request`).
 */
const OWN_REFUSALS: ReadonlySet<TransportErrorClass> = new Set(["destination_blocked", "invalid_request"]);

/**
 * The Standard Webhooks rules. 2xx succeeds. 410 Gone disables the webhook. Every other status (1xx, 3xx —
 * redirects are never followed —, 4xx, 5xx, anything out of range), timeouts and network errors retry on the
 * schedule; 429 and 503 carry the receiver's `Retry-After` as the next delay (bounded by `retryDelaySeconds`),
 * every other status ignores it. Only our own refusals fail at once.
 */
export function classifyAttempt(result: AttemptResult, now: Date): Verdict {
  if (result.kind === "transport_error") {
    return OWN_REFUSALS.has(result.errorClass)
      ? { action: "fail", reason: result.errorClass }
      : { action: "retry", reason: result.errorClass };
  }
  const { status } = result;
  const reason = `http_${status}`;
  if (status >= 200 && status <= 299) return { action: "succeed" };
  if (status === 410) return { action: "disable", reason };
  if (status === 429 || status === 503) {
    return { action: "retry", reason, retryAfterSeconds: parseRetryAfter(result.retryAfter, now) };
  }
  return { action: "retry", reason };
}
