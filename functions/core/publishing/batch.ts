/**
 * `POST /tenants/{tenantId}/events/batch`: up to 100 events in one request, each published as `POST …/events` would
 * publish it (through `publishBatch`, idempotent on each id), each answered apart. The request as a whole is
 * refused (400, nothing stored) only when it is malformed; what only publishing can find out is one event's result.
 */
import * as z from "zod/mini";
import {
  DomainError,
  type FieldIssue,
  NotFoundError,
  type ProblemDocument,
  toProblem,
  UnprocessableError,
  ValidationError,
} from "../shared/errors.ts";
import { newEventId } from "../shared/ids.ts";
import { type PublishRequest, publishRequestSchema } from "../shared/model.ts";
import { type PublishDeps, publishBatch } from "./publish.ts";

export const MAX_BATCH_EVENTS = 100;
/**
 * The largest batch body. API Gateway hands the body to Lambda as a JSON string inside the proxy event, where each
 * `"` and `\` of the body is escaped to two characters, and a synchronous invocation takes at most 6 MB (6,291,456
 * bytes): 3,000,000 bytes stay within it even for a body of nothing but quotes, with the headers and request
 * context beside it.
 */
export const MAX_BATCH_BODY_BYTES = 3_000_000;

export const publishBatchRequestSchema = z.strictObject({
  events: z
    .array(publishRequestSchema)
    .check(
      z.minLength(1, "at least one event"),
      z.maxLength(MAX_BATCH_EVENTS, `at most ${MAX_BATCH_EVENTS} events`),
    ),
});
export type PublishBatchRequest = z.infer<typeof publishBatchRequestSchema>;

/** What a batch answers for one event published (or already published: `duplicate`). */
export interface AcceptedResult {
  readonly status: 202;
  readonly eventId: string;
  readonly deliveries: number;
  readonly duplicate: boolean;
}

/** What a batch answers for one event not published, with the problem as the single route would answer it. */
export interface FailedResult {
  readonly status: number;
  readonly eventId: string;
  readonly problem: Omit<ProblemDocument, "errors"> & { errors?: FieldIssue[] };
}

export type BatchEventResult = AcceptedResult | FailedResult;

/**
 * A failure that is not the event's fault (a dependency failed or timed out): nothing about it is echoed. The event
 * may be stored and not yet fanned out; publishing it again with the same id completes it without duplicates.
 */
export const TRANSIENT_PROBLEM: ProblemDocument = {
  type: "about:blank",
  title: "Service unavailable",
  status: 503,
  detail: "The event was not completed; publish it again with the same id (that is safe).",
};

/**
 * An event's failure as its result's problem. In a batch, 400 means the request was refused as a whole; data its
 * type's catalogue schema refuses is the one 400 that only publishing finds out, so it is answered per event as
 * 422 (same `errors`). Anything not named in the domain's errors is a transient 503.
 */
export function batchProblem(error: unknown): ProblemDocument {
  if (error instanceof ValidationError && !(error instanceof UnprocessableError))
    return toProblem(new UnprocessableError(error.issues));
  if (error instanceof DomainError) return toProblem(error);
  return TRANSIENT_PROBLEM;
}

export interface BatchAnswer {
  /** One per event, in request order. */
  readonly results: BatchEventResult[];
  /** For the operator's log (never the answer): the name of each error behind a 5xx result. */
  readonly transientErrors: string[];
}

/**
 * Publishes the events of one tenant's batch. Each event without an id gets one first (`evt_…`, in its result), so
 * that a transient failure names the id to publish it again with. Throws `NotFoundError` (nothing stored) if the
 * tenant does not exist.
 */
export async function publishTenantBatch(
  tenantId: string,
  requests: readonly PublishRequest[],
  deps: PublishDeps,
): Promise<BatchAnswer> {
  const identified = requests.map((request) => (request.id ? request : { ...request, id: newEventId() }));
  const outcomes = await publishBatch(
    identified.map((request) => ({ tenantId, request, defaultSource: "api" })),
    deps,
  );
  // The tenant is read once for the whole batch: if it is missing, every event failed before anything was stored.
  const missing = outcomes.find(
    (outcome): outcome is { ok: false; error: NotFoundError } =>
      !outcome.ok && outcome.error instanceof NotFoundError,
  );
  if (missing) throw missing.error;
  const transientErrors: string[] = [];
  const results = outcomes.map((outcome, index): BatchEventResult => {
    const eventId = identified[index]?.id ?? "";
    if (outcome.ok) return { status: 202, ...outcome.result };
    const { errors, ...problem } = batchProblem(outcome.error);
    if (problem.status >= 500)
      transientErrors.push(outcome.error instanceof Error ? outcome.error.name : "unknown");
    return {
      status: problem.status,
      eventId,
      problem: errors ? { ...problem, errors: [...errors] } : problem,
    };
  });
  return { results, transientErrors };
}
