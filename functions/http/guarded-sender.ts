/**
 * Outbound POSTs through the SSRF guard. The URL is re-checked against the destination policy; host names are
 * resolved once by a `lookup` that refuses the connection if *any* answer is not a public address (fail closed:
 * mixed, rebinding, and NXDOMAIN answers never connect), and the socket connects to the address that was checked.
 * IP literals skip `lookup`, so the URL check covers them. Redirects are never followed (node:http does not),
 * every request has a total deadline, at most 4 KiB of the response is kept, and connections are kept alive
 * across records. Built on node:http/https rather than undici: same guarantees, nothing added to the bundle.
 */
import type { LookupAddress } from "node:dns";
import type * as Http from "node:http";
import type * as Https from "node:https";
import type { LookupFunction } from "node:net";
import type { HttpSender, SendResult } from "#core/delivery/deliver.ts";
import type { TransportErrorClass } from "#core/delivery/delivery-outcome.ts";
import {
  checkWebhookUrl,
  type DestinationPolicy,
  DestinationRefusedError,
  isAllowedAddress,
} from "#core/delivery/destination-policy.ts";

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    process
      .getBuiltinModule("node:dns")
      .lookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses),
      ),
  );

export interface GuardedSenderOptions {
  readonly policy: DestinationPolicy;
  /** Total deadline of one request, connect to last byte (default 15 s). */
  readonly timeoutMs?: number;
  /** Response bytes kept for the attempt record (default 4 KiB). */
  readonly maxResponseBytes?: number;
  /** Bytes drained after that to keep the connection reusable; beyond it the socket is dropped. */
  readonly maxDrainBytes?: number;
  readonly resolver?: Resolver;
}

class BlockedAddressError extends Error {
  readonly code = "EBLOCKED";
}

/** The `lookup` the sockets use: resolve once, refuse unless every answer is allowed, connect to what was checked. */
export function guardedLookup(resolver: Resolver, policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        if (addresses.length === 0)
          return callback(
            Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }),
            "",
            0,
          );
        if (addresses.some((entry) => !isAllowedAddress(entry.address, policy.allowPrivate))) {
          return callback(new BlockedAddressError("resolved to a non-public address"), "", 0);
        }
        const first = addresses[0] as LookupAddress;
        if (options.all)
          return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 0),
    );
  };
}

function classifyError(error: unknown): TransportErrorClass {
  const code = (error as { code?: string } | undefined)?.code ?? "";
  if (error instanceof BlockedAddressError || code === "EBLOCKED") return "destination_blocked";
  if (code === "ETIMEDOUT" || code === "ABORT_ERR" || (error as Error | undefined)?.name === "TimeoutError")
    return "timeout";
  if (code === "ECONNREFUSED") return "connection_refused";
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED") return "connection_reset";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NODATA") return "dns_failure";
  if (
    code.startsWith("ERR_TLS") ||
    code.startsWith("CERT_") ||
    code.includes("SSL") ||
    code === "EPROTO" ||
    code.startsWith("UNABLE_TO")
  ) {
    return "tls_error";
  }
  return "network_error";
}

export interface GuardedSender extends HttpSender {
  close(): void;
}

export function createGuardedSender(options: GuardedSenderOptions): GuardedSender {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxResponseBytes = options.maxResponseBytes ?? 4096;
  const maxDrainBytes = options.maxDrainBytes ?? 64 * 1024;
  const lookup = guardedLookup(options.resolver ?? systemResolver, options.policy);
  const agentOptions = { keepAlive: true, maxSockets: 50, lookup };
  // node:http, node:https (and TLS under it) are loaded on the first POST, not on the import path: they were a
  // third of the deliver bundle's import time, and the SDK's own clients load them only when they first call AWS.
  let http: typeof Http | undefined;
  let httpAgent: Http.Agent | undefined;
  let https: typeof Https | undefined;
  let httpsAgent: Https.Agent | undefined;
  const transport = (protocol: string) => {
    if (protocol !== "https:") {
      http ??= process.getBuiltinModule("node:http");
      httpAgent ??= new http.Agent(agentOptions);
      return { client: http, agent: httpAgent };
    }
    https ??= process.getBuiltinModule("node:https");
    httpsAgent ??= new https.Agent(agentOptions);
    return { client: https, agent: httpsAgent };
  };

  const post = (
    rawUrl: string,
    headers: Readonly<Record<string, string>>,
    body: string,
  ): Promise<SendResult> => {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    let url: URL;
    try {
      url = checkWebhookUrl(rawUrl, options.policy);
    } catch (error) {
      const errorClass: TransportErrorClass =
        error instanceof DestinationRefusedError ? "destination_blocked" : "network_error";
      return Promise.resolve({ result: { kind: "transport_error", errorClass }, durationMs: elapsed() });
    }
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      // Declared before `finish` can run: `client.request` may throw synchronously, before any timer exists.
      let deadline: NodeJS.Timeout | undefined;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      const fail = (error: unknown) =>
        finish({
          result: { kind: "transport_error", errorClass: classifyError(error) },
          durationMs: elapsed(),
        });
      let request: Http.ClientRequest;
      try {
        const { client, agent } = transport(url.protocol);
        request = client.request(url, {
          method: "POST",
          agent,
          headers: { ...headers, "content-length": String(Buffer.byteLength(body, "utf8")) },
        });
      } catch (error) {
        // node:http refuses CR/LF or other invalid characters in headers: a permanent, local failure.
        return finish({
          result: { kind: "transport_error", errorClass: "invalid_request" },
          durationMs: elapsed(),
          responseBody: (error as { code?: string }).code ?? "invalid request",
        });
      }
      deadline = setTimeout(() => {
        request.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" }));
      }, timeoutMs);
      request.on("error", fail);
      // A 101 answer hands the socket to an `upgrade` listener; without one node:http closes the request with
      // neither an error nor a response, and this promise would never settle. Record the status, drop the socket.
      request.on("upgrade", (response, socket) => {
        socket.destroy();
        finish({
          result: { kind: "response", status: response.statusCode ?? 101 },
          durationMs: elapsed(),
          responseBody: "",
        });
      });
      request.on("response", (response) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let seenBytes = 0;
        response.on("data", (chunk: Buffer) => {
          seenBytes += chunk.length;
          if (keptBytes < maxResponseBytes) {
            const slice = chunk.subarray(0, maxResponseBytes - keptBytes);
            kept.push(slice);
            keptBytes += slice.length;
          }
          if (seenBytes > maxResponseBytes + maxDrainBytes) response.destroy();
        });
        const done = () =>
          finish({
            result: {
              kind: "response",
              status: response.statusCode ?? 0,
              retryAfter: response.headers["retry-after"],
            },
            durationMs: elapsed(),
            responseBody: Buffer.concat(kept).toString("utf8"),
          });
        response.on("end", done);
        response.on("close", done);
        response.on("error", done);
      });
      request.end(body, "utf8");
    });
  };

  return {
    post,
    close: () => {
      httpAgent?.destroy();
      httpsAgent?.destroy();
    },
  };
}
