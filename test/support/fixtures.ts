/** Sample Lambda events from `events/`, copied so a test can change one without affecting another. */
import { randomUUID } from "node:crypto";
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

/** A custom app's EventBridge event, as EventBridge hands it on; `detail` is what the app put in it. */
export function eventBridgeEvent(detail: Record<string, unknown>) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "order.completed",
    source: "com.example.orders",
    account: "123456789012",
    time: "2026-12-01T10:00:00Z",
    region: "us-east-1",
    resources: [],
    detail,
  };
}
