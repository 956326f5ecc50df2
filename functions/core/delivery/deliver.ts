/**
 * Delivering one SQS batch: read the batch's deliveries and their webhooks fresh (one strongly consistent
 * BatchGetItem: a change to a webhook applies to its very next delivery, and nothing absent is ever cached),
 * then for each message load the secrets, sign, POST, classify, and then — in this order, so that work survives
 * a crash at any line —
 *   1. record the attempt and the delivery's new state (one batched write for the whole batch),
 *   2. act on the queue: success → let the event source mapping delete it; retry → ChangeMessageVisibility to
 *      the next step and report the item failed; exhausted or permanent → copy to the DLQ with the reason.
 * A failure of our own dependencies retries the message after a growing backoff without consuming an attempt,
 * and dead-letters it with the reason before SQS's `maxReceiveCount` could move it there without one.
 * Returns exactly the message ids to retry; never throws for one bad record.
 */

import { patternMatches } from "../routing/event-types.ts";
import {
  type Attempt,
  type Delivery,
  type DeliveryMessage,
  type DeliveryStatus,
  deliveryMessageSchema,
  type Webhook,
} from "../shared/model.ts";
import { signedRequestHeaders } from "../signing/signing.ts";
import { secretOwner, signingVersions } from "../signing/signing-secrets.ts";
import { copyStanding } from "./delivery-copies.ts";
import { type AttemptResult, classifyAttempt, type Verdict } from "./delivery-outcome.ts";
import {
  attemptLimit,
  dependencyBackoffSeconds,
  MAX_RETRY_DELAY_SECONDS,
  type RetryPolicy,
  retryDelaySeconds,
} from "./retry-policy.ts";

export const RESPONSE_BODY_LIMIT_BYTES = 4096;

export interface QueueRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount: only used to dead-letter a dependency failure before maxReceiveCount does. */
  readonly receiveCount?: number | undefined;
}

export interface SendResult {
  readonly result: AttemptResult;
  readonly durationMs: number;
  readonly responseBody?: string | undefined;
}

export interface HttpSender {
  /** POSTs through the SSRF guard; never throws — every failure is a classified transport error. */
  post(url: string, headers: Readonly<Record<string, string>>, body: string): Promise<SendResult>;
}

export interface WebhookSource {
  /** Turns the webhook off unless its URL is no longer `sentTo` (a 410 from an old URL disables nothing). */
  disable(tenantId: string, webhookId: string, reason: string, sentTo: string): Promise<void>;
}

export interface SecretSource {
  /** The secret values of these versions; `owner` is `secretOwner(tenantId, webhookId)`. */
  get(owner: string, versionIds: readonly string[]): Promise<string[]>;
}

export interface EventBodySource {
  /** The stored body, read consistently; only bodies found may be cached (they never change). */
  body(tenantId: string, eventId: string): Promise<string | undefined>;
}

export interface DeliveryRecord {
  readonly delivery: Delivery;
  readonly attempt?: Attempt | undefined;
  /**
   * The record this write replaces, as read: its `updatedAt`, or null when there was none. The write lands only
   * if the record is still that one; otherwise another copy of the delivery moved it on meanwhile, and this
   * copy's outcome is superseded (not written at all, attempt included). Undefined: unconditional.
   */
  readonly expectedUpdatedAt?: string | null | undefined;
}

export interface RecordOutcome {
  /** Deliveries whose write did not land for a failure of ours (retried later). */
  readonly failed: Set<string>;
  /** Deliveries another copy moved on meanwhile: their write was refused, and must not be retried. */
  readonly superseded: Set<string>;
}

export interface BatchState {
  readonly deliveries: Map<string, Delivery>;
  /** By `webhookKey(tenantId, webhookId)`: a webhook is read in its tenant's partition, never another's. */
  readonly webhooks: Map<string, Webhook>;
  /** The tenants that exist and are not being deleted. */
  readonly liveTenants: Set<string>;
}

export const webhookKey = (tenantId: string, webhookId: string) => `${tenantId}\u0000${webhookId}`;

export interface DeliveryLedger {
  /**
   * A batch's deliveries, the webhooks they go to and those webhooks' tenants, read together and strongly
   * consistent (one BatchGetItem).
   */
  readState(
    deliveryIds: readonly string[],
    webhooks: readonly { tenantId: string; webhookId: string }[],
  ): Promise<BatchState>;
  /** Writes all records, each conditional on `expectedUpdatedAt`, the attempt together with its delivery. */
  record(records: readonly DeliveryRecord[]): Promise<RecordOutcome>;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
  readonly tenantId?: string | undefined;
  readonly deliveryId?: string | undefined;
  readonly webhookId?: string | undefined;
  readonly eventId?: string | undefined;
  readonly attempts?: number | undefined;
}

export interface QueueActions {
  retryLater(receiptHandle: string, delaySeconds: number): Promise<void>;
  /** Copies to the DLQ; returns the message ids that could not be sent. */
  deadLetter(letters: readonly DeadLetter[]): Promise<Set<string>>;
}

export interface DeliverLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface DeliverMetrics {
  attempt(outcome: string, durationMs: number, tenantId: string): void;
  deadLettered(reason: string): void;
  dropped(reason: string): void;
  dependencyBackoff(cause: string): void;
}

export interface DeliverDeps {
  readonly webhooks: WebhookSource;
  readonly secrets: SecretSource;
  readonly events: EventBodySource;
  readonly ledger: DeliveryLedger;
  readonly queue: QueueActions;
  readonly http: HttpSender;
  readonly retryPolicy: RetryPolicy;
  /** First wait before retrying after a failure of our own dependencies (not an attempt); doubles per receive. */
  readonly dependencyBackoffSeconds: number;
  /**
   * From this receive on, a dependency failure sends the message to the DLQ with its reason instead of backing
   * off again: below the queue's maxReceiveCount, which would move it there with no reason at all.
   */
  readonly deadLetterAfterReceives: number;
  readonly now: () => Date;
  readonly random?: () => number;
  readonly log: DeliverLog;
  readonly metrics: DeliverMetrics;
}

type QueueAction =
  | { readonly kind: "delete" }
  | { readonly kind: "retry"; readonly delaySeconds: number }
  | { readonly kind: "dead_letter"; readonly reason: string }
  | { readonly kind: "backoff"; readonly cause: string }
  /** A duplicate the delivery record has moved past: deleted without a request. */
  | { readonly kind: "superseded" }
  /** Arrived before its retry is due (a re-enqueued copy): hidden again until then, no attempt made. */
  | { readonly kind: "not_yet_due"; readonly delaySeconds: number };

interface Plan {
  readonly record: QueueRecord;
  readonly message?: DeliveryMessage | undefined;
  readonly write?: DeliveryRecord | undefined;
  readonly action: QueueAction;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= maxBytes
    ? text
    : bytes
        .subarray(0, maxBytes)
        .toString("utf8")
        .replace(/\uFFFD$/, "");
}

function nextDelivery(
  message: DeliveryMessage,
  previous: Delivery | undefined,
  now: string,
  changes: { status: DeliveryStatus; attempts: number } & Partial<Delivery>,
): Delivery {
  return {
    id: message.deliveryId,
    tenantId: message.tenantId,
    eventId: message.eventId,
    webhookId: message.webhookId,
    eventType: message.eventType,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    series: message.series ?? previous?.series ?? 0,
    copy: Math.max(message.copy ?? 0, previous?.copy ?? 0),
    ...changes,
  };
}

type Settled = Pick<Plan, "write" | "action">;

function dropped(
  message: DeliveryMessage,
  previous: Delivery | undefined,
  now: string,
  reason: string,
): Settled {
  return {
    write: {
      delivery: nextDelivery(message, previous, now, {
        status: "dropped",
        attempts: previous?.attempts ?? 0,
        reason,
      }),
    },
    action: { kind: "delete" },
  };
}

/** Seconds until a live delivery's next attempt is due; 0 when it is due now (a few seconds early count as due). */
function secondsUntilDue(previous: Delivery | undefined, now: Date): number {
  if (previous?.status !== "retrying" || !previous.nextAttemptAt) return 0;
  const seconds = Math.ceil((Date.parse(previous.nextAttemptAt) - now.getTime()) / 1000);
  return seconds > 5 ? Math.min(seconds, MAX_RETRY_DELAY_SECONDS) : 0;
}

/** The record as this message's series sees it, or "superseded" when the message is a stale duplicate. */
function currentSeries(
  message: DeliveryMessage,
  record: Delivery | undefined,
): Delivery | undefined | "superseded" {
  const standing = copyStanding(message, record);
  if (standing === "superseded") return standing;
  // A new series starts from zero attempts; the record's terminal state belongs to the series it ends.
  return standing === "fresh" && record
    ? { ...record, status: "pending", attempts: 0, reason: undefined, nextAttemptAt: undefined }
    : record;
}

/**
 * Outcomes decided before any request (a settled delivery, one not yet due, a webhook gone or off), or the
 * webhook to send to.
 */
function settledWithoutSending(
  message: DeliveryMessage,
  previous: Delivery | undefined,
  webhook: Webhook | undefined,
  tenantLive: boolean,
  nowDate: Date,
): Settled | { readonly webhook: Webhook } {
  const now = nowDate.toISOString();
  // Terminal states: this message is a duplicate, or a previous run recorded the outcome and then stopped.
  if (previous?.status === "delivered" || previous?.status === "dropped")
    return { action: { kind: "delete" } };
  if (previous?.status === "failed")
    return { action: { kind: "dead_letter", reason: previous.reason ?? "failed" } };
  const wait = secondsUntilDue(previous, nowDate);
  if (wait > 0) return { action: { kind: "not_yet_due", delaySeconds: wait } };
  // Read in this batch, strongly consistent: absent means deleted, not "not replicated yet".
  if (!tenantLive) return dropped(message, previous, now, "tenant_deleted");
  if (!webhook || webhook.tenantId !== message.tenantId)
    return dropped(message, previous, now, "webhook_deleted");
  if (!webhook.active) return dropped(message, previous, now, "webhook_disabled");
  // The subscription index may lag a pattern change; the webhook record is the truth.
  if (!message.direct && !webhook.eventTypes.some((pattern) => patternMatches(pattern, message.eventType))) {
    return dropped(message, previous, now, "unsubscribed");
  }
  return { webhook };
}

async function attemptOne(message: DeliveryMessage, state: BatchState, deps: DeliverDeps): Promise<Settled> {
  const nowDate = deps.now();
  const now = nowDate.toISOString();
  const previous = currentSeries(message, state.deliveries.get(message.deliveryId));
  if (previous === "superseded") return { action: { kind: "superseded" } };
  const found = state.webhooks.get(webhookKey(message.tenantId, message.webhookId));
  const gate = settledWithoutSending(
    message,
    previous,
    found,
    state.liveTenants.has(message.tenantId),
    nowDate,
  );
  if ("action" in gate) return gate;
  const { webhook } = gate;
  const body = message.body ?? (await deps.events.body(message.tenantId, message.eventId));
  if (body === undefined) return dropped(message, previous, now, "event_expired");
  const secrets = await deps.secrets.get(
    secretOwner(webhook.tenantId, webhook.id),
    signingVersions(webhook, nowDate),
  );

  const attemptNumber = (previous?.attempts ?? 0) + 1;
  const headers = signedRequestHeaders({
    eventId: message.eventId,
    eventType: message.eventType,
    deliveryId: message.deliveryId,
    attempt: attemptNumber,
    timestamp: Math.floor(nowDate.getTime() / 1000),
    body,
    secrets,
    scheme: webhook.signatureScheme,
    customHeaders: webhook.headers,
  });
  const sent = await deps.http.post(webhook.url, headers, body);
  const verdict = classifyAttempt(sent.result, deps.now());
  const statusCode = sent.result.kind === "response" ? sent.result.status : undefined;
  const series = message.series ?? previous?.series ?? 0;
  const attempt: Attempt = {
    deliveryId: message.deliveryId,
    tenantId: message.tenantId,
    webhookId: message.webhookId,
    eventId: message.eventId,
    eventType: message.eventType,
    attempt: attemptNumber,
    series,
    status: verdict.action === "succeed" ? "succeeded" : "failed",
    statusCode,
    // Only a failure's body explains anything; a 2xx's would cost up to 4 KiB in the item and again in its index.
    responseBody:
      verdict.action === "succeed" || sent.responseBody === undefined
        ? undefined
        : truncateUtf8(sent.responseBody, RESPONSE_BODY_LIMIT_BYTES),
    durationMs: Math.round(sent.durationMs),
    errorClass: sent.result.kind === "transport_error" ? sent.result.errorClass : undefined,
    timestamp: now,
  };
  deps.metrics.attempt(
    verdict.action === "succeed" ? "succeeded" : verdict.reason,
    sent.durationMs,
    message.tenantId,
  );
  const decision = await decide(verdict, { webhook, attemptNumber, now, deps });
  const delivery = nextDelivery(message, previous, now, {
    status: decision.status,
    attempts: attemptNumber,
    lastStatusCode: statusCode,
    lastError: verdict.action === "succeed" ? undefined : verdict.reason,
    nextAttemptAt: undefined,
    ...decision.extra,
  });
  return { write: { delivery, attempt }, action: decision.action };
}

interface DecisionContext {
  readonly webhook: Webhook;
  readonly attemptNumber: number;
  readonly now: string;
  readonly deps: DeliverDeps;
}

interface Decision {
  readonly status: DeliveryStatus;
  readonly action: QueueAction;
  readonly extra?: Partial<Delivery>;
}

async function decide(verdict: Verdict, context: DecisionContext): Promise<Decision> {
  const { webhook, attemptNumber, deps } = context;
  switch (verdict.action) {
    case "succeed":
      return { status: "delivered", action: { kind: "delete" } };
    case "retry": {
      if (attemptNumber >= attemptLimit(deps.retryPolicy, webhook.maxAttempts)) {
        const reason = `exhausted:${verdict.reason}`;
        return { status: "failed", action: { kind: "dead_letter", reason }, extra: { reason } };
      }
      const delaySeconds = retryDelaySeconds(
        deps.retryPolicy,
        attemptNumber,
        verdict.retryAfterSeconds,
        deps.random,
      );
      const nextAttemptAt = new Date(Date.parse(context.now) + delaySeconds * 1000).toISOString();
      return { status: "retrying", action: { kind: "retry", delaySeconds }, extra: { nextAttemptAt } };
    }
    case "disable":
      // Conditional on the URL that answered 410: an endpoint moved meanwhile stays active.
      await deps.webhooks
        .disable(webhook.tenantId, webhook.id, verdict.reason, webhook.url)
        .catch((error: unknown) => {
          deps.log.error("could not disable webhook after 410", {
            webhookId: webhook.id,
            error: String(error),
          });
        });
      return {
        status: "failed",
        action: { kind: "dead_letter", reason: "endpoint_gone" },
        extra: { reason: "endpoint_gone" },
      };
    case "fail":
      return {
        status: "failed",
        action: { kind: "dead_letter", reason: verdict.reason },
        extra: { reason: verdict.reason },
      };
  }
}

function parseMessage(body: string): DeliveryMessage | undefined {
  try {
    const parsed = deliveryMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function planRecord(
  record: QueueRecord,
  message: DeliveryMessage | undefined,
  state: BatchState,
  deps: DeliverDeps,
): Promise<Plan> {
  if (!message) return { record, action: { kind: "dead_letter", reason: "malformed_message" } };
  try {
    const settled = await attemptOne(message, state, deps);
    const read = state.deliveries.get(message.deliveryId);
    const write = settled.write && { ...settled.write, expectedUpdatedAt: read?.updatedAt ?? null };
    return { record, message, ...settled, write };
  } catch (error) {
    return {
      record,
      message,
      action: { kind: "backoff", cause: error instanceof Error ? error.name : "unknown" },
    };
  }
}

function logFields(plan: Plan): Record<string, unknown> {
  return {
    messageId: plan.record.messageId,
    tenantId: plan.message?.tenantId,
    eventId: plan.message?.eventId,
    webhookId: plan.message?.webhookId,
    deliveryId: plan.message?.deliveryId,
    attempt: plan.write?.attempt?.attempt,
  };
}

/**
 * Two messages of one delivery in one batch (a duplicate and its original): only the one that ranks highest is
 * attempted, the others are superseded at once rather than racing it.
 */
function duplicatesInBatch(messages: readonly (DeliveryMessage | undefined)[]): Set<number> {
  const best = new Map<string, number>();
  const rank = (message: DeliveryMessage) => [message.series ?? 0, message.copy ?? 0] as const;
  for (const [index, message] of messages.entries()) {
    if (!message) continue;
    const current = best.get(message.deliveryId);
    const other = current === undefined ? undefined : messages[current];
    const [series, copy] = rank(message);
    const [otherSeries, otherCopy] = other ? rank(other) : [-1, -1];
    if (series > otherSeries || (series === otherSeries && copy > otherCopy))
      best.set(message.deliveryId, index);
  }
  const kept = new Set(best.values());
  return new Set(messages.flatMap((message, index) => (message && !kept.has(index) ? [index] : [])));
}

export interface BatchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
}

function letterOf(plan: Plan, reason: string): DeadLetter {
  return {
    messageId: plan.record.messageId,
    body: plan.record.body,
    reason,
    tenantId: plan.message?.tenantId,
    deliveryId: plan.message?.deliveryId,
    webhookId: plan.message?.webhookId,
    eventId: plan.message?.eventId,
    attempts: plan.write?.delivery.attempts,
  };
}

export async function deliverBatch(records: readonly QueueRecord[], deps: DeliverDeps): Promise<BatchResult> {
  const failed = new Set<string>();
  const letters: DeadLetter[] = [];
  const backoff = async (plan: Plan, cause: string) => {
    deps.metrics.dependencyBackoff(cause);
    const receives = plan.record.receiveCount ?? 1;
    if (receives >= deps.deadLetterAfterReceives) {
      deps.log.error("dependency failure on the last receive; sending to the DLQ with the reason", {
        ...logFields(plan),
        cause,
        receives,
      });
      letters.push(letterOf(plan, `dependency_failure:${cause}`));
      return;
    }
    failed.add(plan.record.messageId);
    deps.log.warn("dependency failure; retrying without consuming an attempt", { ...logFields(plan), cause });
    await deps.queue
      .retryLater(
        plan.record.receiptHandle,
        dependencyBackoffSeconds(deps.dependencyBackoffSeconds, receives),
      )
      .catch(() => undefined);
  };

  const messages = records.map((record) => parseMessage(record.body));
  const duplicates = duplicatesInBatch(messages);
  const present = messages.flatMap((message) => (message ? [message] : []));
  let plans: Plan[];
  try {
    const webhookKeys = new Map(
      present.map((message) => [webhookKey(message.tenantId, message.webhookId), message]),
    );
    const state = await deps.ledger.readState(
      [...new Set(present.map((message) => message.deliveryId))],
      [...webhookKeys.values()].map(({ tenantId, webhookId }) => ({ tenantId, webhookId })),
    );
    plans = await Promise.all(
      records.map((record, index) =>
        duplicates.has(index)
          ? { record, message: messages[index], action: { kind: "superseded" } as const }
          : planRecord(record, messages[index], state, deps),
      ),
    );
  } catch {
    plans = records.map((record, index) => ({
      record,
      message: messages[index],
      action: { kind: "backoff", cause: "ledger_read_failed" } as const,
    }));
  }

  const writes = plans.flatMap((plan) => (plan.write ? [plan.write] : []));
  let outcome: RecordOutcome;
  try {
    outcome =
      writes.length > 0 ? await deps.ledger.record(writes) : { failed: new Set(), superseded: new Set() };
  } catch {
    outcome = { failed: new Set(writes.map((write) => write.delivery.id)), superseded: new Set() };
  }

  await Promise.all(
    plans.map(async (plan) => {
      const fields = logFields(plan);
      if (plan.write && outcome.failed.has(plan.write.delivery.id))
        return backoff(plan, "ledger_write_failed");
      // Two copies processed at once: the other one recorded first, so it owns the chain (at-least-once: the
      // receiver may have had this copy's request too, with the same webhook-id).
      const { action } =
        plan.write && outcome.superseded.has(plan.write.delivery.id)
          ? { action: { kind: "superseded" } as const }
          : plan;
      switch (action.kind) {
        case "delete":
          if (plan.write?.delivery.status === "dropped") {
            deps.metrics.dropped(plan.write.delivery.reason ?? "dropped");
            deps.log.info("delivery dropped", { ...fields, reason: plan.write.delivery.reason });
          } else if (plan.write) {
            deps.log.info("delivered", { ...fields, statusCode: plan.write.attempt?.statusCode });
          }
          return;
        case "superseded":
          deps.log.info("superseded copy discarded; another copy owns this delivery", fields);
          return;
        case "backoff":
          return backoff(plan, action.cause);
        case "not_yet_due":
        case "retry":
          failed.add(plan.record.messageId);
          deps.log.info(action.kind === "retry" ? "retry scheduled" : "not yet due; hidden until then", {
            ...fields,
            delaySeconds: action.delaySeconds,
            reason: plan.write?.delivery.lastError,
          });
          return deps.queue
            .retryLater(plan.record.receiptHandle, action.delaySeconds)
            .catch((error: unknown) => {
              // The message still comes back, after the queue's default visibility timeout instead.
              deps.log.warn("ChangeMessageVisibility failed", { ...fields, error: String(error) });
            });
        case "dead_letter":
          letters.push(letterOf(plan, action.reason));
          return;
      }
    }),
  );

  if (letters.length > 0) {
    let unsent: Set<string>;
    try {
      unsent = await deps.queue.deadLetter(letters);
    } catch {
      unsent = new Set(letters.map((letter) => letter.messageId));
    }
    for (const letter of letters) {
      if (unsent.has(letter.messageId)) {
        failed.add(letter.messageId);
        deps.log.error("could not send to the DLQ; the message will be retried", {
          messageId: letter.messageId,
          deliveryId: letter.deliveryId,
        });
      } else {
        deps.metrics.deadLettered(letter.reason);
        deps.log.warn("sent to the DLQ", {
          messageId: letter.messageId,
          deliveryId: letter.deliveryId,
          reason: letter.reason,
        });
      }
    }
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}
