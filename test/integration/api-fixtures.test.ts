import { readdirSync } from "node:fs";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "#core/api-routes.ts";
import { createApiHandler } from "#functions/api/create-handler.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { fixture } from "#test/support/fixtures.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";

// DELETE runs last so the other samples find the webhook.
const files = readdirSync(new URL("../../events/api-gateway/", import.meta.url))
  .filter((name) => name.endsWith(".json"))
  .sort((a, b) => Number(a.startsWith("delete")) - Number(b.startsWith("delete")) || a.localeCompare(b));
const SAMPLE_WEBHOOK = "wh_01JDQ8V7Z6X2C3B4N5M6K7J8AA";

describe("the API Gateway sample events in events/api-gateway", () => {
  let pipeline: Pipeline;
  let realWebhook = "";

  beforeAll(async () => {
    pipeline = await startPipeline({
      strictDestinations: true,
      schedule: "5,300,1800,7200,18000,36000,36000",
    });
    realWebhook = (
      await pipeline.createWebhook({ url: "https://hooks.example.com/orders", eventTypes: ["order.*"] })
    ).webhook.id;
  });
  afterAll(() => pipeline.close());

  it("cover every route", () => {
    const covered = files.map((name) => {
      const event = fixture<APIGatewayProxyEvent>(`api-gateway/${name}`);
      return `${event.httpMethod} ${event.resource}`;
    });
    expect(new Set(covered)).toEqual(new Set(apiRoutes.map((route) => `${route.method} ${route.resource}`)));
  });

  it.each(files)("%s reaches its real handler and gets a 2xx or a 4xx problem", async (name) => {
    const sample = fixture<APIGatewayProxyEvent>(`api-gateway/${name}`);
    // The samples name a webhook that does not exist here; point them at a real one so the happy path runs.
    const event = JSON.parse(
      JSON.stringify(sample).replaceAll(SAMPLE_WEBHOOK, realWebhook),
    ) as APIGatewayProxyEvent;
    const route = apiRoutes.find(
      (candidate) => candidate.method === event.httpMethod && candidate.resource === event.resource,
    );
    const handler =
      route?.target === "publish"
        ? createPublishHandler(pipeline.runtime)
        : createApiHandler(pipeline.runtime);
    const response = (await handler(event as never, {} as never)) as {
      statusCode: number;
      headers: Record<string, string>;
    };
    expect(response.statusCode).toBeLessThan(500);
    if (response.statusCode >= 400) expect(response.headers["content-type"]).toBe("application/problem+json");
    if (event.resource.startsWith("/webhooks") && event.httpMethod !== "DELETE")
      expect(response.statusCode, name).toBeLessThan(300);
  });
});
