/** Sample Lambda events from `events/`, copied so a test can change one without affecting another. */
import { readFileSync } from "node:fs";
import type { APIGatewayProxyEvent, SQSEvent } from "aws-lambda";

export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../../events/${path}`, import.meta.url), "utf8")) as T;
}

export function apiEvent(
  method: string,
  path: string,
  body?: unknown,
  overrides: Partial<APIGatewayProxyEvent> = {},
): APIGatewayProxyEvent {
  const base = fixture<APIGatewayProxyEvent>("api-gateway/post-tenants-tenantid-events.json");
  return {
    ...base,
    httpMethod: method,
    path,
    resource: path,
    pathParameters: null,
    requestContext: { ...base.requestContext, httpMethod: method, path: `/prod${path}`, resourcePath: path },
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
    ...overrides,
  };
}

export const sqsFixture = () => fixture<SQSEvent>("sqs/delivery-batch.json");
