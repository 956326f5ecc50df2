import type { LookupAddress } from "node:dns";
import { readdirSync } from "node:fs";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "#core/http/api-routes.ts";
import { fixture } from "#test/support/fixtures.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";

/** `events/api-gateway/<method>-<path>.json`: `PUT /tenants/{tenantId}` → `put-tenants-tenantid.json`. */
const sampleName = (method: string, resource: string) =>
  `${method.toLowerCase()}-${resource.slice(1).replace(/[{}]/g, "").toLowerCase().replaceAll("/", "-")}.json`;

// DELETEs run last, the webhook's before its tenant's, so the other samples find both.
const isDelete = (name: string) => name.startsWith("delete-");
const files = readdirSync(new URL("../../events/api-gateway/", import.meta.url))
  .filter((name) => name.endsWith(".json"))
  .sort(
    (a, b) =>
      Number(isDelete(a)) - Number(isDelete(b)) ||
      (isDelete(a) ? b.length - a.length : 0) ||
      a.localeCompare(b),
  );
const SAMPLE_TENANT = "acme";
const SAMPLE_WEBHOOK = "wh_01JDQ8V7Z6X2C3B4N5M6K7J8AA";
const SAMPLE_EVENT = "evt_01JDQ8V7Z6X2C3B4N5M6K7J8H9";
const SAMPLE_DELIVERY = "dlv_2Q5M7ZK3J6T4C8W1H9N0B2D4F6";

describe("the API Gateway sample events in events/api-gateway", () => {
  let pipeline: Pipeline;
  let realWebhook = "";
  let realDelivery = "";

  beforeAll(async () => {
    // Every host resolves to a private address: the sample event's delivery fails at once (destination_blocked),
    // without any network, so that the delivery samples find a real, settled delivery.
    const privateAddress: LookupAddress[] = [{ address: "10.0.0.1", family: 4 }];
    pipeline = await startPipeline({
      strictDestinations: true,
      schedule: "5,300,1800,7200,18000,36000,36000",
      runtime: { resolver: async () => privateAddress },
    });
    expect((await pipeline.api("PUT", `/tenants/${SAMPLE_TENANT}`, { name: "ACME" })).status).toBe(201);
    realWebhook = (
      await pipeline.createWebhook(
        { url: "https://hooks.example.com/orders", eventTypes: ["order.*"] },
        SAMPLE_TENANT,
      )
    ).webhook.id;
    const bystander = (
      await pipeline.createWebhook(
        { url: "https://hooks.example.com/audit", eventTypes: ["order.completed"] },
        SAMPLE_TENANT,
      )
    ).webhook.id;
    const published = await pipeline.publishApi(
      { id: SAMPLE_EVENT, type: "order.completed", data: { orderId: "ord_1001" } },
      SAMPLE_TENANT,
    );
    expect(published.statusCode).toBe(202);
    await pipeline.drain();
    const event = await pipeline.api("GET", pipeline.under(`/events/${SAMPLE_EVENT}`, SAMPLE_TENANT));
    // Not the sample webhook's delivery: the redrive sample (filtered to that webhook) must not restart it.
    realDelivery =
      (event.json.deliveries as { id: string; webhookId: string }[]).find(
        (delivery) => delivery.webhookId === bystander,
      )?.id ?? "";
    expect(realDelivery).toMatch(/^dlv_/);
  });
  afterAll(() => pipeline.close());

  it("are exactly one per route, each named <method>-<path>.json after its route", () => {
    const routes = apiRoutes.map((route) => `${route.method} ${route.resource}`);
    const covered = files.map((name) => {
      const event = fixture<APIGatewayProxyEvent>(`api-gateway/${name}`);
      const route = `${event.httpMethod} ${event.resource}`;
      expect(name, route).toBe(sampleName(event.httpMethod, event.resource));
      expect(event.requestContext.resourcePath, name).toBe(event.resource);
      expect(event.requestContext.httpMethod, name).toBe(event.httpMethod);
      // The path is the resource with its parameters filled in, and nothing else.
      const parameters = [...event.resource.matchAll(/\{(\w+)\}/g)].map(
        ([, parameter]) => parameter as string,
      );
      expect(Object.keys(event.pathParameters ?? {}).sort(), name).toEqual([...parameters].sort());
      const filled = event.resource.replace(/\{(\w+)\}/g, (_, parameter: string) =>
        encodeURIComponent(event.pathParameters?.[parameter] ?? ""),
      );
      expect(event.path, name).toBe(filled);
      expect(event.requestContext.path, name).toBe(`/prod${filled}`);
      return route;
    });
    expect(covered.sort()).toEqual([...routes].sort());
    expect(files).toHaveLength(apiRoutes.length);
  });

  it.each(files)("%s reaches its real handler and gets a 2xx or a 4xx problem", async (name) => {
    const sample = fixture<APIGatewayProxyEvent>(`api-gateway/${name}`);
    // The samples name a webhook and a delivery that do not exist here; point them at real ones.
    const event = JSON.parse(
      JSON.stringify(sample)
        .replaceAll(SAMPLE_WEBHOOK, realWebhook)
        .replaceAll(SAMPLE_DELIVERY, realDelivery),
    ) as APIGatewayProxyEvent;
    const route = apiRoutes.find(
      (candidate) => candidate.method === event.httpMethod && candidate.resource === event.resource,
    );
    const response = (await pipeline.targets[route?.target ?? "api"](event)) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(response.statusCode, response.body).toBeLessThan(500);
    if (response.statusCode >= 400) expect(response.headers["content-type"]).toBe("application/problem+json");
    // Everything a sample names exists here, so every tenant route succeeds (the PATCH's If-Match included).
    if (event.resource.startsWith("/tenants"))
      expect(response.statusCode, `${name}: ${response.body}`).toBeLessThan(300);
  });
});
