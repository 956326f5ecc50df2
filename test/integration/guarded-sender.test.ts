import { type AddressInfo, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DestinationPolicy } from "#core/delivery/destination-policy.ts";
import { createGuardedSender } from "#functions/http/guarded-sender.ts";

/** A TCP listener that answers the first request of each connection with the raw bytes `answers[path]`, to send what no HTTP server would. */
const answers: Record<string, string> = {
  "/continue-then-200": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
  "/processing-then-204": "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
  "/early-hints-then-404":
    "HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
  "/processing-only": "HTTP/1.1 102 Processing\r\n\r\n",
  "/upgrade": "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
  "/status-099": "HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n",
  "/status-600": "HTTP/1.1 600 Odd\r\ncontent-length: 0\r\n\r\n",
  "/status-999": "HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n",
  "/status-1000": "HTTP/1.1 1000 Odd\r\ncontent-length: 0\r\n\r\n",
};

describe("the guarded sender against odd answers", () => {
  let server: Server;
  let base = "";

  beforeAll(async () => {
    server = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", (chunk: Buffer) => {
        const path = /^POST (\S+) /.exec(chunk.toString("latin1"))?.[1] ?? "";
        socket.write(answers[path] ?? "HTTP/1.1 500 Unknown\r\ncontent-length: 0\r\n\r\n");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  // A sender per request: the listener answers once per connection, so no kept-alive socket is reused.
  const policy: DestinationPolicy = {
    allowHttp: true,
    allowedPorts: [[1, 65_535]],
    allowPrivate: "loopback",
  };
  const send = async (path: string) => {
    const sender = createGuardedSender({ policy, timeoutMs: 500 });
    try {
      return (await sender.post(`${base}${path}`, {}, "{}")).result;
    } finally {
      sender.close();
    }
  };

  it("skips informational answers (100, 102, 103) and reports the final status", async () => {
    expect(await send("/continue-then-200")).toMatchObject({ kind: "response", status: 200 });
    expect(await send("/processing-then-204")).toMatchObject({ kind: "response", status: 204 });
    expect(await send("/early-hints-then-404")).toMatchObject({ kind: "response", status: 404 });
  });

  it("reports an informational answer with no final status as a timeout", async () => {
    expect(await send("/processing-only")).toEqual({ kind: "transport_error", errorClass: "timeout" });
  });

  it("settles on a 101 upgrade answer (reported as status 101) instead of hanging", async () => {
    expect(await send("/upgrade")).toMatchObject({ kind: "response", status: 101 });
  }, 10_000);

  it("reports any three-digit status node:http parses, and a longer one as a network error", async () => {
    expect(await send("/status-099")).toMatchObject({ kind: "response", status: 99 });
    expect(await send("/status-600")).toMatchObject({ kind: "response", status: 600 });
    expect(await send("/status-999")).toMatchObject({ kind: "response", status: 999 });
    expect(await send("/status-1000")).toEqual({ kind: "transport_error", errorClass: "network_error" });
  });
});
