/**
 * `docs/openapi.json`: up to date with the zod schemas, a valid OpenAPI 3.1 document (a real validator), one
 * operation per route of `apiRoutes` and nothing else, and a `webhooks` section that matches the requests the
 * deliver function actually builds.
 */
import { readFileSync } from "node:fs";
import { compileErrors, validate } from "@readme/openapi-parser";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { operations } from "#core/contract/api-contract.ts";
import { apiRoutes } from "#core/http/api-routes.ts";
import { portalRoutes } from "#core/http/portal-routes.ts";
import { serializeEnvelope } from "#core/shared/model.ts";
import { signedRequestHeaders } from "#core/signing/signing.ts";
import { renderOpenApi } from "../../scripts/openapi.ts";

const committed = readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8");
const document = JSON.parse(committed) as {
  paths: Record<string, Record<string, { requestBody?: unknown; security: unknown[] }>>;
  webhooks: {
    event: { post: { parameters: { name: string; required: boolean }[] } };
  };
  components: { schemas: Record<string, unknown> };
};

describe("docs/openapi.json", () => {
  it("is what `npm run openapi` generates from the schemas (run it after changing a schema or a route)", () => {
    expect(committed).toBe(renderOpenApi());
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await validate(JSON.parse(committed));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("documents every route of apiRoutes and of the portal API, and no route that does not exist", () => {
    const routes = apiRoutes.map(({ method, resource }) => `${method} ${resource}`).sort();
    const portal = portalRoutes.map(({ method, resource }) => `${method} ${resource}`);
    const documented = Object.entries(document.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => key !== "servers")
          .map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual([...routes, ...portal].sort());
    expect(Object.keys(operations).sort()).toEqual(routes);
  });

  it("documents each portal route with the bearer scheme and the operator route's body", () => {
    for (const route of portalRoutes) {
      const operation = document.paths[route.resource]?.[route.method.toLowerCase()];
      expect(operation?.security, route.resource).toEqual([{ bearer: [] }]);
      expect(operation?.requestBody !== undefined, `${route.method} ${route.resource}`).toBe(route.body);
    }
  });

  it("gives a request body to exactly the routes that take one, and an auth scheme to every route", () => {
    for (const route of apiRoutes) {
      const operation = document.paths[route.resource]?.[route.method.toLowerCase()];
      expect(operation?.requestBody !== undefined, `${route.method} ${route.resource}`).toBe(route.body);
      expect(operation?.security, `${route.method} ${route.resource}`).toHaveLength(1);
    }
  });

  it("documents the headers and the envelope a receiver actually gets", () => {
    const parameters = document.webhooks.event.post.parameters;
    const documented = new Set(parameters.map((parameter) => parameter.name));
    const envelope = {
      id: "evt_1",
      type: "order.paid",
      timestamp: "2026-12-01T10:00:00.000Z",
      version: "1.0",
      source: "orders",
      data: { total: 5 },
    };
    const body = serializeEnvelope(envelope);
    for (const scheme of ["standard", "standard+github"] as const) {
      const headers = signedRequestHeaders({
        eventId: envelope.id,
        eventType: envelope.type,
        deliveryId: "dlv_1",
        attempt: 1,
        timestamp: 1_780_000_000,
        body,
        secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        scheme,
      });
      expect(Object.keys(headers).filter((name) => !documented.has(name))).toEqual([]);
      const required = parameters
        .filter((parameter) => parameter.required)
        .map((parameter) => parameter.name);
      expect(required.filter((name) => !(name in headers))).toEqual([]);
    }
    const ajv = new Ajv2020.default({ strict: false });
    addFormats.default(ajv);
    expect(ajv.validate(document.components.schemas.EventEnvelope as object, JSON.parse(body))).toBe(true);
    expect(ajv.validate(document.components.schemas.EventEnvelope as object, { ...envelope, extra: 1 })).toBe(
      false,
    );
  });
});
