/**
 * `POST /tenants/{tenantId}/events/batch` in the publish function: the whole request is refused (400, 413, 404) or
 * answered 200 with one result per event, in request order. One log line per batch, metrics as the single route
 * counts them (per event).
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import { parseJsonBody, parseWith } from "#core/http/http-request.ts";
import { type HttpResponse, problemResponse, reply } from "#core/http/http-response.ts";
import {
  type BatchEventResult,
  MAX_BATCH_BODY_BYTES,
  publishBatchRequestSchema,
  publishTenantBatch,
} from "#core/publishing/batch.ts";
import { recordFanOut, recordPublishFailures } from "./publish-metrics.ts";
import { type PublishRuntime, publishDeps } from "./runtime.ts";

export const BATCH_RESOURCE = "/tenants/{tenantId}/events/batch";

export async function publishBatchFromApi(
  event: APIGatewayProxyEvent,
  runtime: PublishRuntime,
): Promise<HttpResponse> {
  const tenantId = event.pathParameters?.tenantId ?? "";
  try {
    const { events } = parseWith(
      publishBatchRequestSchema,
      parseJsonBody(event, MAX_BATCH_BODY_BYTES, false, "the batch"),
    );
    const { results, transientErrors } = await publishTenantBatch(tenantId, events, publishDeps(runtime));
    recordBatch(runtime, tenantId, results, transientErrors);
    return reply("POST /tenants/{tenantId}/events/batch", 200, { results });
  } catch (error) {
    const response = problemResponse(error);
    if (response.statusCode >= 500) {
      runtime.logger.error("batch publish failed", {
        ingest: "api",
        tenantId,
        error: error instanceof Error ? error.name : "unknown",
      });
    }
    return response;
  }
}

/**
 * The single route's metrics, per event: `EventsPublished` and `FanOutSize` for each event newly published,
 * `PublishFailures` (`ingest=api`) for each event that failed for a reason of ours (5xx). One log line.
 */
function recordBatch(
  runtime: PublishRuntime,
  tenantId: string,
  results: readonly BatchEventResult[],
  transientErrors: readonly string[],
): void {
  const published = results.flatMap((result) =>
    "deliveries" in result && !result.duplicate ? [result.deliveries] : [],
  );
  const statuses: Record<string, number> = {};
  for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  const failed = results.filter((result) => result.status >= 500).length;
  recordFanOut(runtime, ...published);
  if (failed > 0) recordPublishFailures(runtime, "api", failed);
  const summary = {
    tenantId,
    events: results.length,
    published: published.length,
    duplicates: results.filter((result) => "duplicate" in result && result.duplicate).length,
    deliveries: published.reduce((sum, deliveries) => sum + deliveries, 0),
    statuses,
  };
  if (failed > 0)
    runtime.logger.error("batch published with failures", {
      ingest: "api",
      ...summary,
      errors: [...new Set(transientErrors)],
      failedEventIds: results.filter((result) => result.status >= 500).map((result) => result.eventId),
    });
  else runtime.logger.info("batch published", summary);
}
