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

import {
  type CircuitGate,
  circuitGate,
  DEFAULT_HEALTH_POLICY,
  type EndpointHealth,
  failedTooLong,
  type HealthPolicy,
  rateWaitSeconds,
  shouldOpen,
  successesNeedWriting,
  windowAfter,
  windowIsCurrent,
} from "../health/endpoint-health.ts";
import type { OperationalEvent, OperationalEventSink } from "../health/operational-events.ts";
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
  /**
   * Turns the webhook off unless its URL is no longer `sentTo` (a 410 from an old URL disables nothing); true only
   * for the call that turned it off (the one that then tells the operator).
   */
  disable(tenantId: string, webhookId: string, reason: string, sentTo: string): Promise<boolean | undefined>;
}

export interface WebhookTarget {
  readonly tenantId: string;
  readonly webhookId: string;
}

/** Writes to a webhook's health record; each transition is conditional, and true only for the call that made it. */
export interface HealthControls {
  /**
   * Reserves up to `wanted` requests under the webhook's rate limit (one conditional UpdateItem, retried on a
   * race with the value the refusal returned). Returns how many were granted and the limiter's state afterwards.
   */
  reserveRate(
    target: WebhookTarget,
    limitPerSecond: number,
    readTat: number | undefined,
    now: Date,
    wanted: number,
  ): Promise<{ granted: number; tat: number }>;
  /** Open → half-open with this container holding the single probe lease until `leaseUntil`. */
  takeProbe(target: WebhookTarget, now: Date, leaseUntil: string): Promise<boolean>;
  /** Half-open → closed (the probe succeeded) or → open again until `probeAt`, if the lease is still `lease`. */
  settleProbe(
    target: WebhookTarget,
    lease: string,
    outcome: { readonly succeeded: boolean; readonly now: Date; readonly probeAt: string },
  ): Promise<boolean>;
  /** Closed → open (the failure density crossed the threshold). */
  open(target: WebhookTarget, now: Date, probeAt: string): Promise<boolean>;
  /** Forgets the circuit and the failure clock (after an automatic disable, so re-enabling starts afresh). */
  reset(target: WebhookTarget): Promise<void>;
}

/** This batch's attempts to one webhook, added to its health record after the batch's ledger transaction. */
export interface HealthDelta extends WebhookTarget {
  readonly attempts: number;
  readonly failures: number;
  readonly succeeded: boolean;
  /** Whether the window the record counts in is still current (add to it) or a new one starts now. */
  readonly windowCurrent: boolean;
  readonly at: string;
  /** A success while the failure clock runs: written with the batch's records (in its ledger transaction). */
  readonly stopsFailureClock?: boolean;
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
  /** Webhooks whose health counts for this batch could not be added (the breaker and failure clock miss them). */
  readonly healthCountsLost?: number;
}

export interface BatchState {
  readonly deliveries: Map<string, Delivery>;
  /** By `webhookKey(tenantId, webhookId)`: a webhook is read in its tenant's partition, never another's. */
  readonly webhooks: Map<string, Webhook>;
  /** The tenants that exist and are not being deleted. */
  readonly liveTenants: Set<string>;
  /** By `webhookKey`: health records (absent: never failed, never limited). */
  readonly health?: Map<string, EndpointHealth>;
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
  /**
   * Writes all records, each conditional on `expectedUpdatedAt`, the attempt together with its delivery; then adds
   * the batch's health counts (unconditional, outside the transaction).
   */
  record(records: readonly DeliveryRecord[], health?: readonly HealthDelta[]): Promise<RecordOutcome>;
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
  /** Sends `body` again as a new message (its receive count starts over), visible after `delaySeconds`. */
  requeue(body: string, tenantId: string, delaySeconds: number): Promise<void>;
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
  /** A delivery held back without a request: by the circuit breaker or the rate limit. */
  held?(cause: "circuit_open" | "rate_limited"): void;
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
  /** Absent (unit tests of other concerns): no rate limit, no circuit, no health counts. */
  readonly health?: HealthControls;
  readonly healthPolicy?: HealthPolicy;
  readonly notices?: OperationalEventSink;
}

type QueueAction =
  | { readonly kind: "delete" }
  | { readonly kind: "retry"; readonly delaySeconds: number }
  | { readonly kind: "dead_letter"; readonly reason: string }
  | { readonly kind: "backoff"; readonly cause: string }
  /** A duplicate the delivery record has moved past: deleted without a request. */
  | { readonly kind: "superseded" }
  /** Arrived before its retry is due (a re-enqueued copy): hidden again until then, no attempt made. */
  | { readonly kind: "not_yet_due"; readonly delaySeconds: number }
  /** Held by the circuit breaker or the rate limit: hidden for a while, no request, no attempt. */
  | { readonly kind: "held"; readonly delaySeconds: number; readonly cause: "circuit_open" | "rate_limited" };

interface Plan {
  readonly record: QueueRecord;
  readonly message?: DeliveryMessage | undefined;
  readonly write?: DeliveryRecord | undefined;
  readonly action: QueueAction;
  /** Told to the operator whatever becomes of the write (the transition it reports has happened). */
  readonly notice?: OperationalEvent | undefined;
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

type Settled = Pick<Plan, "write" | "action" | "notice">;

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

/** A message that passed every check and may be sent, if the webhook's health admits it. */
interface Candidate {
  readonly message: DeliveryMessage;
  readonly previous: Delivery | undefined;
  readonly webhook: Webhook;
}

function gateOne(message: DeliveryMessage, state: BatchState, nowDate: Date): Settled | Candidate {
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
  return { message, previous, webhook: gate.webhook };
}

async function attemptOne(candidate: Candidate, deps: DeliverDeps): Promise<Settled> {
  const { message, previous, webhook } = candidate;
  const nowDate = deps.now();
  const now = nowDate.toISOString();
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
  return { write: { delivery, attempt }, action: decision.action, notice: decision.notice };
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
  readonly notice?: OperationalEvent | undefined;
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
    case "disable": {
      // Conditional on the URL that answered 410: an endpoint moved meanwhile stays active.
      const disabled = await deps.webhooks
        .disable(webhook.tenantId, webhook.id, verdict.reason, webhook.url)
        .catch((error: unknown) => {
          deps.log.error("could not disable webhook after 410", {
            webhookId: webhook.id,
            error: String(error),
          });
          return false;
        });
      return {
        status: "failed",
        action: { kind: "dead_letter", reason: "endpoint_gone" },
        extra: { reason: "endpoint_gone" },
        notice: disabled
          ? {
              detailType: "Webhook Disabled",
              detail: {
                tenantId: webhook.tenantId,
                webhookId: webhook.id,
                reason: "endpoint_gone",
                failingSince: null,
                occurredAt: context.now,
              },
            }
          : undefined,
      };
    }
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

function planOf(record: QueueRecord, message: DeliveryMessage, settled: Settled, state: BatchState): Plan {
  const read = state.deliveries.get(message.deliveryId);
  const write = settled.write && { ...settled.write, expectedUpdatedAt: read?.updatedAt ?? null };
  return { record, message, ...settled, write };
}

async function sendPlanned(
  record: QueueRecord,
  candidate: Candidate,
  state: BatchState,
  deps: DeliverDeps,
): Promise<Plan> {
  try {
    return planOf(record, candidate.message, await attemptOne(candidate, deps), state);
  } catch (error) {
    return {
      record,
      message: candidate.message,
      action: { kind: "backoff", cause: error instanceof Error ? error.name : "unknown" },
    };
  }
}

/** What the webhook's health lets through now: which candidates are sent, which are held and for how long. */
interface Admission {
  readonly send: number[];
  readonly held: Map<number, { delaySeconds: number; cause: "circuit_open" | "rate_limited" }>;
  /** Set when this container holds the probe lease: the one candidate sent is the probe. */
  readonly probeLease?: string | undefined;
}

async function admit(
  indexes: readonly number[],
  webhook: Webhook,
  health: EndpointHealth | undefined,
  deps: DeliverDeps,
): Promise<Admission> {
  const controls = deps.health;
  if (!controls) return { send: [...indexes], held: new Map() };
  const policy = deps.healthPolicy ?? DEFAULT_HEALTH_POLICY;
  const now = deps.now();
  const target = { tenantId: webhook.tenantId, webhookId: webhook.id };
  const held: Admission["held"] = new Map();
  const hold = (list: readonly number[], delaySeconds: number, cause: "circuit_open" | "rate_limited") => {
    for (const index of list) held.set(index, { delaySeconds, cause });
  };
  let send = [...indexes];
  let probeLease: string | undefined;
  const gate: CircuitGate = circuitGate(health, policy, now);
  if (gate.kind === "hold") {
    hold(send, gate.delaySeconds, "circuit_open");
    return { send: [], held };
  }
  if (gate.kind === "probe_due") {
    const lease = new Date(now.getTime() + policy.probeLeaseSeconds * 1000).toISOString();
    const taken = await controls.takeProbe(target, now, lease).catch(() => false);
    const interval = Math.max(1, policy.probeIntervalSeconds);
    hold(taken ? send.slice(1) : send, interval, "circuit_open");
    if (!taken) return { send: [], held };
    send = send.slice(0, 1);
    probeLease = lease;
  }
  const limit = webhook.rateLimitPerSecond;
  if (limit !== undefined && send.length > 0) {
    try {
      const { granted, tat } = await controls.reserveRate(target, limit, health?.rateTat, now, send.length);
      const deferred = send.slice(granted);
      for (const [position, index] of deferred.entries())
        held.set(index, {
          delaySeconds: rateWaitSeconds(limit, tat, now.getTime(), position + 1),
          cause: "rate_limited",
        });
      send = send.slice(0, granted);
    } catch (error) {
      deps.log.warn("rate limit reservation failed; holding the webhook's deliveries", {
        webhookId: webhook.id,
        error: String(error),
      });
      hold(send, 1, "rate_limited");
      send = [];
    }
    if (probeLease && send.length === 0) {
      // The probe lost its token: give the lease back by letting it run out (a short one would be no better).
      probeLease = undefined;
    }
  }
  return { send, held, probeLease };
}

/** A held delivery: no request, no attempt. One held by the circuit is recorded as due then, for the reconciler. */
function heldPlan(
  record: QueueRecord,
  candidate: Candidate,
  hold: { delaySeconds: number; cause: "circuit_open" | "rate_limited" },
  state: BatchState,
  now: Date,
): Plan {
  const action = { kind: "held", ...hold } as const;
  if (hold.cause !== "circuit_open") return { record, message: candidate.message, action };
  const { message, previous } = candidate;
  const at = now.toISOString();
  const nextAttemptAt = new Date(now.getTime() + hold.delaySeconds * 1000).toISOString();
  const delivery = nextDelivery(message, previous, at, {
    status: previous?.status === "retrying" ? "retrying" : "pending",
    attempts: previous?.attempts ?? 0,
    nextAttemptAt,
  });
  return planOf(record, message, { write: { delivery }, action }, state);
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

/** Gates every message, then lets each webhook's health admit its candidates, then sends what was admitted. */
async function planBatch(
  records: readonly QueueRecord[],
  messages: readonly (DeliveryMessage | undefined)[],
  duplicates: Set<number>,
  state: BatchState,
  deps: DeliverDeps,
  probes: Map<string, string>,
): Promise<Plan[]> {
  const now = deps.now();
  const plans: Plan[] = [];
  const candidates = new Map<number, Candidate>();
  const byWebhook = new Map<string, number[]>();
  for (const [index, record] of records.entries()) {
    const message = messages[index];
    if (!message) {
      plans[index] = { record, action: { kind: "dead_letter", reason: "malformed_message" } };
    } else if (duplicates.has(index)) {
      plans[index] = { record, message, action: { kind: "superseded" } };
    } else {
      const gated = gateOne(message, state, now);
      if ("action" in gated) {
        plans[index] = planOf(record, message, gated, state);
      } else {
        candidates.set(index, gated);
        const key = webhookKey(message.tenantId, message.webhookId);
        byWebhook.set(key, [...(byWebhook.get(key) ?? []), index]);
      }
    }
  }
  const candidate = (index: number) => candidates.get(index) as Candidate;
  await Promise.all(
    [...byWebhook].map(async ([key, indexes]) => {
      const { webhook } = candidate(indexes[0] as number);
      const admission = await admit(indexes, webhook, state.health?.get(key), deps);
      for (const [index, hold] of admission.held)
        plans[index] = heldPlan(records[index] as QueueRecord, candidate(index), hold, state, now);
      if (admission.probeLease && admission.send.length > 0) probes.set(key, admission.probeLease);
      await Promise.all(
        admission.send.map(async (index) => {
          plans[index] = await sendPlanned(records[index] as QueueRecord, candidate(index), state, deps);
        }),
      );
    }),
  );
  return plans;
}

/** Per webhook: the attempts this batch made and how many failed. */
function tallyAttempts(plans: readonly Plan[], state: BatchState, deps: DeliverDeps): HealthDelta[] {
  const now = deps.now();
  const tallies = new Map<
    string,
    { tenantId: string; webhookId: string; attempts: number; failures: number }
  >();
  for (const plan of plans) {
    const attempt = plan.write?.attempt;
    if (!attempt) continue;
    const key = webhookKey(attempt.tenantId, attempt.webhookId);
    const tally = tallies.get(key) ?? {
      tenantId: attempt.tenantId,
      webhookId: attempt.webhookId,
      attempts: 0,
      failures: 0,
    };
    tally.attempts += 1;
    if (attempt.status === "failed") tally.failures += 1;
    tallies.set(key, tally);
  }
  return [...tallies].map(([key, tally]) => {
    const health = state.health?.get(key);
    const succeeded = tally.failures < tally.attempts;
    return {
      ...tally,
      succeeded,
      windowCurrent: windowIsCurrent(health, deps.healthPolicy ?? DEFAULT_HEALTH_POLICY, now),
      at: now.toISOString(),
      ...(succeeded && health?.failingSince !== undefined ? { stopsFailureClock: true } : {}),
    };
  });
}

/** The tallies whose counts change something (`successesNeedWriting`); the others are not written. */
function countsToWrite(
  tallies: readonly HealthDelta[],
  state: BatchState | undefined,
  deps: DeliverDeps,
): HealthDelta[] {
  const policy = deps.healthPolicy ?? DEFAULT_HEALTH_POLICY;
  const now = deps.now();
  return tallies.filter(
    (tally) =>
      tally.failures > 0 ||
      successesNeedWriting(state?.health?.get(webhookKey(tally.tenantId, tally.webhookId)), policy, now),
  );
}

function exhaustedNotices(
  plans: readonly Plan[],
  outcome: RecordOutcome,
  occurredAt: string,
): OperationalEvent[] {
  return plans.flatMap((plan): OperationalEvent[] => {
    const delivery = plan.write?.delivery;
    if (delivery?.status !== "failed" || !delivery.reason?.startsWith("exhausted:")) return [];
    if (outcome.failed.has(delivery.id) || outcome.superseded.has(delivery.id)) return [];
    return [
      {
        detailType: "Delivery Exhausted",
        detail: {
          tenantId: delivery.tenantId,
          webhookId: delivery.webhookId,
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          eventType: delivery.eventType,
          attempts: delivery.attempts,
          reason: delivery.reason,
          occurredAt,
        },
      },
    ];
  });
}

interface TransitionContext {
  readonly controls: HealthControls;
  readonly policy: HealthPolicy;
  readonly now: Date;
  readonly probeAt: string;
  readonly deps: DeliverDeps;
}

/** Settles this container's probe, or opens a closed circuit whose window crossed the threshold. */
async function circuitTransition(
  tally: HealthDelta,
  read: EndpointHealth | undefined,
  lease: string | undefined,
  context: TransitionContext,
): Promise<OperationalEvent | undefined> {
  const { controls, policy, now, probeAt } = context;
  const target = { tenantId: tally.tenantId, webhookId: tally.webhookId };
  const base = { ...target, occurredAt: now.toISOString() };
  if (lease) {
    const settled = await controls.settleProbe(target, lease, { succeeded: tally.succeeded, now, probeAt });
    return settled && tally.succeeded
      ? { detailType: "Webhook Recovered", detail: { ...base, openedAt: read?.openedAt ?? null } }
      : undefined;
  }
  if (read?.circuit && read.circuit !== "closed") return undefined;
  const window = windowAfter(read, policy, now, tally);
  if (tally.failures === 0 || !shouldOpen(window, policy)) return undefined;
  if (!(await controls.open(target, now, probeAt))) return undefined;
  return {
    detailType: "Webhook Failing",
    detail: { ...base, windowSeconds: policy.windowSeconds, ...window, nextProbeAt: probeAt },
  };
}

/** Disables a webhook whose every delivery has failed for the whole auto-disable window. */
async function disableTransition(
  tally: HealthDelta,
  read: EndpointHealth | undefined,
  webhook: Webhook | undefined,
  context: TransitionContext,
): Promise<OperationalEvent | undefined> {
  const { controls, policy, now, deps } = context;
  if (tally.succeeded || !webhook || !failedTooLong(read, policy, now)) return undefined;
  const disabled = await deps.webhooks.disable(
    tally.tenantId,
    tally.webhookId,
    "sustained_failure",
    webhook.url,
  );
  if (!disabled) return undefined;
  const target = { tenantId: tally.tenantId, webhookId: tally.webhookId };
  // Re-enabling starts afresh: a closed circuit and no failure clock.
  await controls.reset(target).catch(() => undefined);
  return {
    detailType: "Webhook Disabled",
    detail: {
      ...target,
      occurredAt: now.toISOString(),
      reason: "sustained_failure",
      failingSince: read?.failingSince ?? null,
    },
  };
}

/**
 * After the batch is recorded: settle a probe, open a circuit whose failure density crossed the threshold,
 * disable a webhook that has failed for the whole window, and report exhausted deliveries. Each transition is a
 * conditional write; only the caller that made it reports it.
 */
async function healthTransitions(
  plans: readonly Plan[],
  outcome: RecordOutcome,
  tallies: readonly HealthDelta[],
  state: BatchState,
  probes: ReadonlyMap<string, string>,
  controls: HealthControls,
  deps: DeliverDeps,
): Promise<OperationalEvent[]> {
  const policy = deps.healthPolicy ?? DEFAULT_HEALTH_POLICY;
  const now = deps.now();
  const probeAt = new Date(now.getTime() + policy.probeIntervalSeconds * 1000).toISOString();
  const context: TransitionContext = { controls, policy, now, probeAt, deps };
  const events = exhaustedNotices(plans, outcome, now.toISOString());
  await Promise.all(
    tallies.map(async (tally) => {
      const key = webhookKey(tally.tenantId, tally.webhookId);
      const read = state.health?.get(key);
      try {
        const circuit = await circuitTransition(tally, read, probes.get(key), context);
        const disabled = await disableTransition(tally, read, state.webhooks.get(key), context);
        for (const event of [circuit, disabled]) if (event) events.push(event);
      } catch (error) {
        deps.log.warn("health transition failed; the next batch evaluates it again", {
          webhookId: tally.webhookId,
          error: String(error),
        });
      }
    }),
  );
  return events;
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
  const hold = async (plan: Plan, action: Extract<QueueAction, { kind: "held" }>) => {
    const fields = logFields(plan);
    deps.metrics.held?.(action.cause);
    // SQS counts every hold as a receive: handed back once more past the budget, the queue's redrive policy would
    // dead-letter the message without a reason. It is sent again as a new message instead (same body, so the same
    // copy; its receive count starts over) and this one acknowledged. Should that send fail, this message is held
    // once more (the budget leaves receives to spare): a rate-limited delivery that never got a request has no
    // record for the reconciler to find, so acknowledging it would lose it.
    if ((plan.record.receiveCount ?? 1) >= deps.deadLetterAfterReceives) {
      try {
        if (!plan.message) throw new Error("no message to send again");
        await deps.queue.requeue(plan.record.body, plan.message.tenantId, action.delaySeconds);
        deps.log.info("held past the queue's receive budget: sent again as a new message", {
          ...fields,
          cause: action.cause,
          delaySeconds: action.delaySeconds,
        });
        return;
      } catch (error) {
        deps.log.warn("held past the queue's receive budget and not sent again: held once more", {
          ...fields,
          cause: action.cause,
          error: error instanceof Error ? error.name : String(error),
        });
      }
    }
    failed.add(plan.record.messageId);
    deps.log.info("held without a request", {
      ...fields,
      cause: action.cause,
      delaySeconds: action.delaySeconds,
    });
    await deps.queue.retryLater(plan.record.receiptHandle, action.delaySeconds).catch((error: unknown) => {
      deps.log.warn("ChangeMessageVisibility failed", { ...fields, error: String(error) });
    });
  };

  const messages = records.map((record) => parseMessage(record.body));
  const duplicates = duplicatesInBatch(messages);
  const present = messages.flatMap((message) => (message ? [message] : []));
  let plans: Plan[];
  let health: BatchState | undefined;
  const probes = new Map<string, string>();
  try {
    const webhookKeys = new Map(
      present.map((message) => [webhookKey(message.tenantId, message.webhookId), message]),
    );
    const state = await deps.ledger.readState(
      [...new Set(present.map((message) => message.deliveryId))],
      [...webhookKeys.values()].map(({ tenantId, webhookId }) => ({ tenantId, webhookId })),
    );
    health = state;
    plans = await planBatch(records, messages, duplicates, state, deps, probes);
  } catch {
    plans = records.map((record, index) => ({
      record,
      message: messages[index],
      action: { kind: "backoff", cause: "ledger_read_failed" } as const,
    }));
  }

  const writes = plans.flatMap((plan) => (plan.write ? [plan.write] : []));
  const tallies = health && deps.health ? tallyAttempts(plans, health, deps) : [];
  let outcome: RecordOutcome;
  try {
    outcome =
      writes.length > 0
        ? await deps.ledger.record(writes, countsToWrite(tallies, health, deps))
        : { failed: new Set(), superseded: new Set() };
  } catch {
    outcome = { failed: new Set(writes.map((write) => write.delivery.id)), superseded: new Set() };
  }
  if (outcome.healthCountsLost)
    deps.log.warn("health counts not added for this batch", { webhooks: outcome.healthCountsLost });
  const notices = plans.flatMap((plan) => (plan.notice ? [plan.notice] : []));
  if (health && deps.health)
    notices.push(...(await healthTransitions(plans, outcome, tallies, health, probes, deps.health, deps)));

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
        case "held":
          return hold(plan, action);
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
  if (notices.length > 0) await deps.notices?.emit(notices);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}
