/**
 * Builds the OpenAPI 3.1 document from the contract (`api-contract.ts`) with zod's own JSON Schema output
 * (draft 2020-12, OpenAPI 3.1's dialect): request bodies and query parameters as the handlers accept them
 * (`io: "input"`), responses as they answer them. `scripts/openapi.ts` writes it to `docs/openapi.json`.
 */
import * as z from "zod/mini";
import { portalRoutes } from "../http/portal-routes.ts";
import { PLATFORM_VERSION } from "../signing/signing.ts";
import { type Operation, operations } from "./api-contract.ts";
import { envelopeSchema, wireHeaders } from "./wire-contract.ts";

type JsonSchema = Record<string, unknown>;

const COMPONENT = (id: string) => `#/components/schemas/${id}`;
const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No content",
  400: "Invalid request: `errors` names each failing field",
  403: "Refused by API Gateway: missing or invalid credentials, or not allowed by IAM",
  404: "Not found (an id of another tenant is not found either)",
  409: "Conflict with the current state",
  412: "`If-Match` does not match the current version",
  413: "Body too large",
  429: "Throttled by API Gateway: retry with backoff",
  500: "Internal error (logged; nothing about it is echoed)",
};

/** A schema without the keys that only make sense at a document's root. */
function embedded(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** An inline schema (a request body, a query); one holding a component would need `$ref`s, so it is refused. */
function jsonSchema(schema: z.ZodMiniType, io: "input" | "output"): JsonSchema {
  const output = embedded(
    z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
      reused: "inline",
      // A transform or refine has no JSON Schema; what it accepts is described by the parts that do.
      override: ({ zodSchema, jsonSchema: output }) => {
        if (zodSchema._zod.def.type === "custom" && Object.keys(output).length === 0) output.type = "object";
        // zod spells RFC 3339 out as a 400-character regex; `format` says the same to a reader and a generator.
        if (output.format === "date-time") delete output.pattern;
      },
    }) as JsonSchema,
  );
  if ("$defs" in output || "$ref" in output)
    throw new Error("an inline schema holds a component: give it an id");
  return output;
}

/** A response schema: a `$ref` to its component when it has an id, else inline. */
function responseSchema(schema: z.ZodMiniType): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  return id ? { $ref: COMPONENT(id) } : jsonSchema(schema, "output");
}

function components(): Record<string, JsonSchema> {
  const all = z.toJSONSchema(z.globalRegistry, {
    target: "draft-2020-12",
    io: "output",
    unrepresentable: "any",
    uri: COMPONENT,
  }) as { schemas: Record<string, JsonSchema> };
  return Object.fromEntries(
    Object.entries(all.schemas)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, schema]) => [id, embedded(schema)]),
  );
}

const problem = (status: number) => ({
  description: STATUS_TEXT[status] ?? `HTTP ${status}`,
  content: { "application/problem+json": { schema: { $ref: COMPONENT("Problem") } } },
});

const gatewayMessage = (status: number) => ({
  description: STATUS_TEXT[status],
  content: {
    "application/json": {
      schema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
    },
  },
});

function parameters(resource: string, operation: Operation) {
  const path = [...resource.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string", maxLength: name === "eventId" ? 128 : 64 },
  }));
  const querySchema = operation.query ? jsonSchema(operation.query, "input") : undefined;
  const required = new Set((querySchema?.required as string[] | undefined) ?? []);
  const query = Object.entries((querySchema?.properties as Record<string, JsonSchema> | undefined) ?? {}).map(
    ([name, schema]) => ({
      name,
      in: "query",
      required: required.has(name),
      ...(name === "limit" ? { description: "1–100, default 50" } : {}),
      ...(name === "cursor" ? { description: "The `nextCursor` of the previous page." } : {}),
      schema,
    }),
  );
  const headers = Object.entries(operation.headers ?? {}).map(([name, description]) => ({
    name,
    in: "header",
    required: false,
    description,
    schema: { type: "string" },
  }));
  return [...path, ...query, ...headers];
}

function responses(operation: Operation, portal = false) {
  const entries: [string, unknown][] = Object.entries(operation.responses).map(([status, schema]) => {
    const headers = operation.responseHeaders?.[Number(status)];
    return [
      status,
      {
        description: STATUS_TEXT[Number(status)] ?? `HTTP ${status}`,
        ...(headers
          ? {
              headers: Object.fromEntries(
                Object.entries(headers).map(([name, description]) => [
                  name,
                  { description, schema: { type: "string" } },
                ]),
              ),
            }
          : {}),
        ...(schema ? { content: { "application/json": { schema: responseSchema(schema) } } } : {}),
      },
    ];
  });
  // The portal API answers a missing or bad token 401, a missing capability 403, a tenant past its rate 429.
  const portalErrors = portal ? [401, 403, 429] : [];
  const problems = [...new Set([...operation.errors, ...portalErrors, 500])].map(
    (status) => [String(status), problem(status)] as const,
  );
  const gateway =
    operation.auth === "iam" && !portal
      ? [403, 429].map((status) => [String(status), gatewayMessage(status)])
      : [];
  return Object.fromEntries(
    [...entries, ...problems, ...gateway].sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
}

function pathItems() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, operation] of Object.entries(operations) as [string, Operation][]) {
    const [method = "", resource = ""] = key.split(" ");
    const body = operation.body;
    paths[resource] ??= {};
    paths[resource][method.toLowerCase()] = {
      operationId: operation.operationId,
      summary: operation.summary,
      tags: [operation.tag],
      security: [operation.auth === "iam" ? { sigv4: [] } : { bearer: [] }],
      ...(parameters(resource, operation).length > 0 ? { parameters: parameters(resource, operation) } : {}),
      ...(body
        ? {
            requestBody: {
              required: !operation.bodyOptional,
              content: { "application/json": { schema: jsonSchema(body, "input") } },
            },
          }
        : {}),
      responses: responses(operation),
    };
  }
  return { ...paths, ...portalPathItems() };
}

/**
 * The customer portal's API (`/api/…` on the portal's own address, `PortalUrl`): each route is an operator route
 * on one tenant's data, the tenant taken from the bearer token instead of the path, the same schemas.
 */
function portalPathItems() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of portalRoutes) {
    const operation = (operations as Readonly<Record<string, Operation>>)[route.operatorRoute];
    if (!operation) throw new Error(`no operation ${route.operatorRoute} for the portal's ${route.resource}`);
    const body = operation.body;
    const item = paths[route.resource] ?? {
      servers: [
        { url: "https://{portal}", variables: { portal: { default: "d111111abcdef8.cloudfront.net" } } },
      ],
    };
    paths[route.resource] = item;
    item[route.method.toLowerCase()] = {
      operationId: `portal${operation.operationId.charAt(0).toUpperCase()}${operation.operationId.slice(1)}`,
      summary: `${operation.summary} (portal; needs ${route.capability})`,
      tags: ["Customer portal API"],
      security: [{ bearer: [] }],
      ...(parameters(route.resource, operation).length > 0
        ? { parameters: parameters(route.resource, operation) }
        : {}),
      ...(body
        ? {
            requestBody: {
              required: !operation.bodyOptional,
              content: { "application/json": { schema: jsonSchema(body, "input") } },
            },
          }
        : {}),
      responses: responses(operation, true),
    };
  }
  return paths;
}

/** The wire contract: what every subscribed URL receives (OpenAPI 3.1 `webhooks`). */
function webhooks() {
  return {
    event: {
      post: {
        operationId: "receiveEvent",
        summary: "An event delivered to a subscribed webhook URL (Standard Webhooks v1)",
        description:
          "The body is the envelope exactly as signed; verify `webhook-signature` over " +
          "`<webhook-id>.<webhook-timestamp>.<body>` before parsing it (any Standard Webhooks library does). " +
          "Every attempt of a delivery carries the same `webhook-id`: deduplicate on it.",
        parameters: wireHeaders.map(({ name, required, description }) => ({
          name,
          in: "header",
          required,
          description,
          schema: { type: "string" },
        })),
        requestBody: {
          required: true,
          content: { "application/json": { schema: responseSchema(envelopeSchema) } },
        },
        responses: {
          "2XX": { description: "Delivered: no more attempts." },
          "410": {
            description: "Gone: the webhook is disabled and the delivery dead-lettered (`endpoint_gone`).",
          },
          "429": { description: "Retried on the schedule; `Retry-After` sets the delay (bounded)." },
          "503": { description: "Retried on the schedule; `Retry-After` sets the delay (bounded)." },
          default: {
            description: "Any other status (3xx is never followed), a timeout or a network error: retried.",
          },
        },
      },
    },
  };
}

export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Serverless Webhooks API",
      version: PLATFORM_VERSION,
      description:
        "Management and publish API of a Serverless Webhooks stack. Paths are relative to the stack's `ApiUrl` " +
        "output. Every error is an RFC 9457 problem document. Lists answer `{data, nextCursor}`. Generated from " +
        "the zod schemas the handlers use (`npm run openapi`).",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [
      {
        url: "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        description: "A deployed stack (its `ApiUrl` output)",
        variables: {
          apiId: { default: "abc123" },
          region: { default: "eu-west-1" },
          stage: { default: "v1" },
        },
      },
      { url: "http://127.0.0.1:3000", description: "Local mode (`npm start`): no auth" },
    ],
    tags: ["Tenants", "Webhooks", "Events", "Deliveries", "Dead letters", "Customer portal API"].map(
      (name) => ({
        name,
      }),
    ),
    paths: pathItems(),
    webhooks: webhooks(),
    components: {
      schemas: components(),
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          name: "Authorization",
          in: "header",
          description:
            "AWS Signature Version 4 for the `execute-api` service (IAM auth): the AWS SDK's signer, the " +
            "typed client (`serverless-webhooks/client`) or `npm run api`.",
          "x-amazon-apigateway-authtype": "awsSigv4",
        },
        bearer: { type: "http", scheme: "bearer", description: "A portal token." },
      },
    },
  };
}
