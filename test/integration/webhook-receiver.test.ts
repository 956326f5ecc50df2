import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import middy from "@middy/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedRequestHeaders } from "#core/signing/signing.ts";
import { generateSigningSecret } from "#core/signing/signing-secrets.ts";
import {
  createWebhookListener,
  type ReceivedWebhook,
  verifyWebhookMiddleware,
} from "#core/signing/webhook-receiver.ts";

const secret = generateSigningSecret();
const body = JSON.stringify({ id: "evt_7", type: "user.created", data: { userId: "u1" } });
const signed = (overrides: Partial<Parameters<typeof signedRequestHeaders>[0]> = {}) =>
  signedRequestHeaders({
    eventId: "evt_7",
    eventType: "user.created",
    deliveryId: "dlv_7",
    attempt: 1,
    timestamp: Math.floor(Date.now() / 1000),
    body,
    secrets: [secret],
    scheme: "standard",
    ...overrides,
  });

describe("createWebhookListener on a real HTTP server", () => {
  const received: ReceivedWebhook[] = [];
  const seen = new Set<string>();
  let failNext = false;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const listener = createWebhookListener(
      { secrets: [secret], isDuplicate: (id) => seen.has(id) },
      (webhook) => {
        if (failNext) {
          failNext = false;
          throw new Error("downstream unavailable");
        }
        seen.add(webhook.id);
        received.push(webhook);
      },
    );
    server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (headers: Record<string, string>, payload = body) =>
    fetch(url, { method: "POST", headers, body: payload });

  it("hands a verified delivery to the handler and answers 204", async () => {
    const response = await post(signed());
    expect(response.status).toBe(204);
    expect(received.at(-1)).toMatchObject({
      id: "evt_7",
      event: { type: "user.created", data: { userId: "u1" } },
    });
  });

  it("answers 200 to a duplicate webhook-id without calling the handler again", async () => {
    const before = received.length;
    const response = await post(signed({ attempt: 2 }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ error: "duplicate" });
    expect(received).toHaveLength(before);
  });

  it("answers 401 to a bad signature and 400 to a stale timestamp, naming the reason", async () => {
    const forged = await post({
      ...signed({ eventId: "evt_8" }),
      "webhook-signature": signed({ eventId: "evt_x" })["webhook-signature"] ?? "",
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: "no_matching_signature" });
    const stale = await post(signed({ eventId: "evt_9", timestamp: Math.floor(Date.now() / 1000) - 3600 }));
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual({ error: "timestamp_too_old" });
  });

  it("answers 500 when the handler throws, so the platform retries", async () => {
    failNext = true;
    const response = await post(signed({ eventId: "evt_10" }));
    expect(response.status).toBe(500);
    const retried = await post(signed({ eventId: "evt_10", attempt: 2 }));
    expect(retried.status).toBe(204);
  });
});

describe("verifyWebhookMiddleware in a middy handler", () => {
  const handler = middy()
    .use(verifyWebhookMiddleware({ secrets: [secret] }))
    .handler(async (_event, context) => ({
      statusCode: 200,
      body: JSON.stringify({ got: (context as { webhook?: ReceivedWebhook }).webhook?.id }),
    }));

  it("passes verified API Gateway events to the handler, base64 bodies included", async () => {
    const plain = await handler({ headers: signed(), body, isBase64Encoded: false }, {} as never);
    expect(plain).toEqual({ statusCode: 200, body: '{"got":"evt_7"}' });
    const encoded = await handler(
      { headers: signed(), body: Buffer.from(body).toString("base64"), isBase64Encoded: true },
      {} as never,
    );
    expect(encoded).toEqual({ statusCode: 200, body: '{"got":"evt_7"}' });
  });

  it("answers a bad signature itself, before the handler runs", async () => {
    const response = await handler(
      { headers: { ...signed(), "webhook-signature": "v1," }, body },
      {} as never,
    );
    expect(response).toMatchObject({ statusCode: 401, body: '{"error":"no_matching_signature"}' });
  });
});
