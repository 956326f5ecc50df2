/**
 * Everything about the catalogue that is loaded on first use (`loadCatalogueTools`) rather than at cold start:
 * the operators' use cases, JSON Schema through ajv, and the OpenAPI export.
 */
export * from "./catalogue-admin.ts";
export { openApiDocument } from "./openapi.ts";
export { dataIssues, schemaIssues } from "./schema-tools.ts";
