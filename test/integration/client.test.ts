/**
 * The typed client end to end: over HTTP (127.0.0.1) to the local API Gateway shim, the real handlers and the
 * real engines, SigV4-signed as against a deployed stack. Every answer is also checked against the OpenAPI
 * document on the way (`pipeline.api`).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";
import {
  ApiProblem,
  createClient,
  createWebhook,
  getEvent,
  publishEvent,
  putTenant,
  rotateSecret,
  updateWebhook,
  type WebhooksClient,
} from "../../client/index.ts";

let pipeline: Pipeline;
let receiver: Receiver;
let server: Server;
let client: WebhooksClient;
const authorizations: string[] = [];

beforeAll(async () => {
  pipeline = await startPipeline();
  receiver = await startReceiver(() => ({ status: 200 }));
  // The shim over HTTP: what `npm start` serves, on the pipeline's private table and queues.
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      authorizations.push(request.headers.authorization ?? "");
      const headers = Object.fromEntries(
        Object.entries(request.headers).flatMap(([name, value]) =>
          typeof value === "string" ? [[name, value]] : [],
        ),
      );
      const body = Buffer.concat(chunks).toString("utf8");
      void pipeline
        .api(
          request.method ?? "GET",
          (request.url ?? "/").replace(/^\/v1/, ""),
          body === "" ? undefined : body,
          headers,
        )
        .then((answer) => {
          response.writeHead(answer.status, answer.headers);
          response.end(answer.body);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = createClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`,
    auth: {
      type: "iam",
      region: "eu-west-1",
      credentials: {
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      },
    },
  });
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("the typed client against the local API", () => {
  it("creates a tenant and a webhook, publishes, follows the delivery, pages, updates and rotates", async () => {
    const tenant = await putTenant(client, { path: { tenantId: "client-co" }, body: { name: "Client Co" } });
    expect(tenant).toMatchObject({ id: "client-co", webhookCount: 0 });
    const path = { tenantId: "client-co" };
    const webhook = await createWebhook(client, {
      path,
      body: { url: receiver.url, eventTypes: ["invoice.*"], description: "from the client" },
    });
    expect(webhook.secret).toMatch(/^whsec_/);
    for (const n of [1, 2, 3])
      await createWebhook(client, { path, body: { url: receiver.url, eventTypes: [`other.t${n}`] } });

    const published = await publishEvent(client, {
      path,
      body: { type: "invoice.paid", data: { total: 12 } },
    });
    expect(published.deliveries).toBe(1);
    await pipeline.drain();
    const event = await getEvent(client, { path: { ...path, eventId: published.eventId } });
    expect(event.deliveries).toMatchObject([{ webhookId: webhook.id, status: "delivered" }]);
    expect(receiver.requests.at(-1)?.headers["webhook-id"]).toBe(published.eventId);

    const ids: string[] = [];
    for await (const each of client.paginate("GET /tenants/{tenantId}/webhooks", {
      path,
      query: { limit: "1" },
    }))
      ids.push(each.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);

    const updated = await client.send("PATCH /tenants/{tenantId}/webhooks/{webhookId}", {
      path: { ...path, webhookId: webhook.id },
      body: { active: false },
      headers: { "If-Match": `"${webhook.version}"` },
    });
    expect(updated.data.active).toBe(false);
    expect(updated.headers.get("etag")).toBe(`"${webhook.version + 1}"`);
    const rotated = await rotateSecret(client, { path: { ...path, webhookId: webhook.id } });
    expect(rotated.secret).not.toBe(webhook.secret);
    expect(
      authorizations.every((value) => value.startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")),
    ).toBe(true);
  });

  it("throws the API's problem documents as ApiProblem, field errors included", async () => {
    const path = { tenantId: "client-co" };
    const invalid = await createWebhook(client, {
      path,
      body: { url: "https://hooks.example.com", eventTypes: ["not a type"] },
    }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ApiProblem);
    expect((invalid as ApiProblem).errors.map((issue) => issue.field)).toContain("eventTypes.0");

    const stale = await updateWebhook(client, {
      path: { ...path, webhookId: "wh_00000000000000000000000000" },
      body: { active: true },
    }).catch((error: unknown) => error);
    expect((stale as ApiProblem).status).toBe(404);
    expect((stale as ApiProblem).problem.title).toBe("Not found");
  });
});
