/**
 * Receiver-side wrappers around `verifyWebhook`: a Node `http` request listener and a middy-style middleware
 * for an API Gateway proxy Lambda. Copy this file together with `webhook-verifier.ts`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
  WebhookVerificationError,
} from "./webhook-verifier.ts";

export type ReceiverOptions = Omit<VerifyWebhookOptions, "headers" | "body" | "now"> & {
  /** Largest body accepted, in bytes (default 1 MiB; the platform sends at most 256 KiB of data). */
  readonly maxBodyBytes?: number;
};

export interface ReceivedWebhook extends VerifiedWebhook {
  /** The parsed JSON body: `{ id, type, timestamp, version, source, data }`. */
  readonly event: unknown;
}

class BodyTooLargeError extends Error {}

async function readRawBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function parseEvent(verified: VerifiedWebhook): ReceivedWebhook {
  return { ...verified, event: JSON.parse(verified.payload) as unknown };
}

/**
 * A `(request, response)` listener for `http.createServer`. Verified deliveries go to `onWebhook`; its success
 * answers 204, its throw answers 500 (the platform retries). Verification failures answer 400/401 with the
 * error code; a duplicate (per `isDuplicate`) answers 200 so the platform stops retrying.
 */
export function createWebhookListener(
  options: ReceiverOptions,
  onWebhook: (webhook: ReceivedWebhook) => void | Promise<void>,
): (request: IncomingMessage, response: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 1024 * 1024;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "POST") return reply(response, 405, { error: "method_not_allowed" });
    let webhook: ReceivedWebhook;
    try {
      const body = await readRawBody(request, limit);
      webhook = parseEvent(verifyWebhook({ ...options, headers: request.headers, body }));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return reply(response, 413, { error: "body_too_large" });
      if (error instanceof WebhookVerificationError)
        return reply(response, error.status, { error: error.code });
      return reply(response, 400, { error: "invalid_json" });
    }
    try {
      await onWebhook(webhook);
      response.writeHead(204).end();
    } catch {
      reply(response, 500, { error: "handler_failed" });
    }
  };
  return (request, response) => void handle(request, response);
}

interface ApiGatewayLikeEvent {
  headers?: Readonly<Record<string, string | undefined>> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/**
 * A middy-compatible middleware (`.use(verifyWebhookMiddleware(options))`) for API Gateway proxy events: it
 * verifies before the handler runs and answers the failure itself, so the handler only sees verified events.
 * The result is placed on `request.context.webhook`.
 */
export function verifyWebhookMiddleware(options: Omit<ReceiverOptions, "maxBodyBytes">) {
  return {
    before: (request: { event: ApiGatewayLikeEvent; context: object }) => {
      const raw = request.event.body ?? "";
      const body = request.event.isBase64Encoded ? Buffer.from(raw, "base64") : raw;
      try {
        const webhook = parseEvent(verifyWebhook({ ...options, headers: request.event.headers ?? {}, body }));
        Object.assign(request.context, { webhook });
        return undefined;
      } catch (error) {
        const status = error instanceof WebhookVerificationError ? error.status : 400;
        const code = error instanceof WebhookVerificationError ? error.code : "invalid_json";
        // Returning a value from `before` ends the middy chain with this response.
        return {
          statusCode: status,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: code }),
        };
      }
    },
  };
}
