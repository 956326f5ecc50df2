/**
 * Starting deliveries again: a manual retry of one, recovering a webhook's failures in a time window, settling
 * the DLQ's letters on a redrive, and the reconciler's re-enqueue of stranded work.
 *
 * Each enqueues first and records second. The message carries a new series (or copy) above the record's, so it
 * is attempted whether or not the record write lands (see `delivery-copies.ts`): a failure between the two
 * steps can neither strand a delivery nor run two chains of attempts for it.
 */

import { type DeliveryEnqueuer, deliveryMessage, type StoredEvent } from "../publishing/publish.ts";
import { ConflictError, NotFoundError } from "../shared/errors.ts";
import type { Delivery, DeliveryMessage } from "../shared/model.ts";
import type { Tenant } from "../tenants/tenants.ts";
import { copyStanding, isLive, newCopyNumber } from "./delivery-copies.ts";

export interface RecoveryDeliveryStore {
  getDelivery(id: string): Promise<Delivery | undefined>;
  getDeliveries(ids: readonly string[]): Promise<Map<string, Delivery>>;
  /** Writes `next` only if the record is still `expected`; false when it moved on meanwhile. */
  replaceIfUnchanged(expected: Delivery, next: Delivery): Promise<boolean>;
  /**
   * Writes the restarted records, each only if its record is still the one read (`expectedUpdatedAt`): a delivery
   * the new message already reached keeps what that attempt recorded. Returns the ids not written.
   */
  saveAll(restarts: readonly Restart[]): Promise<Set<string>>;
  /** A webhook's deliveries that ended failed and were last updated within [since, until), up to `limit`. */
  failedDeliveriesOfWebhook(
    webhookId: string,
    since: string,
    until: string,
    limit: number,
  ): Promise<Delivery[]>;
}

/** A new series' record, and the `updatedAt` of the record it replaces. */
export interface Restart {
  readonly delivery: Delivery;
  readonly expectedUpdatedAt: string;
}

export interface RecoveryEventStore {
  get(tenantId: string, eventId: string): Promise<StoredEvent | undefined>;
  getMany(tenantId: string, eventIds: readonly string[]): Promise<Map<string, StoredEvent>>;
}

export interface RecoveryDeps {
  readonly deliveries: RecoveryDeliveryStore;
  readonly events: RecoveryEventStore;
  readonly queue: DeliveryEnqueuer;
  readonly now: () => Date;
  readonly random?: () => number;
}

/** The record of a new series of attempts (manual retry, recover, redrive): same delivery, same webhook-id. */
export function newSeries(delivery: Delivery, now: Date, copy: number): Delivery {
  return {
    ...delivery,
    status: "pending",
    attempts: 0,
    series: (delivery.series ?? 0) + 1,
    copy,
    nextAttemptAt: now.toISOString(),
    reason: undefined,
    updatedAt: now.toISOString(),
  };
}

/** The message that carries `delivery`'s current series and copy. */
export function messageFor(event: StoredEvent, delivery: Delivery): DeliveryMessage {
  return {
    ...deliveryMessage(event, delivery.webhookId),
    direct: true,
    series: delivery.series ?? 0,
    copy: delivery.copy ?? 0,
  };
}

/** Re-enqueues one settled delivery now: a new series of attempts, same event and therefore the same webhook-id. */
/**
 * One of this tenant's deliveries; another tenant's id is not found, exactly like an id that does not exist, and
 * so is a delivery older than the tenant (left by an earlier tenant of the same id, deleted since).
 */
export async function requireDelivery(
  deliveries: Pick<RecoveryDeliveryStore, "getDelivery">,
  tenant: Pick<Tenant, "id" | "createdAt">,
  deliveryId: string,
): Promise<Delivery> {
  const delivery = await deliveries.getDelivery(deliveryId);
  if (delivery?.tenantId !== tenant.id || delivery.createdAt < tenant.createdAt)
    throw new NotFoundError(`delivery ${deliveryId}`);
  return delivery;
}

export async function retryDelivery(
  tenant: Pick<Tenant, "id" | "createdAt">,
  deliveryId: string,
  deps: RecoveryDeps,
): Promise<Delivery> {
  const tenantId = tenant.id;
  const delivery = await requireDelivery(deps.deliveries, tenant, deliveryId);
  if (isLive(delivery)) {
    throw new ConflictError(
      `delivery ${deliveryId} is still ${delivery.status}; it will be attempted again by itself`,
    );
  }
  const event = await deps.events.get(tenantId, delivery.eventId);
  if (!event)
    throw new ConflictError(`event ${delivery.eventId} has expired; the delivery cannot be retried`);
  const next = newSeries(delivery, deps.now(), newCopyNumber(deps.random));
  await deps.queue.enqueue([messageFor(event, next)]);
  // The message outranks the old record, so it is attempted even if this write fails or loses a race.
  const recorded = await deps.deliveries.replaceIfUnchanged(delivery, next).catch(() => true);
  if (recorded) return next;
  // The record moved on: the new series' message may already have been attempted (and recorded) — then the retry
  // is under way; anything else means another change won the race.
  const now = await deps.deliveries.getDelivery(deliveryId);
  if (now && (now.series ?? 0) === next.series && (now.copy ?? 0) === next.copy) return now;
  throw new ConflictError(`delivery ${deliveryId} changed meanwhile; read it again`);
}

export const RECOVER_LIMIT = 1000;

/**
 * Re-enqueues a webhook's failed deliveries of a time window as new series, in batches: one Query page per 100,
 * one BatchGetItem per 100 events, SendMessageBatch by tens in parallel, a transaction per 50 records. A thousand
 * deliveries take a few seconds, well inside API Gateway's 29 s.
 */
export async function recoverFailures(
  tenantId: string,
  webhookId: string,
  window: { since: string; until: string },
  deps: RecoveryDeps,
): Promise<{ recovered: number; truncated: boolean }> {
  if (window.since >= window.until) return { recovered: 0, truncated: false };
  const failed = await deps.deliveries.failedDeliveriesOfWebhook(
    webhookId,
    window.since,
    window.until,
    RECOVER_LIMIT + 1,
  );
  const chosen = failed.slice(0, RECOVER_LIMIT);
  const events = await deps.events.getMany(tenantId, [
    ...new Set(chosen.map((delivery) => delivery.eventId)),
  ]);
  const now = deps.now();
  const copy = newCopyNumber(deps.random);
  const restarted = chosen.flatMap((delivery) => {
    const event = events.get(delivery.eventId);
    return event ? [{ event, previous: delivery, next: newSeries(delivery, now, copy) }] : [];
  });
  await deps.queue.enqueue(restarted.map(({ event, next }) => messageFor(event, next)));
  await deps.deliveries
    .saveAll(
      restarted.map(({ next, previous }) => ({ delivery: next, expectedUpdatedAt: previous.updatedAt })),
    )
    .catch(() => undefined);
  return { recovered: restarted.length, truncated: failed.length > RECOVER_LIMIT };
}

export type LetterSettlement =
  | { readonly action: "discard"; readonly why: string }
  | { readonly action: "move"; readonly message: DeliveryMessage; readonly next?: Restart | undefined };

/**
 * What a redrive does with each DLQ letter, decided against the delivery's current record: a delivery since
 * delivered (say by a manual retry), dropped, or carried on by a newer series or copy is discarded and never
 * sent again; anything else moves back as a new series.
 */
export async function settleLetters(
  letters: readonly DeliveryMessage[],
  deps: Pick<RecoveryDeps, "deliveries" | "now" | "random">,
): Promise<LetterSettlement[]> {
  const records = await deps.deliveries.getDeliveries([
    ...new Set(letters.map((letter) => letter.deliveryId)),
  ]);
  const now = deps.now();
  const moving = new Set<string>();
  return letters.map((letter): LetterSettlement => {
    if (moving.has(letter.deliveryId)) return { action: "discard", why: "a copy of this letter is moving" };
    const record = records.get(letter.deliveryId);
    if (record?.status === "delivered" || record?.status === "dropped")
      return { action: "discard", why: `already ${record.status}` };
    if (record && copyStanding(letter, record) === "superseded")
      return { action: "discard", why: "another copy carries this delivery" };
    moving.add(letter.deliveryId);
    if (!record) return { action: "move", message: letter };
    const next = newSeries(record, now, newCopyNumber(deps.random));
    return {
      action: "move",
      message: { ...letter, series: next.series, copy: next.copy },
      next: { delivery: next, expectedUpdatedAt: record.updatedAt },
    };
  });
}
