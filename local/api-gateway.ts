/**
 * What API Gateway does in front of the Lambdas, on one machine: match the route, validate a body-bearing
 * method's body against the same JSON Schema model the deployed API uses (and refuse it the same way), build
 * the REST API proxy event the real handlers receive, invoke the route's target (api or publish), and hand back
 * its response. IAM auth is not emulated: locally every caller is the machine's user.
 */
import { randomUUID } from "node:crypto";
import ajvDraft04 from "ajv-draft-04";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { type ApiRoute, apiRoutes, matchRoute, type RouteTarget } from "#core/http/api-routes.ts";
import { type HttpResponse, problemResponse } from "#core/http/http-response.ts";
import { portalRoutes } from "#core/http/portal-routes.ts";
import {
  BAD_REQUEST_BODY_MESSAGE,
  BAD_REQUEST_BODY_TEMPLATE,
  requestModels,
} from "#core/http/request-models.ts";
import { NotFoundError } from "#core/shared/errors.ts";

/** API Gateway's answer when a request validator refuses the body (the stack's BAD_REQUEST_BODY response). */
export const INVALID_BODY_RESPONSE: HttpResponse = {
  statusCode: 400,
  headers: { "content-type": "application/problem+json", "x-amzn-errortype": "BadRequestException" },
  body: BAD_REQUEST_BODY_TEMPLATE.replaceAll(
    "$context.error.messageString",
    JSON.stringify(BAD_REQUEST_BODY_MESSAGE),
  ),
};

// Draft-04, as API Gateway; compiled once. Compiling checks each model against the draft-04 meta-schema.
const ajv = new ajvDraft04.default({ allErrors: false, strict: false });
const validators = new Map(
  apiRoutes
    .filter((route) => route.body)
    .map((route) => {
      const key = `${route.method} ${route.resource}`;
      const model = requestModels[key];
      if (!model) throw new Error(`no request model for ${key}`);
      return [key, ajv.compile(model)] as const;
    }),
);

/**
 * Whether API Gateway's body validator lets this body through to the integration: it must be JSON and match
 * the route's model, whatever the content type (the stack maps the model to `$default` as well). A missing or
 * empty body is not JSON, so a route whose fields are all optional still needs `{}`.
 */
export function bodyPassesGateway(route: ApiRoute, body: string | undefined): boolean {
  const validate = validators.get(`${route.method} ${route.resource}`);
  return validate === undefined || passes(validate, body);
}

function passes(validate: (value: unknown) => unknown, body: string | undefined): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return false;
  }
  return validate(parsed) === true;
}

export interface LocalRequest {
  readonly method: string;
  /** Path with an optional query string, e.g. `/webhooks?limit=10`. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<HttpResponse | undefined>;

export function toProxyEvent(
  request: LocalRequest,
  resource: string,
  pathParameters: Record<string, string>,
): APIGatewayProxyEvent {
  const url = new URL(request.url, "http://localhost");
  // Maps, not object literals: a parameter named `__proto__` or `valueOf` must stay a plain key.
  const multiMap = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) multiMap.set(name, [...(multiMap.get(name) ?? []), value]);
  const query = Object.fromEntries([...multiMap].map(([name, values]) => [name, values.at(-1) as string]));
  const multi = Object.fromEntries(multiMap);
  const headers = { ...(request.headers ?? {}) };
  const now = Date.now();
  return {
    resource,
    path: url.pathname,
    httpMethod: request.method.toUpperCase(),
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multi).length > 0 ? multi : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: request.body === undefined || request.body === "" ? null : request.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: request.method.toUpperCase(),
      identity: {
        accessKey: null,
        accountId: "000000000000",
        apiKey: null,
        apiKeyId: null,
        caller: "local",
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: "127.0.0.1",
        user: "local",
        userAgent: headers["user-agent"] ?? null,
        userArn: "arn:aws:iam::000000000000:user/local",
      },
      path: `/local${url.pathname}`,
      stage: "local",
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: "local",
      resourcePath: resource,
    },
  };
}

export interface LocalApiOptions {
  /**
   * Validate bodies against the request models, as the deployed API does (the default). Tests turn it off to
   * reach the Lambda's own validation with bodies the gateway would stop.
   */
  readonly validateBodies?: boolean;
}

/**
 * The portal API as its own API Gateway serves it, under `prefix` (local mode serves the page at `/portal/` and
 * the API at `/portal/api/…`): match a portal route, validate its body against the management route's model,
 * and invoke the portal function.
 */
export function createLocalPortalApi(portal: ProxyHandler, prefix = "/portal") {
  const portalValidators = new Map(
    portalRoutes
      .filter((route) => route.body)
      .map((route) => [`${route.method} ${route.resource}`, validators.get(route.operatorRoute)] as const),
  );
  return async (request: LocalRequest): Promise<HttpResponse> => {
    const url = new URL(request.url, "http://localhost");
    const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    const match = matchRoute(request.method, path, portalRoutes);
    if (match.kind === "not_found") return problemResponse(new NotFoundError(`route ${url.pathname}`));
    if (match.kind === "method_not_allowed") return methodNotAllowed(match.allowed);
    const validate = portalValidators.get(`${match.route.method} ${match.route.resource}`);
    if (validate && !passes(validate, request.body)) return INVALID_BODY_RESPONSE;
    const response = await portal(
      toProxyEvent({ ...request, url: `${path}${url.search}` }, match.route.resource, match.pathParameters),
    );
    return response ?? { statusCode: 204, headers: {}, body: "" };
  };
}

function methodNotAllowed(allowed: readonly string[]): HttpResponse {
  return {
    statusCode: 405,
    headers: { "content-type": "application/problem+json", allow: allowed.join(", ") },
    body: JSON.stringify({
      type: "about:blank",
      title: "Method not allowed",
      status: 405,
      detail: `use ${allowed.join(", ")}`,
    }),
  };
}

/** Routes a request to the handler of its target, as the deployed API Gateway does. */
export function createLocalApi(
  targets: Readonly<Record<Exclude<RouteTarget, "portal">, ProxyHandler>> & {
    readonly portal?: ProxyHandler;
  },
  options: LocalApiOptions = {},
) {
  const validateBodies = options.validateBodies ?? true;
  return async (request: LocalRequest): Promise<HttpResponse> => {
    const url = new URL(request.url, "http://localhost");
    const match = matchRoute(request.method, url.pathname);
    if (match.kind === "not_found") return problemResponse(new NotFoundError(`route ${url.pathname}`));
    if (match.kind === "method_not_allowed") return methodNotAllowed(match.allowed);
    if (validateBodies && !bodyPassesGateway(match.route, request.body)) return INVALID_BODY_RESPONSE;
    const target = targets[match.route.target];
    if (!target) return problemResponse(new NotFoundError(`route ${url.pathname}`));
    const response = await target(toProxyEvent(request, match.route.resource, match.pathParameters));
    return response ?? { statusCode: 204, headers: {}, body: "" };
  };
}
