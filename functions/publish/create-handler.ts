/**
 * Publish Lambda: `POST /tenants/{tenantId}/events` through API Gateway, and events from an EventBridge rule, into
 * one core function. API callers get 202 `{eventId, deliveries}` or a problem document; an EventBridge invocation
 * throws on failure so that EventBridge retries it (idempotent on the event id). An EventBridge event whose tenant
 * is missing or unknown is not retried (retrying cannot route it) and not dropped: it is kept in the ingest DLQ
 * with the reason, and counted (`UnroutableEvents`).
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { ResponseBody } from "#core/contract/api-contract.ts";
import { parseJsonBody } from "#core/http/http-request.ts";
import { type HttpResponse, jsonResponse, problemResponse } from "#core/http/http-response.ts";
import {
  eventBridgeEventSchema,
  fromEventBridge,
  isEventBridgeEvent,
  tenantOf,
} from "#core/publishing/eventbridge.ts";
import { publish } from "#core/publishing/publish.ts";
import { NotFoundError, ValidationError } from "#core/shared/errors.ts";
import { MAX_EVENT_BYTES, publishRequestSchema } from "#core/shared/model.ts";
import { BATCH_RESOURCE, publishBatchFromApi } from "./batch-route.ts";
import { type PublishRuntime, publishDeps } from "./runtime.ts";

/**
 * One `PublishFailures` count per event not published, with dimension `ingest` (api | eventbridge): the
 * PublishFailures alarm adds both paths. An API caller's 4xx is the caller's mistake and not counted.
 */
function recordPublishFailure(runtime: PublishRuntime, ingest: "api" | "eventbridge"): void {
  const single = runtime.metrics.singleMetric();
  single.addDimension("ingest", ingest);
  single.addMetric("PublishFailures", MetricUnit.Count, 1);
}

function recordFanOut(runtime: PublishRuntime, deliveries: number, duplicate: boolean): void {
  if (duplicate) return;
  runtime.metrics.addMetric("EventsPublished", MetricUnit.Count, 1);
  runtime.metrics.addMetric("FanOutSize", MetricUnit.Count, deliveries);
  runtime.metrics.publishStoredMetrics();
}

export async function publishFromApi(
  event: APIGatewayProxyEvent,
  runtime: PublishRuntime,
): Promise<HttpResponse> {
  try {
    const tenantId = event.pathParameters?.tenantId ?? "";
    // The envelope adds a little around the data; the exact limit is enforced on the serialized envelope.
    const parsed = publishRequestSchema.safeParse(parseJsonBody(event, MAX_EVENT_BYTES + 4096));
    if (!parsed.success) throw ValidationError.fromZod(parsed.error);
    const result = await publish(tenantId, parsed.data, publishDeps(runtime));
    recordFanOut(runtime, result.deliveries, result.duplicate);
    runtime.logger.info("event published", {
      tenantId,
      eventId: result.eventId,
      deliveries: result.deliveries,
      duplicate: result.duplicate,
    });
    const body: ResponseBody<"POST /tenants/{tenantId}/events", 202> = {
      eventId: result.eventId,
      deliveries: result.deliveries,
    };
    return jsonResponse(202, body);
  } catch (error) {
    const response = problemResponse(error);
    if (response.statusCode >= 500) {
      runtime.logger.error("publish failed", {
        ingest: "api",
        error: error instanceof Error ? error.name : "unknown",
      });
      recordPublishFailure(runtime, "api");
    }
    return response;
  }
}

export async function publishFromEventBridge(event: unknown, runtime: PublishRuntime): Promise<void> {
  const parsed = eventBridgeEventSchema.safeParse(event);
  if (!parsed.success) {
    // Retrying cannot fix a malformed event; EventBridge would only send it to the rule's DLQ after retries.
    runtime.logger.error("EventBridge event refused", {
      issues: parsed.error.issues.map((issue) => issue.path.join(".")),
    });
    throw ValidationError.fromZod(parsed.error, "event");
  }
  const request = fromEventBridge(parsed.data);
  const checked = publishRequestSchema.safeParse(request);
  if (!checked.success) throw ValidationError.fromZod(checked.error, "event");
  const routing = tenantOf(parsed.data, runtime.config.tenantIdPath, runtime.config.defaultTenantId);
  if ("unroutable" in routing) return keepUnroutable(event, routing.unroutable, routing.detail, runtime);
  let result: Awaited<ReturnType<typeof publish>>;
  try {
    result = await publish(routing.tenantId, checked.data, publishDeps(runtime), parsed.data.source);
  } catch (error) {
    // Retrying cannot fix data its type's schema refuses (docs/routing.md): kept aside like an unroutable event.
    if (error instanceof ValidationError)
      return keepUnroutable(event, "invalid_data", error.message, runtime);
    if (!(error instanceof NotFoundError)) throw error;
    return keepUnroutable(event, "unknown_tenant", `tenant ${routing.tenantId} does not exist`, runtime);
  }
  recordFanOut(runtime, result.deliveries, result.duplicate);
  runtime.logger.info("event published", {
    tenantId: routing.tenantId,
    eventId: result.eventId,
    deliveries: result.deliveries,
    source: parsed.data.source,
  });
}

/**
 * Keeps an event no tenant can take where an operator finds it — the ingest DLQ, with the reason as a message
 * attribute — and counts it. Throws (so that EventBridge retries) only if it cannot be kept.
 */
async function keepUnroutable(
  event: unknown,
  reason: string,
  detail: string,
  runtime: PublishRuntime,
): Promise<void> {
  const queueUrl = runtime.config.ingestDeadLetterQueueUrl;
  if (!queueUrl) throw new Error(`unroutable event (${reason}) and no ingest DLQ to keep it in`);
  await runtime.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(event),
      MessageAttributes: {
        reason: { DataType: "String", StringValue: reason },
        detail: { DataType: "String", StringValue: detail },
      },
    }),
  );
  const single = runtime.metrics.singleMetric();
  single.addDimension("reason", reason);
  single.addMetric("UnroutableEvents", MetricUnit.Count, 1);
  runtime.logger.warn("EventBridge event kept in the ingest DLQ: no tenant to route it to", {
    reason,
    detail,
  });
}

export function createPublishHandler(runtime: PublishRuntime) {
  return middy(async (event: unknown): Promise<HttpResponse | undefined> => {
    if (isEventBridgeEvent(event)) {
      try {
        await publishFromEventBridge(event, runtime);
      } catch (error) {
        // Thrown on so that Lambda retries the invocation, then sends it to the ingest DLQ.
        runtime.logger.error("publish failed", {
          ingest: "eventbridge",
          error: error instanceof Error ? error.name : "unknown",
        });
        recordPublishFailure(runtime, "eventbridge");
        throw error;
      }
      return undefined;
    }
    const request = event as APIGatewayProxyEvent;
    if (request.resource === BATCH_RESOURCE) return publishBatchFromApi(request, runtime);
    return publishFromApi(request, runtime);
  }).use(injectLambdaContext(runtime.logger));
}
