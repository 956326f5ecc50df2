/**
 * Operational events to EventBridge: PutEvents, ten entries per request (the API's limit), each entry logged.
 * Best-effort by design (see `#core/health/operational-events.ts`): the SDK retries a failed request, entries
 * EventBridge reports as failed are sent once more, and what still fails is logged and counted — never thrown.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import {
  OPERATIONAL_EVENT_SOURCE,
  type OperationalEvent,
  type OperationalEventSink,
} from "#core/health/operational-events.ts";

const MAX_ENTRIES = 10;

export interface OperationalEventLog {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export class EventBridgeOperationalEvents implements OperationalEventSink {
  readonly #client: EventBridgeClient | undefined;
  readonly #bus: string | undefined;
  readonly #log: OperationalEventLog;
  readonly #onFailed: (count: number) => void;

  /** Without a bus, events are only logged. */
  constructor(
    client: EventBridgeClient | undefined,
    bus: string | undefined,
    log: OperationalEventLog,
    onFailed: (count: number) => void = () => undefined,
  ) {
    this.#client = client;
    this.#bus = bus;
    this.#log = log;
    this.#onFailed = onFailed;
  }

  async emit(events: readonly OperationalEvent[]): Promise<void> {
    for (const event of events)
      this.#log.info("operational event", { detailType: event.detailType, detail: event.detail });
    const client = this.#client;
    const bus = this.#bus;
    if (!client || !bus || events.length === 0) return;
    const entries: PutEventsRequestEntry[] = events.map((event) => ({
      EventBusName: bus,
      Source: OPERATIONAL_EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Time: new Date(event.detail.occurredAt),
    }));
    for (let start = 0; start < entries.length; start += MAX_ENTRIES) {
      let pending = entries.slice(start, start + MAX_ENTRIES);
      for (let round = 0; round < 2 && pending.length > 0; round += 1) {
        try {
          const response = await client.send(new PutEventsCommand({ Entries: pending }));
          pending = pending.filter((_, index) => response.Entries?.[index]?.ErrorCode !== undefined);
        } catch (error) {
          this.#log.error("PutEvents failed", { error: error instanceof Error ? error.name : "unknown" });
          break;
        }
      }
      if (pending.length > 0) {
        this.#onFailed(pending.length);
        this.#log.error("operational events not sent", {
          detailTypes: pending.map((entry) => entry.DetailType),
        });
      }
    }
  }
}
