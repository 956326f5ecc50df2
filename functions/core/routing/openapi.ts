/**
 * The catalogue as an OpenAPI 3.1 document: one entry under `webhooks` per catalogued (non-archived) type, each the
 * request a receiver gets — the wire contract's headers, the envelope, and `data` per the type's schema. Receivers
 * can generate handlers and verify payloads from it; the signature scheme is described, not reimplemented.
 */
import { EVENT_VERSION } from "../shared/model.ts";
import { USER_AGENT } from "../signing/signing.ts";
import type { EventTypeDefinition } from "./catalogue.ts";

const header = (description: string, schema: Record<string, unknown>, required = true) => ({
  description,
  required,
  schema,
});

const WIRE_HEADERS = {
  "webhook-id": header("The event id: the same for every attempt; deduplicate on it.", { type: "string" }),
  "webhook-timestamp": header("Unix seconds of this attempt.", { type: "string", pattern: "^[0-9]+$" }),
  "webhook-signature": header(
    'Standard Webhooks v1: `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`; during a secret rotation two entries, space-separated, newest first.',
    { type: "string" },
  ),
  "x-webhook-event-type": header("The event type.", { type: "string" }),
  "x-webhook-delivery-id": header("This (event, webhook) delivery, stable across retries.", {
    type: "string",
  }),
  "x-webhook-attempt": header("1-based attempt number.", { type: "string", pattern: "^[1-9][0-9]*$" }),
  "x-webhook-timestamp": header("Same as webhook-timestamp.", { type: "string", pattern: "^[0-9]+$" }),
  "x-webhook-signature-256": header(
    "Only for webhooks that opt into the GitHub-style scheme: `sha256=<hex HMAC-SHA256(secret, body)>`.",
    { type: "string" },
    false,
  ),
  "user-agent": header("The platform and its version.", { type: "string", examples: [USER_AGENT] }),
};

/** `order.completed` → `OrderCompletedEvent`, unique per type (segments kept apart with `_` where needed). */
function componentName(type: string): string {
  const words = type.split(/[._-]/).filter((word) => word !== "");
  const pascal = words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join("");
  return `${pascal}_${Buffer.from(type).toString("hex").slice(0, 8)}`;
}

function envelope(type: EventTypeDefinition, dataRef: Record<string, unknown>) {
  return {
    type: "object",
    required: ["id", "type", "timestamp", "version", "source", "data"],
    additionalProperties: false,
    properties: {
      id: { type: "string", description: "Event id, unique per tenant; equals the webhook-id header." },
      type: { const: type.name },
      timestamp: { type: "string", format: "date-time" },
      version: { const: EVENT_VERSION },
      source: { type: "string" },
      data: dataRef,
    },
  };
}

export function openApiDocument(
  types: readonly EventTypeDefinition[],
  info: { readonly title: string; readonly version: string },
) {
  const schemas: Record<string, unknown> = {};
  const webhooks: Record<string, unknown> = {};
  for (const type of [...types].sort((a, b) => a.name.localeCompare(b.name))) {
    const name = componentName(type.name);
    const data = type.schema ?? { type: "object" };
    schemas[`${name}Data`] = data;
    schemas[`${name}Event`] = envelope(type, { $ref: `#/components/schemas/${name}Data` });
    webhooks[type.name] = {
      post: {
        operationId: `receive_${name}`,
        summary: type.name,
        description: type.description,
        ...(type.deprecated ? { deprecated: true } : {}),
        parameters: Object.entries(WIRE_HEADERS).map(([headerName, spec]) => ({
          in: "header",
          name: headerName,
          ...spec,
        })),
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { $ref: `#/components/schemas/${name}Event` },
              ...(type.example
                ? {
                    example: {
                      id: "evt_01JD0000000000000000000000",
                      type: type.name,
                      timestamp: "2026-01-01T00:00:00.000Z",
                      version: EVENT_VERSION,
                      source: "api",
                      data: type.example,
                    },
                  }
                : {}),
            },
          },
        },
        responses: {
          "2XX": { description: "Received. Any 2xx acknowledges the delivery." },
          "410": { description: "Gone: the platform disables this webhook." },
          default: { description: "Any other status (or a timeout) is retried on the webhook's schedule." },
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      version: info.version,
      description:
        "The webhooks this platform sends. Each request is signed per Standard Webhooks v1 (see the webhook-signature header); verify before trusting the body.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    webhooks,
    components: { schemas },
  };
}
