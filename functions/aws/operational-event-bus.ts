/**
 * Operational events to EventBridge: PutEvents (AWS JSON 1.1), ten entries per request (the API's limit), each
 * entry logged. Best-effort by design (see `#core/health/operational-events.ts`): a failed request or failed
 * entries are sent once more, and what still fails is logged and counted — never thrown.
 *
 * The request is signed with `@smithy/signature-v4` (the SDK's own SigV4 signer, already in every bundle) and sent
 * with `node:https`, instead of `@aws-sdk/client-eventbridge`: that client's endpoint rules, models and
 * multi-region signer add ~20 KB, which would push the deliver bundle past its 400 KiB limit for one operation.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  OPERATIONAL_EVENT_SOURCE,
  type OperationalEvent,
  type OperationalEventSink,
} from "#core/health/operational-events.ts";
import type { RootBase } from "./runtime.ts";

const MAX_ENTRIES = 10;
const TIMEOUT_MS = 5000;

/** node:crypto as the signer's checksum: an HMAC when given a key (the signer makes a new one per use). */
class Sha256 {
  readonly #hash: Hash | Hmac;

  constructor(key?: unknown) {
    this.#hash = key === undefined ? createHash("sha256") : createHmac("sha256", key as string | Uint8Array);
  }

  update(data: string | Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

export interface OperationalEventLog {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface EventBusTarget {
  /** Name (or ARN) of the bus; without one, events are only logged. */
  readonly bus: string | undefined;
  readonly region: string;
  /** A local stand-in (tests, local mode); the regional service otherwise. */
  readonly endpoint?: string | undefined;
  readonly credentials: ConstructorParameters<typeof SignatureV4>[0]["credentials"];
}

interface PutEntry {
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Time: number;
}

interface PutAnswer {
  readonly status: number;
  readonly failedIndexes: Set<number>;
}

export class EventBridgeOperationalEvents implements OperationalEventSink {
  readonly #target: EventBusTarget;
  readonly #log: OperationalEventLog;
  readonly #onFailed: (count: number) => void;
  readonly #signer: SignatureV4;
  readonly #url: URL;

  constructor(
    target: EventBusTarget,
    log: OperationalEventLog,
    onFailed: (count: number) => void = () => undefined,
  ) {
    this.#target = target;
    this.#log = log;
    this.#onFailed = onFailed;
    this.#signer = new SignatureV4({
      service: "events",
      region: target.region,
      credentials: target.credentials,
      sha256: Sha256,
    });
    this.#url = new URL(target.endpoint ?? `https://events.${target.region}.amazonaws.com/`);
  }

  async emit(events: readonly OperationalEvent[]): Promise<void> {
    for (const event of events)
      this.#log.info("operational event", { detailType: event.detailType, detail: event.detail });
    const bus = this.#target.bus;
    if (!bus || events.length === 0) return;
    const entries: PutEntry[] = events.map((event) => ({
      EventBusName: bus,
      Source: OPERATIONAL_EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Time: Math.floor(Date.parse(event.detail.occurredAt) / 1000),
    }));
    for (let start = 0; start < entries.length; start += MAX_ENTRIES) {
      let pending = entries.slice(start, start + MAX_ENTRIES);
      for (let round = 0; round < 2 && pending.length > 0; round += 1) {
        try {
          const answer = await this.#put(pending);
          if (answer.status !== 200) continue;
          pending = pending.filter((_, index) => answer.failedIndexes.has(index));
        } catch (error) {
          this.#log.error("PutEvents failed", { error: error instanceof Error ? error.name : "unknown" });
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

  async #put(entries: readonly PutEntry[]): Promise<PutAnswer> {
    const url = this.#url;
    const body = JSON.stringify({ Entries: entries });
    const signed = await this.#signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSEvents.PutEvents",
      },
      body,
    });
    // Loaded on the first event, not at import: an ESM import of node:http reads every export, and its lazy
    // WebSocket getters load undici (~15 ms of a cold start that sends no operational event).
    const send =
      url.protocol === "http:"
        ? process.getBuiltinModule("node:http").request
        : process.getBuiltinModule("node:https").request;
    return new Promise<PutAnswer>((resolve, reject) => {
      const request = send(
        url,
        { method: "POST", headers: signed.headers, timeout: TIMEOUT_MS },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            let failedIndexes = new Set<number>();
            if (status === 200) {
              const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
                Entries?: { ErrorCode?: string }[];
              };
              failedIndexes = new Set(
                (parsed.Entries ?? []).flatMap((entry, index) => (entry.ErrorCode ? [index] : [])),
              );
            }
            resolve({ status, failedIndexes });
          });
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error("PutEvents timed out")));
      request.on("error", reject);
      request.end(body);
    });
  }
}

/** The operational-event sink of a composition root: its logger, its metrics, the credentials its clients use. */
export function operationalEventsOf(
  base: RootBase,
  credentials: () => EventBusTarget["credentials"],
): EventBridgeOperationalEvents {
  return new EventBridgeOperationalEvents(
    {
      bus: base.config.operationalEventBus,
      region: base.config.region,
      endpoint: base.config.endpoints.eventBridge,
      credentials: credentials(),
    },
    {
      info: (message, fields) => base.logger.info(message, fields),
      error: (message, fields) => base.logger.error(message, fields),
    },
    (count) => {
      const single = base.metrics.singleMetric();
      single.addMetric("OperationalEventsFailed", MetricUnit.Count, count);
    },
  );
}
