/**
 * JSON Schemas (draft-04, what API Gateway speaks) for every body-bearing route. They check shape only — types,
 * required fields, no unknown fields — so malformed requests stop at the gateway; the Lambda's zod schemas apply
 * the full rules and name the failing field.
 */
import { type JsonSchema, JsonSchemaType as T } from "aws-cdk-lib/aws-apigateway";

const string = (maxLength: number): JsonSchema => ({ type: T.STRING, maxLength });
const patterns: JsonSchema = { type: T.ARRAY, minItems: 1, maxItems: 50, items: string(256) };
const headers: JsonSchema = { type: T.OBJECT, maxProperties: 20, additionalProperties: string(4096) };
const integer = (minimum: number, maximum: number): JsonSchema => ({ type: T.INTEGER, minimum, maximum });
const object = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  schema: "http://json-schema.org/draft-04/schema#" as never,
  type: T.OBJECT,
  properties,
  required,
  additionalProperties: false,
});

const webhookFields = {
  url: string(2048),
  eventTypes: patterns,
  headers,
  description: { type: [T.STRING, T.NULL], maxLength: 1024 },
  maxAttempts: { type: [T.INTEGER, T.NULL], minimum: 1, maximum: 100 },
  signatureScheme: { type: T.STRING, enum: ["standard", "standard+github"] },
  active: { type: T.BOOLEAN },
} satisfies Record<string, JsonSchema>;

export const requestModels: Readonly<Record<string, JsonSchema>> = {
  "POST /webhooks": object(webhookFields, ["url", "eventTypes"]),
  "PATCH /webhooks/{id}": object({ ...webhookFields, version: integer(1, 1e12) }),
  "POST /webhooks/{id}/rotate-secret": object({ gracePeriodSeconds: integer(0, 604_800) }),
  "POST /webhooks/{id}/recover": object({ since: string(64), until: string(64) }, ["since"]),
  "POST /events": object(
    {
      id: string(128),
      type: string(256),
      source: string(256),
      timestamp: string(64),
      data: { type: T.OBJECT },
    },
    ["type", "data"],
  ),
  "POST /dlq/redrive": object({ webhookId: string(64), limit: integer(1, 1000) }),
};
