/** Real HTTP receivers on 127.0.0.1 whose answers a test scripts, recording every request they get. */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly path: string;
  readonly at: number;
}

export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Wait this long before answering (to trip the sender's timeout). */
  readonly delayMs?: number;
  /** Drop the connection without answering (a reset). */
  readonly reset?: boolean;
}

export type Script = (request: ReceivedRequest, index: number) => Reply;

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  script: Script;
  close(): Promise<void>;
}

export async function startReceiver(
  script: Script = () => ({ status: 204 }),
  host = "127.0.0.1",
): Promise<Receiver> {
  const receiver: Receiver = {
    url: "",
    port: 0,
    requests: [],
    connections: 0,
    script,
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const received = {
        method: request.method ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        path: request.url ?? "/",
        at: Date.now(),
      };
      const index = receiver.requests.push(received) - 1;
      const reply = receiver.script(received, index);
      const answer = () => {
        if (reply.reset) {
          request.socket.destroy();
          return;
        }
        response.writeHead(reply.status ?? 204, reply.headers ?? {});
        response.end(reply.body ?? "");
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  server.on("connection", () => {
    receiver.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
