/**
 * Publishing: store the event once (idempotent on its id), find the subscribed webhooks with one lookup per
 * matching pattern, and enqueue one delivery message per webhook. Pure orchestration over injected ports.
 */

import { ConflictError, PayloadTooLargeError } from "./errors.ts";
import { patternsMatching } from "./event-types.ts";
import { deliveryIdFor, newEventId } from "./ids.ts";
import {
  type DeliveryMessage,
  EVENT_VERSION,
  type EventEnvelope,
  MAX_EVENT_BYTES,
  type PublishRequest,
  requestFingerprint,
  serializeEnvelope,
} from "./model.ts";

/**
 * Bodies up to this size travel inside the message. SQS bills a request per 64 KiB chunk; ten messages of this
 * size keep a SendMessageBatch within one chunk. Larger bodies are read from the event record at delivery.
 */
export const INLINE_BODY_LIMIT_BYTES = 6 * 1024;

export interface StoredEvent extends EventEnvelope {
  /** The serialized envelope, delivered byte for byte. */
  readonly body: string;
  readonly fingerprint: string;
  /** Set once every delivery message is enqueued. */
  readonly fanout?: { readonly deliveries: number; readonly completedAt: string } | undefined;
  readonly createdAt: string;
}

export interface EventStore {
  /** Stores the event unless its id exists; returns the existing record in that case. */
  createIfAbsent(event: StoredEvent): Promise<StoredEvent | undefined>;
  markFannedOut(eventId: string, deliveries: number, at: string): Promise<void>;
}

export interface SubscriptionLookup {
  /** Ids of the active webhooks subscribed with exactly this pattern. */
  activeWebhookIds(pattern: string): Promise<string[]>;
}

export interface DeliveryEnqueuer {
  /** Enqueues every message or throws; a throw leaves the publish safe to repeat. */
  enqueue(messages: readonly DeliveryMessage[]): Promise<void>;
}

export interface PublishDeps {
  readonly events: EventStore;
  readonly subscriptions: SubscriptionLookup;
  readonly queue: DeliveryEnqueuer;
  readonly now: () => Date;
}

export interface PublishResult {
  readonly eventId: string;
  readonly deliveries: number;
  /** True when this id was published before with the same content; nothing new was sent. */
  readonly duplicate: boolean;
}

export function buildStoredEvent(request: PublishRequest, now: Date, defaultSource: string): StoredEvent {
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
  return { ...envelope, body, fingerprint: requestFingerprint(content), createdAt: now.toISOString() };
}

export function deliveryMessage(event: StoredEvent, webhookId: string): DeliveryMessage {
  return {
    deliveryId: deliveryIdFor(event.id, webhookId),
    eventId: event.id,
    webhookId,
    eventType: event.type,
    ...(Buffer.byteLength(event.body) <= INLINE_BODY_LIMIT_BYTES ? { body: event.body } : {}),
  };
}

async function subscribedWebhooks(type: string, subscriptions: SubscriptionLookup): Promise<string[]> {
  const perPattern = await Promise.all(
    patternsMatching(type).map((pattern) => subscriptions.activeWebhookIds(pattern)),
  );
  return [...new Set(perPattern.flat())];
}

/** Enqueues deliveries of `event` to `webhookIds` and records that the fan-out completed. */
export async function fanOut(
  event: StoredEvent,
  webhookIds: readonly string[],
  deps: PublishDeps,
): Promise<number> {
  await deps.queue.enqueue(webhookIds.map((webhookId) => deliveryMessage(event, webhookId)));
  await deps.events.markFannedOut(event.id, webhookIds.length, deps.now().toISOString());
  return webhookIds.length;
}

export async function publish(
  request: PublishRequest,
  deps: PublishDeps,
  defaultSource = "api",
): Promise<PublishResult> {
  const candidate = buildStoredEvent(request, deps.now(), defaultSource);
  const existing = await deps.events.createIfAbsent(candidate);
  if (existing && existing.fingerprint !== candidate.fingerprint) {
    throw new ConflictError(`event ${candidate.id} was already published with a different payload`);
  }
  if (existing?.fanout)
    return { eventId: existing.id, deliveries: existing.fanout.deliveries, duplicate: true };
  // A new event, or a repeat of one whose fan-out was interrupted: (re)enqueue. Delivery ids are derived from
  // (event, webhook), so a repeated message addresses the same delivery and carries the same webhook-id.
  const event = existing ?? candidate;
  const deliveries = await fanOut(event, await subscribedWebhooks(event.type, deps.subscriptions), deps);
  return { eventId: event.id, deliveries, duplicate: existing !== undefined };
}
