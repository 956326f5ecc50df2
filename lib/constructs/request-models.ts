/**
 * The request models API Gateway validates bodies against: the plain JSON Schemas of
 * `functions/core/http/request-models.ts` (which local mode validates against too), in CDK's JsonSchema shape.
 */
import type { JsonSchema } from "aws-cdk-lib/aws-apigateway";
import { type RequestSchema, requestModels as schemas } from "#core/http/request-models.ts";

/** `$schema` → `schema`, recursively; type names are the same strings as CDK's JsonSchemaType values. */
export function toCdkJsonSchema(schema: RequestSchema): JsonSchema {
  const { $schema, properties, items, additionalProperties, ...rest } = schema;
  return {
    ...(rest as JsonSchema),
    ...($schema ? { schema: $schema as JsonSchema["schema"] } : {}),
    ...(properties
      ? {
          properties: Object.fromEntries(
            Object.entries(properties).map(([name, inner]) => [name, toCdkJsonSchema(inner)]),
          ),
        }
      : {}),
    ...(items ? { items: toCdkJsonSchema(items) } : {}),
    ...(additionalProperties === undefined
      ? {}
      : {
          additionalProperties:
            typeof additionalProperties === "boolean"
              ? additionalProperties
              : toCdkJsonSchema(additionalProperties),
        }),
  };
}

export const requestModels: Readonly<Record<string, JsonSchema>> = Object.fromEntries(
  Object.entries(schemas).map(([key, schema]) => [key, toCdkJsonSchema(schema)]),
);
