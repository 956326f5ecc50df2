/**
 * Operational events: what the platform tells its operator about endpoints and deliveries, on EventBridge
 * (`docs/endpoint-health.md` shows each one). Emitted by whoever performed the transition — the conditional write
 * that changed the state decides — after that write landed, and best-effort: a crash between the write and the
 * PutEvents loses the notice (logged and counted as `OperationalEventsFailed`), it never sends one twice.
 */

export const OPERATIONAL_EVENT_SOURCE = "serverless-webhooks";

export type DisableReason = "endpoint_gone" | "sustained_failure" | "disabled_by_user";

interface Base {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly occurredAt: string;
}

export type OperationalEvent =
  | {
      readonly detailType: "Webhook Failing";
      readonly detail: Base & {
        readonly windowSeconds: number;
        readonly attempts: number;
        readonly failures: number;
        readonly nextProbeAt: string;
      };
    }
  | { readonly detailType: "Webhook Recovered"; readonly detail: Base & { readonly openedAt: string | null } }
  | {
      readonly detailType: "Webhook Disabled";
      readonly detail: Base & { readonly reason: DisableReason; readonly failingSince: string | null };
    }
  | {
      readonly detailType: "Delivery Exhausted";
      readonly detail: Base & {
        readonly deliveryId: string;
        readonly eventId: string;
        readonly eventType: string;
        readonly attempts: number;
        readonly reason: string;
      };
    }
  | {
      readonly detailType: "Secret Rotated";
      readonly detail: Base & { readonly previousSecretValidUntil: string | null };
    };

export type OperationalEventType = OperationalEvent["detailType"];

export interface OperationalEventSink {
  /** Sends the events; never throws (a failure is logged and counted by the adapter). */
  emit(events: readonly OperationalEvent[]): Promise<void>;
}

/** A sink that sends nothing: for functions and tests that have no bus configured. */
export const silentSink: OperationalEventSink = { emit: async () => undefined };
