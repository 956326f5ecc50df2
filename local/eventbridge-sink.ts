/**
 * A stand-in for EventBridge's PutEvents endpoint on 127.0.0.1: the platform's real request (AWS JSON 1.1,
 * `X-Amz-Target: AWSEvents.PutEvents`, SigV4-signed for the `events` service) arrives here instead of at AWS, and
 * each entry is recorded as sent. Local mode lists them at `GET /_local/operational-events`; tests assert on
 * exactly what went on the wire.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedEvent {
  readonly id: string;
  readonly receivedAt: string;
  readonly eventBusName: string | undefined;
  readonly source: string;
  readonly detailType: string;
  /** The entry's `Detail`, parsed (EventBridge requires a JSON object). */
  readonly detail: Record<string, unknown>;
  /** The entry's `Time` as sent (epoch seconds in AWS JSON 1.1). */
  readonly time: unknown;
  /** The service and region the request's SigV4 credential scope names (`events`, …). */
  readonly signedFor: string | undefined;
}

export interface EventBridgeSink {
  readonly url: string;
  readonly events: RecordedEvent[];
  /** PutEvents requests received, failed ones included. */
  readonly requests: () => number;
  /** Answers the next `count` requests with a 500 (no entry recorded): a PutEvents outage. */
  failNext(count: number): void;
  close(): Promise<void>;
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface PutEntry {
  readonly Source?: unknown;
  readonly DetailType?: unknown;
  readonly Detail?: unknown;
  readonly EventBusName?: unknown;
  readonly Time?: unknown;
}

export async function startEventBridgeSink(
  onEvent: (event: RecordedEvent) => void = () => undefined,
): Promise<EventBridgeSink> {
  const events: RecordedEvent[] = [];
  let failures = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    void readAll(request).then((body) => {
      requests += 1;
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
        String(request.headers.authorization ?? ""),
      );
      const reply = (status: number, payload: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(payload));
      };
      if (request.headers["x-amz-target"] !== "AWSEvents.PutEvents")
        return reply(400, { __type: "UnknownOperationException" });
      if (failures > 0) {
        failures -= 1;
        return reply(500, { __type: "InternalException", message: "injected failure" });
      }
      let entries: PutEntry[];
      try {
        entries = (JSON.parse(body) as { Entries?: PutEntry[] }).Entries ?? [];
      } catch {
        return reply(400, { __type: "ValidationException", message: "not JSON" });
      }
      const ids = entries.map((entry) => {
        const recorded: RecordedEvent = {
          id: randomUUID(),
          receivedAt: new Date().toISOString(),
          eventBusName: typeof entry.EventBusName === "string" ? entry.EventBusName : undefined,
          source: String(entry.Source),
          detailType: String(entry.DetailType),
          detail: JSON.parse(String(entry.Detail)) as Record<string, unknown>,
          time: entry.Time,
          signedFor: scope ? `${scope[2]} ${scope[1]}` : undefined,
        };
        events.push(recorded);
        onEvent(recorded);
        return { EventId: recorded.id };
      });
      return reply(200, { FailedEntryCount: 0, Entries: ids });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    requests: () => requests,
    failNext: (count) => {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
