/**
 * The local API Gateway shim refuses bodies exactly where the deployed API's request validator does: both use
 * the draft-04 models of functions/core/request-models.ts (the infra test checks the synthesized models are
 * these objects), and a refused body gets API Gateway's own 400 answer without reaching the Lambda.
 */
import ajvDraft04 from "ajv-draft-04";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { apiRoutes } from "#core/api-routes.ts";
import type { HttpResponse } from "#core/http-response.ts";
import { requestModels } from "#core/request-models.ts";
import { createLocalApi, INVALID_BODY_RESPONSE } from "#local/api-gateway.ts";

function shim() {
  const reached: APIGatewayProxyEvent[] = [];
  const answer = async (event: APIGatewayProxyEvent): Promise<HttpResponse> => {
    reached.push(event);
    return { statusCode: 200, headers: {}, body: "{}" };
  };
  return { api: createLocalApi({ api: answer, publish: answer }), reached };
}

describe("request models shared by API Gateway and local mode", () => {
  it("exist for exactly the body-bearing routes, and are valid draft-04 schemas", () => {
    const withBody = apiRoutes
      .filter((route) => route.body)
      .map((route) => `${route.method} ${route.resource}`);
    expect(Object.keys(requestModels).sort()).toEqual(withBody.sort());
    // Compiling validates each model against the draft-04 meta-schema (which refuses, e.g., `required: []`).
    const ajv = new ajvDraft04.default({ strict: false });
    for (const [key, model] of Object.entries(requestModels))
      expect(() => ajv.compile(model), key).not.toThrow();
  });
});

describe("the local API validates bodies as the deployed API does", () => {
  it("refuses rotate-secret and dlq/redrive without a body with API Gateway's 400, before the Lambda", async () => {
    const { api, reached } = shim();
    for (const url of ["/webhooks/wh_1/rotate-secret", "/dlq/redrive"]) {
      for (const body of [undefined, ""]) {
        const response = await api({
          method: "POST",
          url,
          headers: { "content-type": "application/json" },
          ...(body === undefined ? {} : { body }),
        });
        expect(response, `${url} ${JSON.stringify(body)}`).toEqual(INVALID_BODY_RESPONSE);
      }
    }
    expect(INVALID_BODY_RESPONSE).toMatchObject({
      statusCode: 400,
      body: '{"message":"Invalid request body"}',
    });
    expect(reached).toEqual([]);
  });

  it("lets `{}` through to the Lambda for the routes whose fields are all optional", async () => {
    const { api, reached } = shim();
    for (const url of ["/webhooks/wh_1/rotate-secret", "/dlq/redrive"])
      expect((await api({ method: "POST", url, body: "{}" })).statusCode).toBe(200);
    expect(reached.map((event) => event.resource)).toEqual(["/webhooks/{id}/rotate-secret", "/dlq/redrive"]);
  });

  it("applies the model whatever the content type, and refuses JSON that is not an object of known fields", async () => {
    const { api, reached } = shim();
    const refused = [
      { url: "/webhooks", body: "{not json", type: "application/json" },
      { url: "/webhooks", body: '{"eventTypes":["a"]}', type: "text/plain" },
      {
        url: "/webhooks",
        body: '{"url":"https://x","eventTypes":["a"],"secret":"mine"}',
        type: "application/json",
      },
      {
        url: "/webhooks/wh_1/rotate-secret",
        body: '{"gracePeriodSeconds":604801}',
        type: "application/json",
      },
      { url: "/webhooks/wh_1/rotate-secret", body: '{"gracePeriodSeconds":"60"}', type: "application/json" },
      { url: "/dlq/redrive", body: '{"limit":0}', type: "application/json" },
      { url: "/dlq/redrive", body: "[]", type: "application/json" },
      { url: "/events", body: '{"type":"a.b"}', type: "application/json" },
    ];
    for (const { url, body, type } of refused)
      expect(await api({ method: "POST", url, body, headers: { "content-type": type } }), body).toEqual(
        INVALID_BODY_RESPONSE,
      );
    expect(reached).toEqual([]);
  });

  it("does not look at the body of routes that take none", async () => {
    const { api, reached } = shim();
    expect((await api({ method: "POST", url: "/webhooks/wh_1/test" })).statusCode).toBe(200);
    expect((await api({ method: "POST", url: "/deliveries/dlv_1/retry", body: "not json" })).statusCode).toBe(
      200,
    );
    expect(reached).toHaveLength(2);
  });
});
