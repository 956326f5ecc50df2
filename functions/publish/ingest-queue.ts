/**
 * EventBridge ingest: rules put events in the ingest queue, whose event source mapping hands publish up to ten at
 * a time. Every record's body is an EventBridge event. The routable ones of a batch are published together (one
 * `publishBatch`: each tenant read once, the delivery messages sent in full SendMessageBatch requests across
 * events); each is idempotent on its EventBridge id, so a record SQS hands over twice, or retries after a partial
 * success, fans out once.
 *
 * Per record: published → deleted from the queue. Retrying cannot help (malformed, no tenant to route it to, an
 * unknown tenant, data its type's schema refuses, an id reused with other content, too large) → kept in the
 * ingest DLQ with the reason as a message attribute, counted (`UnroutableEvents`), and deleted from the queue.
 * Anything else (storage or queue trouble) → reported in `batchItemFailures` alone: SQS hands it over again after
 * the visibility timeout, and to the ingest DLQ once its receives ran out (the queue's redrive policy). A record
 * that could not be kept in the DLQ is reported failed too: nothing is ever dropped.
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { eventBridgeEventSchema, fromEventBridge, tenantOf } from "#core/publishing/eventbridge.ts";
import { type PublishItem, publishBatch } from "#core/publishing/publish.ts";
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from "#core/shared/errors.ts";
import { publishRequestSchema } from "#core/shared/model.ts";
import { recordFanOut, recordPublishFailures } from "./publish-metrics.ts";
import { type PublishRuntime, publishDeps } from "./runtime.ts";

/** Why a record was kept in the ingest DLQ instead of published: the `reason` attribute, and a metric dimension. */
export type KeptReason =
  | "malformed"
  | "missing_tenant"
  | "invalid_tenant"
  | "unknown_tenant"
  | "invalid_data"
  | "conflict"
  | "too_large";

type Disposition =
  | { readonly kind: "publish"; readonly item: PublishItem }
  | {
      readonly kind: "keep";
      readonly reason: KeptReason;
      readonly detail: string;
      /** The EventBridge id, when the body had one. */
      readonly eventId?: string | undefined;
    };

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((record) => (record as { eventSource?: unknown })?.eventSource === "aws:sqs")
  );
}

/** What one record is: an event to publish for a tenant, or one to keep aside (and why). */
function dispose(record: SQSRecord, runtime: PublishRuntime): Disposition {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return { kind: "keep", reason: "malformed", detail: "the message body is not JSON" };
  }
  const parsed = eventBridgeEventSchema.safeParse(body);
  if (!parsed.success) {
    const id = (body as { id?: unknown } | null)?.id;
    return {
      kind: "keep",
      reason: "malformed",
      detail: ValidationError.fromZod(parsed.error, "event").message,
      eventId: typeof id === "string" ? id.slice(0, 128) : undefined,
    };
  }
  const eventId = parsed.data.id;
  const checked = publishRequestSchema.safeParse(fromEventBridge(parsed.data));
  if (!checked.success)
    return {
      kind: "keep",
      reason: "malformed",
      detail: ValidationError.fromZod(checked.error, "event").message,
      eventId,
    };
  const routing = tenantOf(parsed.data, runtime.config.tenantIdPath, runtime.config.defaultTenantId);
  if ("unroutable" in routing)
    return { kind: "keep", reason: routing.unroutable, detail: routing.detail, eventId };
  return {
    kind: "publish",
    item: { tenantId: routing.tenantId, request: checked.data, defaultSource: parsed.data.source },
  };
}

/** A publish error retrying cannot fix, as the reason it is kept for; undefined for a passing failure. */
function permanentReason(
  error: unknown,
  tenantId: string,
): { reason: KeptReason; detail: string } | undefined {
  if (error instanceof NotFoundError)
    return { reason: "unknown_tenant", detail: `tenant ${tenantId} does not exist` };
  // Data its type's schema refuses (docs/routing.md).
  if (error instanceof ValidationError) return { reason: "invalid_data", detail: error.message };
  if (error instanceof ConflictError) return { reason: "conflict", detail: error.message };
  if (error instanceof PayloadTooLargeError) return { reason: "too_large", detail: error.message };
  return undefined;
}

/**
 * Keeps a record's body, as it arrived, in the ingest DLQ with the reason, and counts it. Throws if it cannot be
 * kept (the record is then reported failed and comes back).
 */
async function keep(record: SQSRecord, reason: KeptReason, detail: string, runtime: PublishRuntime) {
  const queueUrl = runtime.config.ingestDeadLetterQueueUrl;
  if (!queueUrl) throw new Error(`event kept aside (${reason}) but no ingest DLQ is configured`);
  await runtime.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: "String", StringValue: reason },
        detail: { DataType: "String", StringValue: detail.slice(0, 1024) },
      },
    }),
  );
  const single = runtime.metrics.singleMetric();
  single.addDimension("reason", reason);
  single.addMetric("UnroutableEvents", MetricUnit.Count, 1);
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : "unknown");

/** What the batch's log line says of one record that was not published. */
interface Unpublished {
  readonly messageId: string;
  readonly eventId?: string | undefined;
}

export async function publishFromIngestQueue(
  event: SQSEvent,
  runtime: PublishRuntime,
): Promise<SQSBatchResponse> {
  const records = event.Records;
  const dispositions = records.map((record) => dispose(record, runtime));
  const toPublish = dispositions.flatMap((disposition, index) =>
    disposition.kind === "publish" ? [{ index, item: disposition.item }] : [],
  );
  const outcomes =
    toPublish.length > 0
      ? await publishBatch(
          toPublish.map(({ item }) => item),
          publishDeps(runtime),
        )
      : [];

  const toKeep: { index: number; reason: KeptReason; detail: string }[] = [];
  const failed = new Map<number, string>();
  const fanOuts: number[] = [];
  let duplicates = 0;
  dispositions.forEach((disposition, index) => {
    if (disposition.kind === "keep")
      toKeep.push({ index, reason: disposition.reason, detail: disposition.detail });
  });
  toPublish.forEach(({ index, item }, position) => {
    const outcome = outcomes[position];
    if (outcome?.ok) {
      if (outcome.result.duplicate) duplicates += 1;
      else fanOuts.push(outcome.result.deliveries);
      return;
    }
    const permanent = permanentReason(outcome?.error, item.tenantId);
    if (permanent) toKeep.push({ index, ...permanent });
    else failed.set(index, errorName(outcome?.error));
  });
  const keeping = await Promise.allSettled(
    toKeep.map(({ index, reason, detail }) => keep(records[index] as SQSRecord, reason, detail, runtime)),
  );
  const kept: (Unpublished & { reason: KeptReason; detail: string })[] = [];
  keeping.forEach((outcome, position) => {
    const entry = toKeep[position];
    if (!entry) return;
    // Not kept: it comes back (never dropped), and the redrive keeps it if this goes on.
    if (outcome.status === "rejected") failed.set(entry.index, errorName(outcome.reason));
    else kept.push({ ...describe(entry.index), reason: entry.reason, detail: entry.detail });
  });
  // Every record that comes back counts as a failure of the EventBridge path (the PublishFailures alarm).
  if (failed.size > 0) recordPublishFailures(runtime, "eventbridge", failed.size);
  recordFanOut(runtime, ...fanOuts);

  const retried = [...failed]
    .sort(([a], [b]) => a - b)
    .map(([index, error]) => ({ ...describe(index), error }));
  const summary = {
    records: records.length,
    published: fanOuts.length,
    duplicates,
    deliveries: fanOuts.reduce((sum, count) => sum + count, 0),
    keptCount: kept.length,
    retriedCount: retried.length,
    ...(kept.length > 0 ? { kept } : {}),
    ...(retried.length > 0 ? { retried } : {}),
  };
  if (retried.length > 0) runtime.logger.error("ingest batch", summary);
  else if (kept.length > 0) runtime.logger.warn("ingest batch", summary);
  else runtime.logger.info("ingest batch", summary);
  return { batchItemFailures: retried.map(({ messageId }) => ({ itemIdentifier: messageId })) };

  function describe(index: number): Unpublished {
    const record = records[index];
    const disposition = dispositions[index];
    return {
      messageId: record?.messageId ?? "",
      eventId: disposition?.kind === "publish" ? disposition.item.request.id : disposition?.eventId,
    };
  }
}
