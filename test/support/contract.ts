/**
 * Checks a real response against the committed OpenAPI document (`docs/openapi.json`): the route (by
 * `matchRoute`, as API Gateway routes), a documented status, the documented content type, the body against its
 * schema (ajv, JSON Schema 2020-12 with formats) and the documented response headers. `pipeline.api(…)` runs it
 * on every response, so every integration test that calls the API is a contract test too.
 */
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { matchRoute } from "#core/http/api-routes.ts";

interface ResponseObject {
  readonly content?: Record<string, { readonly schema: unknown }>;
  readonly headers?: Record<string, unknown>;
}
interface OpenApiDocument {
  readonly paths: Record<string, Record<string, { readonly responses: Record<string, ResponseObject> }>>;
}

export const openApi = JSON.parse(
  readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"),
) as OpenApiDocument;

const DOCUMENT_ID = "openapi";
const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateSchema: false });
addFormats.default(ajv);
ajv.addSchema(openApi, DOCUMENT_ID, undefined, false);

const pointer = (...parts: string[]) =>
  parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validatorAt(path: string) {
  let validate = validators.get(path);
  if (!validate) {
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/${path}` });
    validators.set(path, validate);
  }
  return validate;
}

export interface ObservedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Which (operation, status) pairs the contract check has seen in this test process. */
export const seenResponses = new Set<string>();

export class ContractViolation extends Error {
  constructor(what: string, response: ObservedResponse) {
    super(`${what}\n  answered ${response.statusCode}: ${response.body.slice(0, 600)}`);
    this.name = "ContractViolation";
  }
}

const headerOf = (headers: Readonly<Record<string, string>>, name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

/** Throws a `ContractViolation` naming what the response does that the document does not say. */
export function assertMatchesContract(method: string, url: string, response: ObservedResponse): void {
  const path = new URL(url, "http://localhost").pathname;
  const match = matchRoute(method, path);
  const contentType = headerOf(response.headers, "content-type") ?? "";
  if (match.kind !== "route") {
    // The gateway's own 404 and 405: problem documents like every other error.
    if (!contentType.startsWith("application/problem+json"))
      throw new ContractViolation(`${method} ${path}: not a route, and not a problem document`, response);
    checkBody("components/schemas/Problem", response, `${method} ${path}`);
    return;
  }
  const { resource } = match.route;
  const verb = match.route.method.toLowerCase();
  const operation = openApi.paths[resource]?.[verb];
  const name = `${match.route.method} ${resource}`;
  if (!operation) throw new ContractViolation(`${name} is not in docs/openapi.json`, response);
  const status = String(response.statusCode);
  const documented = operation.responses[status];
  if (!documented) {
    throw new ContractViolation(
      `${name}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(", ")})`,
      response,
    );
  }
  seenResponses.add(`${name} ${status}`);
  for (const header of Object.keys(documented.headers ?? {})) {
    if (headerOf(response.headers, header) === undefined)
      throw new ContractViolation(`${name} ${status}: documented header ${header} is missing`, response);
  }
  const [mediaType] = Object.keys(documented.content ?? {});
  if (mediaType === undefined) {
    if (response.body !== "")
      throw new ContractViolation(`${name} ${status}: documented without a body, answered one`, response);
    return;
  }
  if (!contentType.startsWith(mediaType))
    throw new ContractViolation(
      `${name} ${status}: content-type ${contentType}, documented ${mediaType}`,
      response,
    );
  checkBody(
    pointer("paths", resource, verb, "responses", status, "content", mediaType, "schema"),
    response,
    name,
  );
}

function checkBody(schemaPath: string, response: ObservedResponse, name: string): void {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    throw new ContractViolation(`${name} ${response.statusCode}: the body is not JSON`, response);
  }
  const validate = validatorAt(schemaPath);
  if (!validate(body)) {
    const errors = (validate.errors ?? [])
      .map((error) => `${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`)
      .join("; ");
    throw new ContractViolation(
      `${name} ${response.statusCode}: the body breaks the contract: ${errors}`,
      response,
    );
  }
}
