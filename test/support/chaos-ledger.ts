/**
 * The chaos suite's bookkeeping: what must hold between one (event, webhook) pair's delivery record, its attempt
 * log (both as the management API serves them), its letters in the DLQ, and the requests the receivers saw; and
 * that no request, attempt or letter crosses from one tenant to another. Pure functions over plain data, so
 * that each property can be shown to reject a bad history on its own (test/unit/chaos-ledger.test.ts) before
 * the chaos run relies on it.
 */
import type { Attempt, Delivery } from "#core/shared/model.ts";
import type { SeenRequest } from "./chaos-receiver.ts";

/** One message found in the DLQ: its delivery, the reason given, and the (series, copy) its body carries. */
export interface Letter {
  readonly deliveryId: string;
  /** The `tenantId` attribute, when the letter has one. */
  readonly tenantId?: string | undefined;
  readonly reason: string;
  readonly series: number;
  readonly copy: number;
  /** The `attempts` attribute, when the letter has one (not on a repeat of a letter already sent). */
  readonly attempts?: number | undefined;
}

/** Everything known about one pair once the run has settled. */
export interface PairView {
  readonly record: Delivery;
  /** Every attempt of the delivery, all series, in any order. */
  readonly attempts: readonly Attempt[];
  readonly letters: readonly Letter[];
  /** Every request any receiver saw carrying this delivery id (old and new URL alike). */
  readonly seen: readonly SeenRequest[];
  /** The webhook's URL never had a listener: nothing can have been delivered. */
  readonly down: boolean;
  /** Attempts per series: the retry schedule's steps + 1. */
  readonly maxAttempts: number;
}

const seriesOf = (item: { series?: number | undefined }) => item.series ?? 0;
const copyOf = (item: { copy?: number | undefined }) => item.copy ?? 0;
const is2xx = (status: number | "reset" | undefined) =>
  typeof status === "number" && status >= 200 && status < 300;

/** The attempts of the record's current series, by attempt number. */
export function currentSeries(view: Pick<PairView, "record" | "attempts">): Attempt[] {
  return view.attempts
    .filter((attempt) => seriesOf(attempt) === seriesOf(view.record))
    .sort((left, right) => left.attempt - right.attempt);
}

/**
 * The pair is accounted for exactly once: delivered, or failed with its reason in the DLQ, or dropped with a
 * reason. (Whether the DLQ agrees is `letterProblems`; whether a receiver really took it is
 * `receiverProblems`.)
 */
export function outcomeProblems(view: PairView): string[] {
  const { record } = view;
  const problems: string[] = [];
  if (!["delivered", "failed", "dropped"].includes(record.status)) problems.push(`ended ${record.status}`);
  if ((record.status === "failed" || record.status === "dropped") && !record.reason)
    problems.push(`${record.status} without a reason`);
  if (view.down && record.status !== "failed")
    problems.push(`to a URL nobody listens on, yet ${record.status}`);
  return problems;
}

/**
 * The attempt log of the current series is exactly attempts 1..n with n = `record.attempts` — no gap, no
 * extra — and its last attempt says how the delivery ended: succeeded for delivered (and only the last may have
 * succeeded), failed for failed; an exhausted delivery made every attempt the schedule allows, and its reason
 * and `lastStatusCode` are those of its last attempt. Nothing in the run starts a new series (manual retry,
 * recover, redrive), so every attempt belongs to series 0.
 */
export function attemptLogProblems(view: PairView): string[] {
  const { record } = view;
  const problems: string[] = [];
  const current = currentSeries(view);
  const numbers = current.map((attempt) => attempt.attempt);
  const expected = Array.from({ length: record.attempts }, (_, index) => index + 1);
  if (numbers.join(",") !== expected.join(","))
    problems.push(
      `record says ${record.attempts} attempts, the log of its series holds [${numbers.join(",")}]`,
    );
  if (seriesOf(record) !== 0 || view.attempts.some((attempt) => seriesOf(attempt) !== 0))
    problems.push(`a series other than 0 exists (record ${seriesOf(record)}), yet nothing started one`);
  const last = current.at(-1);
  if (current.slice(0, -1).some((attempt) => attempt.status === "succeeded"))
    problems.push("an attempt before the last one succeeded");
  if (record.status === "delivered" && (last?.status !== "succeeded" || !is2xx(last.statusCode)))
    problems.push(`delivered, but the last attempt is ${last?.status} (${last?.statusCode})`);
  if (record.status === "failed" && last?.status !== "failed")
    problems.push(`failed, but the last attempt is ${last?.status}`);
  if (record.status === "failed" && record.reason?.startsWith("exhausted:")) {
    const lastReason = last?.statusCode !== undefined ? `http_${last.statusCode}` : last?.errorClass;
    if (record.attempts !== view.maxAttempts)
      problems.push(`exhausted after ${record.attempts} attempts, not ${view.maxAttempts}`);
    if (record.reason !== `exhausted:${lastReason}`)
      problems.push(`reason ${record.reason}, but the last attempt ended ${lastReason}`);
  }
  if (last && record.lastStatusCode !== last.statusCode)
    problems.push(`lastStatusCode ${record.lastStatusCode}, the last attempt's ${last.statusCode}`);
  return problems;
}

/**
 * The DLQ holds a failed delivery's letter, and only a failed delivery's. A delivery has one letter — or
 * repeats of that very letter: a worker killed, or SQS cut, between sending the letter and deleting the
 * message sends it again. So every letter of a delivery carries the record's reason and the record's
 * (series, copy); a letter from any other copy of the delivery would mean a superseded copy acted on it too.
 */
export function letterProblems(view: PairView): string[] {
  const { record, letters } = view;
  if (record.status !== "failed")
    return letters.length > 0 ? [`${record.status}, yet ${letters.length} letter(s) in the DLQ`] : [];
  if (letters.length === 0) return [`failed (${record.reason}) but not in the DLQ`];
  const problems: string[] = [];
  for (const letter of letters) {
    if (letter.reason !== record.reason)
      problems.push(`failed (${record.reason}) but a letter says ${letter.reason}`);
    if (letter.series !== seriesOf(record) || letter.copy !== copyOf(record))
      problems.push(
        `a letter of series ${letter.series} copy ${letter.copy}, the record's is series ${seriesOf(record)} copy ${copyOf(record)}`,
      );
    if (letter.attempts !== undefined && letter.attempts !== record.attempts)
      problems.push(`a letter says ${letter.attempts} attempts, the record ${record.attempts}`);
    if (letter.tenantId !== undefined && letter.tenantId !== record.tenantId)
      problems.push(`a letter of tenant ${letter.tenantId}, the record's is ${record.tenantId}`);
  }
  return problems;
}

/**
 * Where the receivers' log and the attempt log must agree.
 *
 * - Every recorded attempt that got an HTTP answer was seen by a receiver, with that attempt number, and
 *   answered with that status; a delivered one was answered 2xx in time. (Attempts ending in a transport
 *   error may or may not have reached a receiver, so they are not held to this.)
 * - No receiver saw an attempt number beyond the recorded count: every request was recorded (or repeated
 *   and then recorded).
 * - Never a second live chain. A request numbered b is sent only after its sender read a record of b−1
 *   attempts, so a receiver seeing b proves that attempts 1..b−1 were recorded. Within a series the record
 *   only moves forward. So a number may repeat — a worker killed between its POST and its write sends the same
 *   attempt again, and two copies of a message reading the record at the same moment both send it (same
 *   webhook-id: at-least-once) — but a request numbered a < b arriving after b went back to a number
 *   already surpassed by a recorded attempt: its sender acted on a record another chain had moved past. In
 *   arrival order the numbers seen must never decrease: 1,2,2,3 passes; 1,2,1,2 and 1,2,3,2 fail. (Nothing in
 *   the run starts a new series, which would legitimately restart at 1; `attemptLogProblems` holds that.)
 */
export function receiverProblems(view: PairView): string[] {
  const problems: string[] = [];
  for (const attempt of currentSeries(view)) {
    if (attempt.statusCode === undefined) continue;
    const answered = view.seen.some(
      (request) =>
        request.attempt === attempt.attempt &&
        request.answer === attempt.statusCode &&
        (attempt.status !== "succeeded" || !request.late),
    );
    if (!answered)
      problems.push(`attempt ${attempt.attempt} recorded as answered ${attempt.statusCode}, no receiver did`);
  }
  const highest = Math.max(0, ...view.seen.map((request) => request.attempt));
  if (highest > view.record.attempts)
    problems.push(`a receiver saw attempt ${highest}, the record counts ${view.record.attempts}`);
  const back = backwardStep(view.seen);
  if (back) problems.push(`second live chain: receivers saw attempt ${back.after} and then ${back.later}`);
  return problems;
}

/** The first request, in arrival order, numbered below one that arrived before it. */
export function backwardStep(seen: readonly SeenRequest[]): { after: number; later: number } | undefined {
  // Ties in arrival time (ms) are ordered by attempt number: they are not evidence of going back.
  const ordered = [...seen].sort(
    (left, right) => left.arrivedAt - right.arrivedAt || left.attempt - right.attempt,
  );
  let highest = 0;
  for (const request of ordered) {
    if (request.attempt < highest) return { after: highest, later: request.attempt };
    highest = Math.max(highest, request.attempt);
  }
  return undefined;
}

/**
 * Tenants never mix within a pair: every attempt in the log (served under the record's tenant) carries the
 * record's tenant. (Which webhook a request reached is `crossTenantProblems`.)
 */
export function pairTenantProblems(view: Pick<PairView, "record" | "attempts">): string[] {
  const others = new Set(
    view.attempts.flatMap((attempt) => (attempt.tenantId === view.record.tenantId ? [] : [attempt.tenantId])),
  );
  return [...others].map(
    (tenant) => `an attempt of tenant ${tenant} in the log of tenant ${view.record.tenantId}`,
  );
}

/** What the run knows of its tenants: whose each webhook is, and which event ids each tenant published. */
export interface TenantDirectory {
  /** The tenant of a webhook (by id), or undefined for a path no webhook has. */
  webhookTenant(webhookId: string): string | undefined;
  /** Whether this tenant published an event with this id. */
  published(tenantId: string, eventId: string): boolean;
}

/**
 * No request ever reaches a webhook of another tenant than its event's: the webhook whose URL it reached
 * belongs to a tenant that published its event id (`webhook-id`), and the body it carries is that tenant's
 * (its producers name themselves in `data.tenant`, which tells apart events of several tenants under one id).
 * A request to a path no webhook has is one too many as well.
 */
export function crossTenantProblems(seen: SeenRequest, tenants: TenantDirectory): string[] {
  const where = `${seen.receiver} saw ${seen.eventId} (${seen.deliveryId}) at webhook ${seen.webhookId}`;
  const tenant = tenants.webhookTenant(seen.webhookId);
  if (tenant === undefined) return [`${where}, which no tenant has`];
  const problems: string[] = [];
  if (!tenants.published(tenant, seen.eventId))
    problems.push(`${where} of tenant ${tenant}, which never published that event`);
  if (seen.bodyTenant !== undefined && seen.bodyTenant !== tenant)
    problems.push(`${where} of tenant ${tenant}, carrying the body tenant ${seen.bodyTenant} published`);
  return problems;
}

/** Every problem of one pair, each naming the delivery. */
export function pairProblems(view: PairView): string[] {
  return [
    ...outcomeProblems(view),
    ...attemptLogProblems(view),
    ...letterProblems(view),
    ...receiverProblems(view),
    ...pairTenantProblems(view),
  ].map((problem) => `${view.record.id} (${view.record.eventId} → ${view.record.webhookId}): ${problem}`);
}
