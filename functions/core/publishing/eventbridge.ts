/** Maps an EventBridge event (as another AWS service emits it) onto a publish request. */
import * as z from "zod/mini";
import "../shared/zod.ts";
import type { PublishRequest } from "../shared/model.ts";
import { TENANT_ID_PATTERN } from "../tenants/tenants.ts";

export const eventBridgeEventSchema = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(120)),
  "detail-type": z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  time: z.iso.datetime({ offset: true }),
  detail: z.json(),
});
export type EventBridgeEvent = z.infer<typeof eventBridgeEventSchema>;

/**
 * `detail-type` becomes the event type, with every run of characters outside `[A-Za-z0-9_.-]` turned into `-`
 * ("EC2 Instance State-change Notification" → "EC2-Instance-State-change-Notification"); a custom app's
 * `order.completed` passes unchanged. The EventBridge id keys idempotency, so EventBridge's own retries of the
 * target, and SQS's repeated deliveries of it, never fan out twice.
 */
export function fromEventBridge(event: EventBridgeEvent): PublishRequest {
  const type = event["detail-type"]
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[.-]+|[.-]+$/g, "");
  const detail = event.detail;
  const data =
    typeof detail === "object" && detail !== null && !Array.isArray(detail) ? detail : { value: detail };
  return { id: `evt_${event.id}`.slice(0, 128), type, source: event.source, timestamp: event.time, data };
}

export type TenantRouting =
  | { readonly tenantId: string }
  | { readonly unroutable: "missing_tenant" | "invalid_tenant"; readonly detail: string };

/**
 * Which tenant an EventBridge event is for: the string at `path` (e.g. `detail.tenantId`), or `fallback` when the
 * event names none. A value that cannot be a tenant id is never replaced by the fallback: it is unroutable.
 */
export function tenantOf(
  event: { readonly detail: unknown },
  path: string,
  fallback?: string,
): TenantRouting {
  let value: unknown = event;
  for (const part of path.split(".")) {
    value =
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)[part]
        : undefined;
  }
  if (value === undefined || value === null) {
    return fallback !== undefined
      ? { tenantId: fallback }
      : { unroutable: "missing_tenant", detail: `${path} is absent and no default tenant is set` };
  }
  if (typeof value === "string" && TENANT_ID_PATTERN.test(value)) return { tenantId: value };
  return { unroutable: "invalid_tenant", detail: `${path} is not a tenant id` };
}
