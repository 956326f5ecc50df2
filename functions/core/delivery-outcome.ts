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
 * 2xx success; 3xx failure, never followed; 410 disables the webhook; 408, 429, 5xx and transport errors
 * retry (429/503 with `Retry-After`); other 4xx and blocked destinations fail permanently.
 */
export function classifyAttempt(result: AttemptResult, now: Date): Verdict {
  if (result.kind === "transport_error") {
    const permanent = result.errorClass === "destination_blocked" || result.errorClass === "invalid_request";
    return permanent
      ? { action: "fail", reason: result.errorClass }
      : { action: "retry", reason: result.errorClass };
  }
  const { status } = result;
  if (status >= 200 && status < 300) return { action: "succeed" };
  if (status === 410) return { action: "disable", reason: "http_410" };
  if (status === 429 || status === 503) {
    return {
      action: "retry",
      reason: `http_${status}`,
      retryAfterSeconds: parseRetryAfter(result.retryAfter, now),
    };
  }
  if (status === 408 || status >= 500) return { action: "retry", reason: `http_${status}` };
  return { action: "fail", reason: `http_${status}` };
}
