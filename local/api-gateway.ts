/**
 * What API Gateway does in front of the Lambdas, on one machine: match the route, build the REST API proxy
 * event the real handlers receive, invoke the route's target (api or publish), and hand back its response.
 * IAM auth is not emulated: locally every caller is the machine's user.
 */
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { matchRoute, type RouteTarget } from "#core/api-routes.ts";
import { NotFoundError } from "#core/errors.ts";
import { type HttpResponse, problemResponse } from "#core/http-response.ts";

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

/** Routes a request to the handler of its target, as the deployed API Gateway does. */
export function createLocalApi(targets: Readonly<Record<RouteTarget, ProxyHandler>>) {
  return async (request: LocalRequest): Promise<HttpResponse> => {
    const url = new URL(request.url, "http://localhost");
    const match = matchRoute(request.method, url.pathname);
    if (match.kind === "not_found") return problemResponse(new NotFoundError(`route ${url.pathname}`));
    if (match.kind === "method_not_allowed") {
      return {
        statusCode: 405,
        headers: { "content-type": "application/problem+json", allow: match.allowed.join(", ") },
        body: JSON.stringify({
          type: "about:blank",
          title: "Method not allowed",
          status: 405,
          detail: `use ${match.allowed.join(", ")}`,
        }),
      };
    }
    const response = await targets[match.route.target](
      toProxyEvent(request, match.route.resource, match.pathParameters),
    );
    return response ?? { statusCode: 204, headers: {}, body: "" };
  };
}
