/**
 * Publishing: store the event once (idempotent on its id), find the subscribed webhooks with one lookup per
 * matching pattern, and enqueue one delivery message per webhook. Pure orchestration over injected ports.
 */

import type { DataValidator } from "../routing/catalogue.ts";
import { patternsMatching } from "../routing/event-types.ts";
import type { Filter } from "../routing/filter.ts";
import { loadFilterEngine } from "../routing/lazy-modules.ts";
import { ConflictError, PayloadTooLargeError } from "../shared/errors.ts";
import { deliveryIdFor, newEventId } from "../shared/ids.ts";
import {
  type Delivery,
  type DeliveryMessage,
  EVENT_VERSION,
  type EventEnvelope,
  MAX_EVENT_BYTES,
  type PublishRequest,
  requestFingerprint,
  serializeEnvelope,
} from "../shared/model.ts";
import { requireTenant, type TenantStore } from "../tenants/tenants.ts";

/**
 * Bodies up to this size travel inside the message. SQS bills a request per 64 KiB chunk; ten messages of this
 * size keep a SendMessageBatch within one chunk. Larger bodies are read from the event record at delivery.
 */
export const INLINE_BODY_LIMIT_BYTES = 6 * 1024;

/**
 * How long a publisher owns an event's fan-out. A repeat of the publish (or the reconciler) takes an unfinished
 * fan-out over only once the lease ran out: longer than the publish function's timeout, so a live publisher is
 * never raced by a second fan-out (that would put two copies of each delivery in the queue).
 */
export const FANOUT_LEASE_SECONDS = 120;

export interface StoredEvent extends EventEnvelope {
  readonly tenantId: string;
  /** The serialized envelope, delivered byte for byte. */
  readonly body: string;
  readonly fingerprint: string;
  /** Set once every delivery message is enqueued. */
  readonly fanout?: { readonly deliveries: number; readonly completedAt: string } | undefined;
  /** Addressed to these webhooks alone (a test event) instead of the subscribers of its type. */
  readonly recipients?: readonly string[] | undefined;
  readonly createdAt: string;
}

/** What a listing of events shows of each (the body and `data` are in `GET …/events/{id}`). */
export type EventSummary = Pick<
  StoredEvent,
  "id" | "tenantId" | "type" | "timestamp" | "source" | "createdAt"
>;

export interface FanOutLease {
  /** 0 for the first publisher; each takeover adds one and becomes the `copy` of the messages it enqueues. */
  readonly generation: number;
  readonly until: string;
}

export interface EventStore {
  /** Stores the event with a fan-out lease unless its id exists; returns the existing record in that case. */
  createIfAbsent(event: StoredEvent, lease: FanOutLease): Promise<StoredEvent | undefined>;
  /** Takes an unfinished fan-out over once its lease ran out: the new generation, or undefined. */
  acquireFanOut(tenantId: string, eventId: string, now: string, until: string): Promise<number | undefined>;
  markFannedOut(tenantId: string, eventId: string, deliveries: number, at: string): Promise<void>;
  /** Puts an unfinished fan-out where the reconciler looks, due once `until` has passed. */
  markDue(tenantId: string, eventId: string, until: string): Promise<void>;
  /** Gives a failed fan-out's lease up at once, so that the producer's repeat may take over without waiting. */
  releaseFanOut(tenantId: string, eventId: string, generation: number): Promise<void>;
}

export interface Subscription {
  readonly webhookId: string;
  /** The webhook's payload filter, stored with each of its subscriptions. */
  readonly filter?: Filter | undefined;
}

export interface SubscriptionLookup {
  /**
   * The tenant's webhooks subscribed with exactly this pattern (one Query), with their filters, disabled ones
   * included: a delivery to a disabled webhook is kept as `dropped` (`webhook_disabled`) by the deliver function,
   * listed, and started again by `recover` once the webhook is re-enabled — never silently skipped.
   */
  subscriptions(tenantId: string, pattern: string): Promise<Subscription[]>;
}

export interface DeliveryEnqueuer {
  /**
   * Enqueues every message or throws; a throw leaves the publish safe to repeat. An `EnqueueError` says which
   * messages were not sent (the others were).
   */
  enqueue(messages: readonly DeliveryMessage[]): Promise<void>;
}

/** Some messages of an enqueue were not sent: their indexes in the messages given. */
export class EnqueueError extends Error {
  readonly unsent: readonly number[];
  constructor(unsent: readonly number[], cause?: unknown) {
    super(`${unsent.length} message(s) could not be enqueued`, { cause });
    this.name = "EnqueueError";
    this.unsent = unsent;
  }

  get failedCount(): number {
    return this.unsent.length;
  }
}

export interface DeliveryLookup {
  /** The delivery records that exist among these ids (strongly consistent). */
  getDeliveries(deliveryIds: readonly string[]): Promise<Map<string, Delivery>>;
}

export interface PublishDeps {
  readonly tenants: Pick<TenantStore, "get">;
  readonly events: EventStore;
  readonly subscriptions: SubscriptionLookup;
  readonly queue: DeliveryEnqueuer;
  readonly deliveries: DeliveryLookup;
  readonly now: () => Date;
  /** Validates `data` of the types that ask for it (the catalogue); none: nothing is validated. */
  readonly validation?: DataValidator | undefined;
}

export interface PublishResult {
  readonly eventId: string;
  readonly deliveries: number;
  /** True when this id was published before with the same content; nothing new was sent. */
  readonly duplicate: boolean;
}

export function buildStoredEvent(
  tenantId: string,
  request: PublishRequest,
  now: Date,
  defaultSource: string,
): StoredEvent {
  const envelope: EventEnvelope = {
    id: request.id ?? newEventId(),
    type: request.type,
    timestamp: request.timestamp ? new Date(request.timestamp).toISOString() : now.toISOString(),
    version: EVENT_VERSION,
    source: request.source ?? defaultSource,
    data: request.data,
  };
  const body = serializeEnvelope(envelope);
  if (Buffer.byteLength(body) > MAX_EVENT_BYTES) throw new PayloadTooLargeError(MAX_EVENT_BYTES);
  const { id: _id, ...content } = request;
  return {
    ...envelope,
    tenantId,
    body,
    fingerprint: requestFingerprint(content),
    createdAt: now.toISOString(),
  };
}

export function deliveryMessage(event: StoredEvent, webhookId: string, copy = 0): DeliveryMessage {
  return {
    tenantId: event.tenantId,
    deliveryId: deliveryIdFor(event.id, webhookId),
    eventId: event.id,
    webhookId,
    eventType: event.type,
    ...(Buffer.byteLength(event.body) <= INLINE_BODY_LIMIT_BYTES ? { body: event.body } : {}),
    ...(event.recipients ? { direct: true } : {}),
    ...(copy > 0 ? { copy } : {}),
  };
}

/**
 * The webhooks an event goes to: one Query per pattern that could match its type (the tenant's own subscription
 * partitions), then each webhook's filter over the envelope. A webhook subscribed with several matching patterns
 * carries the same filter on each (written in one transaction), so it is judged once.
 */
async function subscribedWebhooks(event: StoredEvent, subscriptions: SubscriptionLookup): Promise<string[]> {
  const perPattern = await Promise.all(
    patternsMatching(event.type).map((pattern) => subscriptions.subscriptions(event.tenantId, pattern)),
  );
  const subscribed = perPattern.flat();
  // The filter engine loads only once a subscriber has a filter.
  const engine = subscribed.some((subscription) => subscription.filter)
    ? await loadFilterEngine()
    : undefined;
  const judged = new Map<string, boolean>();
  for (const subscription of subscribed) {
    if (judged.has(subscription.webhookId)) continue;
    judged.set(subscription.webhookId, engine?.matchFilter(subscription.filter, event).matches ?? true);
  }
  return [...judged].filter(([, matches]) => matches).map(([webhookId]) => webhookId);
}

const recipientsOf = (event: StoredEvent, deps: PublishDeps) =>
  event.recipients ? Promise.resolve([...event.recipients]) : subscribedWebhooks(event, deps.subscriptions);

const leaseUntil = (now: Date) => new Date(now.getTime() + FANOUT_LEASE_SECONDS * 1000).toISOString();

/**
 * Enqueues deliveries of `event` to `webhookIds` as copy `generation`, and records that the fan-out to
 * `recipients` completed.
 */
async function fanOut(
  event: StoredEvent,
  webhookIds: readonly string[],
  recipients: number,
  generation: number,
  deps: PublishDeps,
): Promise<void> {
  try {
    await deps.queue.enqueue(webhookIds.map((webhookId) => deliveryMessage(event, webhookId, generation)));
  } catch (error) {
    await deps.events.releaseFanOut(event.tenantId, event.id, generation).catch(() => undefined);
    throw error;
  }
  await deps.events.markFannedOut(event.tenantId, event.id, recipients, deps.now().toISOString());
}

/** Stores a new event and fans it out; throws (safe to repeat) if the event was already stored. */
export async function publishNew(event: StoredEvent, deps: PublishDeps): Promise<number> {
  const existing = await deps.events.createIfAbsent(event, { generation: 0, until: leaseUntil(deps.now()) });
  if (existing) throw new ConflictError(`event ${event.id} already exists`);
  const webhookIds = await recipientsOf(event, deps);
  await fanOut(event, webhookIds, webhookIds.length, 0, deps);
  return webhookIds.length;
}

/**
 * Finishes a fan-out that a crash interrupted, once its lease ran out: only for deliveries that no message has
 * reached yet (no record), as the next copy, so that any message the crashed publisher did enqueue and this one
 * can never both run a chain of attempts. Returns the number of recipients, or undefined if another publisher
 * holds the lease (or finished meanwhile).
 */
export async function resumeFanOut(event: StoredEvent, deps: PublishDeps): Promise<number | undefined> {
  const now = deps.now();
  const generation = await deps.events.acquireFanOut(
    event.tenantId,
    event.id,
    now.toISOString(),
    leaseUntil(now),
  );
  if (generation === undefined) return undefined;
  const webhookIds = await recipientsOf(event, deps);
  const started = await deps.deliveries.getDeliveries(
    webhookIds.map((webhookId) => deliveryIdFor(event.id, webhookId)),
  );
  const missing = webhookIds.filter((webhookId) => !started.has(deliveryIdFor(event.id, webhookId)));
  await fanOut(event, missing, webhookIds.length, generation, deps);
  return webhookIds.length;
}

/** One event of a batch: its tenant, the request, and the source to record when the request names none. */
export interface PublishItem {
  readonly tenantId: string;
  readonly request: PublishRequest;
  readonly defaultSource?: string | undefined;
}

/** Each event's own outcome: a batch never fails as a whole for one event's sake. */
export type PublishOutcome =
  | { readonly ok: true; readonly result: PublishResult }
  | { readonly ok: false; readonly error: unknown };

/** Publishes to one tenant's webhooks; the tenant must exist (404 otherwise). Idempotent on the id, per tenant. */
export async function publish(
  tenantId: string,
  request: PublishRequest,
  deps: PublishDeps,
  defaultSource = "api",
): Promise<PublishResult> {
  const [outcome] = await publishBatch([{ tenantId, request, defaultSource }], deps);
  if (!outcome?.ok) throw outcome?.error;
  return outcome.result;
}

/** `load` for each distinct key once (its promise shared by every caller with that key). */
function oncePerKey<A extends unknown[], T>(key: (...args: A) => string, load: (...args: A) => Promise<T>) {
  const loaded = new Map<string, Promise<T>>();
  return (...args: A): Promise<T> => {
    const at = key(...args);
    let value = loaded.get(at);
    if (!value) {
      value = load(...args);
      loaded.set(at, value);
    }
    return value;
  };
}

/** Answers each (tenant, pattern) lookup once for a whole batch: one Query however many events share it. */
const sharedLookups = (lookup: SubscriptionLookup): SubscriptionLookup => ({
  subscriptions: oncePerKey(
    (tenantId: string, pattern: string) => `${tenantId}\u0000${pattern}`,
    (tenantId: string, pattern: string) => lookup.subscriptions(tenantId, pattern),
  ),
});

const settle = async <T>(work: () => Promise<T>): Promise<{ value: T } | { error: unknown }> => {
  try {
    return { value: await work() };
  } catch (error) {
    return { error };
  }
};

/**
 * Publishes a batch of events (from one or several tenants) as each would be published alone — idempotent on
 * each id, per tenant — with what they share done once: each tenant read once, each (tenant, pattern) looked up
 * once, and every delivery message of the batch sent in full SendMessageBatch requests across events. An id
 * repeated within the batch is published once; its repeats answer as repeats of a publish would.
 */
export async function publishBatch(
  items: readonly PublishItem[],
  deps: PublishDeps,
): Promise<PublishOutcome[]> {
  const now = deps.now();
  const batchDeps: PublishDeps = { ...deps, subscriptions: sharedLookups(deps.subscriptions) };
  const tenantExists = oncePerKey(
    (tenantId: string) => tenantId,
    (tenantId: string) => requireTenant(deps.tenants, tenantId),
  );
  const prepared = await Promise.all(
    items.map((item) =>
      settle(async () => {
        await tenantExists(item.tenantId);
        await deps.validation?.check(item.request.type, item.request.data);
        return buildStoredEvent(item.tenantId, item.request, now, item.defaultSource ?? "api");
      }),
    ),
  );
  const outcomes: (PublishOutcome | undefined)[] = prepared.map((entry) =>
    "error" in entry ? { ok: false, error: entry.error } : undefined,
  );
  // The first occurrence of each (tenant, id) is published; later ones answer from it.
  const firsts = new Map<string, number>();
  const repeats: { index: number; first: number }[] = [];
  prepared.forEach((entry, index) => {
    if ("error" in entry) return;
    const key = `${entry.value.tenantId}\u0000${entry.value.id}`;
    const first = firsts.get(key);
    if (first === undefined) firsts.set(key, index);
    else repeats.push({ index, first });
  });
  const candidates = [...firsts.values()].map((index) => {
    const entry = prepared[index];
    if (!entry || "error" in entry) throw new Error("unreachable: a first occurrence is prepared");
    return { index, event: entry.value };
  });

  const created = await Promise.all(
    candidates.map(({ event }) =>
      settle(() => deps.events.createIfAbsent(event, { generation: 0, until: leaseUntil(now) })),
    ),
  );
  const fresh: { index: number; event: StoredEvent }[] = [];
  const existing: { index: number; candidate: StoredEvent; stored: StoredEvent }[] = [];
  candidates.forEach(({ index, event }, position) => {
    const result = created[position];
    if (!result || "error" in result) outcomes[index] = { ok: false, error: result?.error };
    else if (result.value) existing.push({ index, candidate: event, stored: result.value });
    else fresh.push({ index, event });
  });

  await Promise.all([
    fanOutFresh(fresh, batchDeps, outcomes),
    ...existing.map(async ({ index, candidate, stored }) => {
      outcomes[index] = await settle(() => republish(candidate, stored, now, batchDeps)).then(toOutcome);
    }),
  ]);
  // A repeat answers against what is stored now, as a publish of that id right after this batch would.
  const stored = new Map<number, StoredEvent>();
  for (const { index, stored: record } of existing) stored.set(index, record);
  for (const { index, event } of fresh) {
    const outcome = outcomes[index];
    if (outcome?.ok)
      stored.set(index, {
        ...event,
        fanout: { deliveries: outcome.result.deliveries, completedAt: now.toISOString() },
      });
  }
  await Promise.all(
    repeats.map(async ({ index, first }) => {
      const record = stored.get(first);
      const entry = prepared[index];
      if (!entry || "error" in entry) return;
      outcomes[index] = record
        ? toOutcome(await settle(() => republish(entry.value, record, now, batchDeps)))
        : outcomes[first];
    }),
  );
  return outcomes.map((outcome) => outcome ?? { ok: false, error: new Error("event not processed") });
}

const toOutcome = (settled: { value: PublishResult } | { error: unknown }): PublishOutcome =>
  "error" in settled ? { ok: false, error: settled.error } : { ok: true, result: settled.value };

/**
 * Fans the batch's new events out together: their messages go in one enqueue (full batches of ten across
 * events). An event whose messages were not all sent gives its lease up and fails (safe to repeat: a repeat takes
 * the unfinished fan-out over); the others complete. An enqueue that fails without saying which messages it sent
 * fails every event that had messages.
 */
async function fanOutFresh(
  fresh: readonly { index: number; event: StoredEvent }[],
  deps: PublishDeps,
  outcomes: (PublishOutcome | undefined)[],
): Promise<void> {
  const routed = await Promise.all(
    fresh.map(async (entry) => ({
      ...entry,
      recipients: await settle(() => recipientsOf(entry.event, deps)),
    })),
  );
  const ready: { index: number; event: StoredEvent; webhookIds: string[] }[] = [];
  for (const { index, event, recipients } of routed) {
    if ("error" in recipients) {
      await deps.events.releaseFanOut(event.tenantId, event.id, 0).catch(() => undefined);
      outcomes[index] = { ok: false, error: recipients.error };
    } else ready.push({ index, event, webhookIds: recipients.value });
  }
  const owners = ready.flatMap(({ webhookIds }, position) => webhookIds.map(() => position));
  const messages = ready.flatMap(({ event, webhookIds }) =>
    webhookIds.map((webhookId) => deliveryMessage(event, webhookId)),
  );
  const sent =
    messages.length === 0 ? { value: undefined } : await settle(() => deps.queue.enqueue(messages));
  const unsent = !("error" in sent)
    ? new Set<number>()
    : sent.error instanceof EnqueueError
      ? new Set(sent.error.unsent.map((message) => owners[message]))
      : new Set(ready.flatMap(({ webhookIds }, position) => (webhookIds.length > 0 ? [position] : [])));
  await Promise.all(
    ready.map(async ({ index, event, webhookIds }, position) => {
      if ("error" in sent && unsent.has(position)) {
        await deps.events.releaseFanOut(event.tenantId, event.id, 0).catch(() => undefined);
        outcomes[index] = { ok: false, error: sent.error };
        return;
      }
      outcomes[index] = toOutcome(
        await settle(async () => {
          await deps.events.markFannedOut(
            event.tenantId,
            event.id,
            webhookIds.length,
            deps.now().toISOString(),
          );
          return { eventId: event.id, deliveries: webhookIds.length, duplicate: false };
        }),
      );
    }),
  );
}

/** A publish of an id that is already stored: the same content is a repeat, other content a conflict. */
async function republish(
  candidate: StoredEvent,
  existing: StoredEvent,
  now: Date,
  deps: PublishDeps,
): Promise<PublishResult> {
  if (existing.fingerprint !== candidate.fingerprint) {
    throw new ConflictError(`event ${candidate.id} was already published with a different payload`);
  }
  if (existing.fanout)
    return { eventId: existing.id, deliveries: existing.fanout.deliveries, duplicate: true };
  // A repeat while the fan-out is unfinished: another publisher is at it (its lease holds), or it crashed and
  // this repeat takes over once the lease ran out. Either way one fan-out, and the event is stored.
  const resumed = await resumeFanOut(existing, deps);
  if (resumed !== undefined) return { eventId: existing.id, deliveries: resumed, duplicate: true };
  // Answered "accepted" while another publisher works: if that one dies, the reconciler must finish the job.
  await deps.events.markDue(existing.tenantId, existing.id, leaseUntil(now));
  return { eventId: existing.id, deliveries: (await recipientsOf(existing, deps)).length, duplicate: true };
}
