/**
 * Delivering one SQS batch: for each message, load the webhook and its secrets, sign, POST, classify, and then —
 * in this order, so that work survives a crash at any line —
 *   1. record the attempt and the delivery's new state (one batched write for the whole batch),
 *   2. act on the queue: success → let the event source mapping delete it; retry → ChangeMessageVisibility to
 *      the next step and report the item failed; exhausted or permanent → copy to the DLQ with the reason.
 * A failure of our own dependencies retries the message after a short backoff without consuming an attempt.
 * Returns exactly the message ids to retry; never throws for one bad record.
 */
import { type AttemptResult, classifyAttempt, type Verdict } from "./delivery-outcome.ts";
import { patternMatches } from "./event-types.ts";
import {
  type Attempt,
  type Delivery,
  type DeliveryMessage,
  type DeliveryStatus,
  deliveryMessageSchema,
  type Webhook,
} from "./model.ts";
import { attemptLimit, type RetryPolicy, retryDelaySeconds } from "./retry-policy.ts";
import { signedRequestHeaders } from "./signing.ts";
import { signingVersions } from "./signing-secrets.ts";

export const RESPONSE_BODY_LIMIT_BYTES = 4096;

export interface QueueRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
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
  get(webhookId: string): Promise<Webhook | undefined>;
  disable(webhookId: string, reason: string): Promise<void>;
}

export interface SecretSource {
  get(webhookId: string, versionIds: readonly string[]): Promise<string[]>;
}

export interface EventBodySource {
  body(eventId: string): Promise<string | undefined>;
}

export interface DeliveryRecord {
  readonly delivery: Delivery;
  readonly attempt?: Attempt | undefined;
}

export interface DeliveryLedger {
  getDeliveries(deliveryIds: readonly string[]): Promise<Map<string, Delivery>>;
  /** Writes all records; returns the delivery ids whose write did not succeed. */
  record(records: readonly DeliveryRecord[]): Promise<Set<string>>;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
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
  attempt(outcome: string, durationMs: number): void;
  deadLettered(reason: string): void;
  dropped(reason: string): void;
}

export interface DeliverDeps {
  readonly webhooks: WebhookSource;
  readonly secrets: SecretSource;
  readonly events: EventBodySource;
  readonly ledger: DeliveryLedger;
  readonly queue: QueueActions;
  readonly http: HttpSender;
  readonly retryPolicy: RetryPolicy;
  /** Wait before retrying after a failure of our own dependencies (not counted as an attempt). */
  readonly dependencyBackoffSeconds: number;
  readonly now: () => Date;
  readonly random?: () => number;
  readonly log: DeliverLog;
  readonly metrics: DeliverMetrics;
}

type QueueAction =
  | { readonly kind: "delete" }
  | { readonly kind: "retry"; readonly delaySeconds: number }
  | { readonly kind: "dead_letter"; readonly reason: string }
  | { readonly kind: "backoff"; readonly cause: string };

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
    eventId: message.eventId,
    webhookId: message.webhookId,
    eventType: message.eventType,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    series: previous?.series ?? 0,
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

async function attemptOne(
  message: DeliveryMessage,
  previous: Delivery | undefined,
  deps: DeliverDeps,
): Promise<Settled> {
  const nowDate = deps.now();
  const now = nowDate.toISOString();
  // Terminal states: this message is a duplicate, or a previous run recorded the outcome and then stopped.
  if (previous?.status === "delivered" || previous?.status === "dropped")
    return { action: { kind: "delete" } };
  if (previous?.status === "failed")
    return { action: { kind: "dead_letter", reason: previous.reason ?? "failed" } };

  const webhook = await deps.webhooks.get(message.webhookId);
  if (!webhook) return dropped(message, previous, now, "webhook_deleted");
  if (!webhook.active) return dropped(message, previous, now, "webhook_disabled");
  // The subscription index may lag a pattern change; the webhook record is the truth.
  if (!message.direct && !webhook.eventTypes.some((pattern) => patternMatches(pattern, message.eventType))) {
    return dropped(message, previous, now, "unsubscribed");
  }
  const body = message.body ?? (await deps.events.body(message.eventId));
  if (body === undefined) return dropped(message, previous, now, "event_expired");
  const secrets = await deps.secrets.get(webhook.id, signingVersions(webhook, nowDate));

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
  const attempt: Attempt = {
    deliveryId: message.deliveryId,
    webhookId: message.webhookId,
    eventId: message.eventId,
    eventType: message.eventType,
    attempt: attemptNumber,
    series: previous?.series ?? 0,
    status: verdict.action === "succeed" ? "succeeded" : "failed",
    statusCode,
    responseBody:
      sent.responseBody === undefined
        ? undefined
        : truncateUtf8(sent.responseBody, RESPONSE_BODY_LIMIT_BYTES),
    durationMs: Math.round(sent.durationMs),
    errorClass: sent.result.kind === "transport_error" ? sent.result.errorClass : undefined,
    timestamp: now,
  };
  deps.metrics.attempt(verdict.action === "succeed" ? "succeeded" : verdict.reason, sent.durationMs);
  const decision = await decide(verdict, { webhook, attemptNumber, now, deps });
  const delivery = nextDelivery(message, previous, now, {
    status: decision.status,
    attempts: attemptNumber,
    lastStatusCode: statusCode,
    lastError: verdict.action === "succeed" ? undefined : verdict.reason,
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
      await deps.webhooks.disable(webhook.id, verdict.reason).catch((error: unknown) => {
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
  previous: Map<string, Delivery>,
  deps: DeliverDeps,
): Promise<Plan> {
  if (!message) return { record, action: { kind: "dead_letter", reason: "malformed_message" } };
  try {
    return { record, message, ...(await attemptOne(message, previous.get(message.deliveryId), deps)) };
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
    eventId: plan.message?.eventId,
    webhookId: plan.message?.webhookId,
    deliveryId: plan.message?.deliveryId,
    attempt: plan.write?.attempt?.attempt,
  };
}

export interface BatchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
}

export async function deliverBatch(records: readonly QueueRecord[], deps: DeliverDeps): Promise<BatchResult> {
  const failed = new Set<string>();
  const backoff = async (plan: Plan, cause: string) => {
    failed.add(plan.record.messageId);
    deps.log.warn("dependency failure; retrying without consuming an attempt", { ...logFields(plan), cause });
    await deps.queue
      .retryLater(plan.record.receiptHandle, deps.dependencyBackoffSeconds)
      .catch(() => undefined);
  };

  const messages = records.map((record) => parseMessage(record.body));
  const ids = messages.flatMap((message) => message?.deliveryId ?? []);
  let previous: Map<string, Delivery>;
  try {
    previous = await deps.ledger.getDeliveries([...new Set(ids)]);
  } catch (error) {
    const plans = records.map(
      (record): Plan => ({ record, action: { kind: "backoff", cause: String(error) } }),
    );
    await Promise.all(plans.map((plan) => backoff(plan, "ledger_read_failed")));
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  }

  const plans = await Promise.all(
    records.map((record, index) => planRecord(record, messages[index], previous, deps)),
  );

  const writes = plans.flatMap((plan) => (plan.write ? [plan.write] : []));
  let unwritten: Set<string>;
  try {
    unwritten = writes.length > 0 ? await deps.ledger.record(writes) : new Set();
  } catch {
    unwritten = new Set(writes.map((write) => write.delivery.id));
  }

  const letters: DeadLetter[] = [];
  await Promise.all(
    plans.map(async (plan) => {
      const fields = logFields(plan);
      if (plan.write && unwritten.has(plan.write.delivery.id)) return backoff(plan, "ledger_write_failed");
      const { action } = plan;
      switch (action.kind) {
        case "delete":
          if (plan.write?.delivery.status === "dropped") {
            deps.metrics.dropped(plan.write.delivery.reason ?? "dropped");
            deps.log.info("delivery dropped", { ...fields, reason: plan.write.delivery.reason });
          } else if (plan.write) {
            deps.log.info("delivered", { ...fields, statusCode: plan.write.attempt?.statusCode });
          }
          return;
        case "backoff":
          return backoff(plan, action.cause);
        case "retry":
          failed.add(plan.record.messageId);
          deps.log.info("retry scheduled", {
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
          letters.push({
            messageId: plan.record.messageId,
            body: plan.record.body,
            reason: action.reason,
            deliveryId: plan.message?.deliveryId,
            webhookId: plan.message?.webhookId,
            eventId: plan.message?.eventId,
            attempts: plan.write?.delivery.attempts,
          });
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
