/**
 * The local API Gateway shim refuses bodies exactly where the deployed API's request validator does: both use
 * the draft-04 models of functions/core/http/request-models.ts (the infra test checks the synthesized models are
 * these objects), and a refused body gets API Gateway's own 400 answer without reaching the Lambda.
 */
import ajvDraft04 from "ajv-draft-04";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { apiRoutes } from "#core/http/api-routes.ts";
import type { HttpResponse } from "#core/http/http-response.ts";
import { requestModels } from "#core/http/request-models.ts";
import { createLocalApi, INVALID_BODY_RESPONSE } from "#local/api-gateway.ts";

const ROTATE = "/tenants/t_1/webhooks/wh_1/rotate-secret";
const WEBHOOKS = "/tenants/t_1/webhooks";

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
    for (const url of [ROTATE, "/dlq/redrive"]) {
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
      headers: { "content-type": "application/problem+json" },
    });
    expect(JSON.parse(INVALID_BODY_RESPONSE.body)).toEqual({
      type: "about:blank",
      title: "Invalid request",
      status: 400,
      detail: "Invalid request body",
      errors: [{ field: "body", message: "Invalid request body" }],
    });
    expect(reached).toEqual([]);
  });

  it("lets `{}` through to the Lambda for the routes whose fields are all optional", async () => {
    const { api, reached } = shim();
    for (const url of [ROTATE, "/dlq/redrive"])
      expect((await api({ method: "POST", url, body: "{}" })).statusCode).toBe(200);
    expect(reached.map((event) => event.resource)).toEqual([
      "/tenants/{tenantId}/webhooks/{webhookId}/rotate-secret",
      "/dlq/redrive",
    ]);
    expect(reached[0]?.pathParameters).toEqual({ tenantId: "t_1", webhookId: "wh_1" });
  });

  it("applies the model whatever the content type, and refuses JSON that is not an object of known fields", async () => {
    const { api, reached } = shim();
    const refused = [
      { url: WEBHOOKS, body: "{not json", type: "application/json" },
      { url: WEBHOOKS, body: '{"eventTypes":["a"]}', type: "text/plain" },
      {
        url: WEBHOOKS,
        body: '{"url":"https://x","eventTypes":["a"],"secret":"mine"}',
        type: "application/json",
      },
      { url: ROTATE, body: '{"gracePeriodSeconds":604801}', type: "application/json" },
      { url: ROTATE, body: '{"gracePeriodSeconds":"60"}', type: "application/json" },
      { url: "/dlq/redrive", body: '{"limit":0}', type: "application/json" },
      { url: "/dlq/redrive", body: "[]", type: "application/json" },
      { url: "/tenants/t_1/events", body: '{"type":"a.b"}', type: "application/json" },
      { url: "/dlq/redrive", body: '{"tenantId":"t_1","tenant":"t_1"}', type: "application/json" },
    ];
    for (const { url, body, type } of refused)
      expect(await api({ method: "POST", url, body, headers: { "content-type": type } }), body).toEqual(
        INVALID_BODY_RESPONSE,
      );
    expect(reached).toEqual([]);
  });

  it("refuses a tenant without a name, with unknown fields, or with more than 20 metadata entries", async () => {
    const { api, reached } = shim();
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`k${n}`, "v"]));
    for (const body of [
      "{}",
      '{"name":"Acme","plan":"gold"}',
      JSON.stringify({ name: "Acme", metadata: tooMany }),
      JSON.stringify({ name: "Acme", metadata: { tier: 1 } }),
    ])
      expect(await api({ method: "PUT", url: "/tenants/t_1", body }), body).toEqual(INVALID_BODY_RESPONSE);
    expect(reached).toEqual([]);
    const fine = JSON.stringify({ name: "Acme", metadata: { tier: "gold" } });
    expect((await api({ method: "PUT", url: "/tenants/t_1", body: fine })).statusCode).toBe(200);
    expect(reached.map((event) => event.resource)).toEqual(["/tenants/{tenantId}"]);
  });

  it("does not look at the body of routes that take none", async () => {
    const { api, reached } = shim();
    expect((await api({ method: "POST", url: "/tenants/t_1/webhooks/wh_1/test" })).statusCode).toBe(200);
    expect(
      (await api({ method: "POST", url: "/tenants/t_1/deliveries/dlv_1/retry", body: "not json" }))
        .statusCode,
    ).toBe(200);
    expect((await api({ method: "DELETE", url: "/tenants/t_1", body: "not json" })).statusCode).toBe(200);
    expect(reached).toHaveLength(3);
  });
});
