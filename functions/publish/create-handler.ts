/**
 * Publish Lambda: `POST /tenants/{tenantId}/events` and `POST …/events/batch` (`batch-route.ts`) through API
 * Gateway, and batches of EventBridge events from the ingest queue (`ingest-queue.ts`), into one core. API callers get 202 `{eventId, deliveries}` or a problem
 * document; an ingest batch answers which of its records SQS should hand over again.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { ResponseBody } from "#core/contract/api-contract.ts";
import { parseJsonBody } from "#core/http/http-request.ts";
import { type HttpResponse, jsonResponse, problemResponse } from "#core/http/http-response.ts";
import { publish } from "#core/publishing/publish.ts";
import { ValidationError } from "#core/shared/errors.ts";
import { MAX_EVENT_BYTES, publishRequestSchema } from "#core/shared/model.ts";
import { BATCH_RESOURCE, publishBatchFromApi } from "./batch-route.ts";
import { isSqsEvent, publishFromIngestQueue } from "./ingest-queue.ts";
import { recordFanOut, recordPublishFailures } from "./publish-metrics.ts";
import { type PublishRuntime, publishDeps } from "./runtime.ts";

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
    if (!result.duplicate) recordFanOut(runtime, result.deliveries);
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
      recordPublishFailures(runtime, "api");
    }
    return response;
  }
}

/** One handler, two event sources: API Gateway's proxy events and the ingest queue's batches. */
export interface PublishHandler {
  (event: APIGatewayProxyEvent, context: Context): Promise<HttpResponse>;
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
}

export function createPublishHandler(runtime: PublishRuntime): PublishHandler {
  return middy(async (event: unknown): Promise<HttpResponse | SQSBatchResponse> => {
    if (isSqsEvent(event)) return publishFromIngestQueue(event, runtime);
    const request = event as APIGatewayProxyEvent;
    if (request.resource === BATCH_RESOURCE) return publishBatchFromApi(request, runtime);
    return publishFromApi(request, runtime);
  }).use(injectLambdaContext(runtime.logger)) as PublishHandler;
}
