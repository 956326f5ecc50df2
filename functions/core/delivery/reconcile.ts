/**
 * The reconciler: finds work whose state says it is due while nothing will come for it, and enqueues it again.
 *
 *   - a live delivery (pending or retrying) whose next attempt is more than the grace past due: its message was
 *     lost (a local-mode restart, a queue's retention passed, a crash between a reset and its enqueue);
 *   - an event whose fan-out lease ran out before the fan-out completed, after a repeat of its publish was
 *     answered "accepted" (so no caller will retry it): its publisher crashed midway.
 *
 * Both are read from the sparse "due" index (keys only), then re-read strongly consistent from the table. A
 * delivery is re-enqueued as the next copy of its series (`delivery-copies.ts`), so if its old message does turn
 * up after all, that one is discarded and the chain of attempts stays single; the fan-out is resumed like a
 * repeated publish. Running it twice, or alongside the deliver function, is harmless.
 */

import {
  type DeliveryEnqueuer,
  type PublishDeps,
  resumeFanOut,
  type StoredEvent,
} from "../publishing/publish.ts";
import type { Delivery, DeliveryMessage } from "../shared/model.ts";

export interface DueIndex {
  /** Keys (`pk`) of the items due before `before` in one shard of the index. */
  dueBefore(shard: number, before: string, limit: number): Promise<{ pk: string }[]>;
}

export interface ReconcileDeps {
  readonly due: DueIndex;
  readonly shards: number;
  readonly deliveries: {
    getDeliveries(ids: readonly string[]): Promise<Map<string, Delivery>>;
    replaceIfUnchanged(expected: Delivery, next: Delivery): Promise<boolean>;
  };
  readonly events: { get(tenantId: string, eventId: string): Promise<StoredEvent | undefined> };
  readonly queue: DeliveryEnqueuer;
  readonly publish: PublishDeps;
  readonly now: () => Date;
  readonly graceSeconds: number;
  /** Items looked at per shard and run; the rest wait for the next run. */
  readonly limitPerShard?: number;
}

export interface ReconcileResult {
  readonly deliveriesReenqueued: number;
  readonly fanOutsResumed: number;
}

const DELIVERY_PREFIX = "DELIVERY#";
/** An event's key: `TENANT#<tenant>#EVENT#<id>` (neither part contains `#`). */
const EVENT_KEY = /^TENANT#([^#]+)#EVENT#([^#]+)$/;

/** The message that continues `delivery` as its next copy; the body is read from the event at delivery. */
function continuation(delivery: Delivery): DeliveryMessage {
  return {
    tenantId: delivery.tenantId,
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    webhookId: delivery.webhookId,
    eventType: delivery.eventType,
    // A later series was started by hand (retry, recover, redrive) and is addressed to this webhook alone.
    ...((delivery.series ?? 0) > 0 ? { direct: true } : {}),
    series: delivery.series ?? 0,
    copy: (delivery.copy ?? 0) + 1,
  };
}

async function reenqueueStranded(
  ids: readonly string[],
  cutoff: string,
  deps: ReconcileDeps,
): Promise<number> {
  if (ids.length === 0) return 0;
  const records = await deps.deliveries.getDeliveries(ids);
  const stranded = [...records.values()].filter(
    (delivery) =>
      (delivery.status === "pending" || delivery.status === "retrying") &&
      (delivery.nextAttemptAt ?? delivery.updatedAt) < cutoff,
  );
  if (stranded.length === 0) return 0;
  const now = deps.now().toISOString();
  const messages = stranded.map(continuation);
  await deps.queue.enqueue(messages);
  // Recorded after the enqueue: the message outranks the record either way (a higher copy of a live chain).
  await Promise.all(
    stranded.map((delivery, index) =>
      deps.deliveries
        .replaceIfUnchanged(delivery, {
          ...delivery,
          copy: messages[index]?.copy,
          nextAttemptAt: now,
          updatedAt: now,
        })
        .catch(() => false),
    ),
  );
  return stranded.length;
}

async function resumeFanOuts(events: readonly { tenantId: string; eventId: string }[], deps: ReconcileDeps) {
  let resumed = 0;
  for (const { tenantId, eventId } of events) {
    const event = await deps.events.get(tenantId, eventId);
    if (!event || event.fanout) continue;
    if ((await resumeFanOut(event, deps.publish)) !== undefined) resumed += 1;
  }
  return resumed;
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const cutoff = new Date(deps.now().getTime() - deps.graceSeconds * 1000).toISOString();
  const limit = deps.limitPerShard ?? 500;
  const found = (
    await Promise.all(
      Array.from({ length: deps.shards }, (_, shard) => deps.due.dueBefore(shard, cutoff, limit)),
    )
  ).flat();
  const deliveryIds = found.flatMap(({ pk }) =>
    pk.startsWith(DELIVERY_PREFIX) ? [pk.slice(DELIVERY_PREFIX.length)] : [],
  );
  const events = found.flatMap(({ pk }) => {
    const match = EVENT_KEY.exec(pk);
    return match?.[1] && match[2] ? [{ tenantId: match[1], eventId: match[2] }] : [];
  });
  const [deliveriesReenqueued, fanOutsResumed] = await Promise.all([
    reenqueueStranded(deliveryIds, cutoff, deps),
    resumeFanOuts(events, deps),
  ]);
  return { deliveriesReenqueued, fanOutsResumed };
}
