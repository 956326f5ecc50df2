/** Key layout of the single table (see `functions/core/shared/resource-definitions.ts`). */
import { createHash } from "node:crypto";
import type { CursorShape } from "#core/http/cursor.ts";
import { ID_SOURCES } from "#core/shared/ids.ts";

/** Partitions of the sparse "due" index: spread so that no single index partition takes every write. */
export const DUE_SHARDS = 16;
const dueShard = (id: string) => createHash("sha256").update(id).digest().readUInt16BE(0) % DUE_SHARDS;

const pad = (n: number) => String(n).padStart(6, "0");

export const keys = {
  tenant: (id: string) => ({ pk: `TENANT#${id}`, sk: "META" }),
  /** A sealed signing secret: the owner's head (which versions exist) and one item per secret version. */
  sealedSecretHead: (owner: string) => ({ pk: `SECRET#${owner}`, sk: "HEAD" }),
  sealedSecret: (owner: string, versionId: string) => ({ pk: `SECRET#${owner}`, sk: `V#${versionId}` }),
  tenantListing: (id: string) => ({ gsi1pk: "TENANTS", gsi1sk: `TENANT#${id}` }),
  /** In the tenant's own partition: a tenant's webhooks are one Query, newest first (ids are ULIDs). */
  webhook: (tenantId: string, id: string) => ({ pk: `TENANT#${tenantId}`, sk: `WEBHOOK#${id}` }),
  /** A webhook's health record, beside the webhook in its tenant's partition (never in the webhook listing). */
  health: (tenantId: string, webhookId: string) => ({ pk: `TENANT#${tenantId}`, sk: `HEALTH#${webhookId}` }),
  subscription: (tenantId: string, pattern: string, webhookId: string) => ({
    pk: keys.subscriptionPartition(tenantId, pattern),
    sk: `WEBHOOK#${webhookId}`,
  }),
  subscriptionPartition: (tenantId: string, pattern: string) => `SUB#${tenantId}#${pattern}`,
  /** The global event-type catalogue: one partition, by name (small: at most CATALOGUE_LIMITS.maxTypes). */
  eventType: (name: string) => ({ pk: "EVENT_TYPES", sk: `TYPE#${name}` }),
  /** How many types the catalogue holds, kept exact by the create transaction. */
  eventTypeCount: () => ({ pk: "EVENT_TYPES", sk: "COUNT" }),
  event: (tenantId: string, id: string) => ({ pk: `TENANT#${tenantId}#EVENT#${id}`, sk: "META" }),
  /** A tenant's events newest first (gsi4, which copies only the envelope's small fields). */
  eventListing: (tenantId: string, createdAt: string, id: string) => ({
    gsi4pk: `TENANT#${tenantId}#EVENTS`,
    gsi4sk: `${createdAt}#${id}`,
  }),
  delivery: (id: string) => ({ pk: `DELIVERY#${id}`, sk: "META" }),
  deliveryByEvent: (tenantId: string, eventId: string, deliveryId: string) => ({
    gsi1pk: `TENANT#${tenantId}#EVENT#${eventId}`,
    gsi1sk: `DELIVERY#${deliveryId}`,
  }),
  deliveryByWebhook: (webhookId: string, updatedAt: string, deliveryId: string) => ({
    gsi2pk: `WEBHOOK#${webhookId}#DELIVERIES`,
    gsi2sk: `${updatedAt}#${deliveryId}`,
  }),
  attempt: (deliveryId: string, attempt: number, series = 0) => ({
    pk: `DELIVERY#${deliveryId}`,
    sk: `ATTEMPT#${pad(series)}#${pad(attempt)}`,
  }),
  /**
   * Sparse index of work that is due by `dueAt`: live deliveries (pending, retrying) and events whose unfinished
   * fan-out a repeat was told is under way. Settled items carry no such attributes, so they cost the index nothing.
   */
  due: (id: string, dueAt: string) => ({ gsi3pk: `DUE#${pad(dueShard(id))}`, gsi3sk: dueAt }),
  duePartition: (shard: number) => `DUE#${pad(shard)}`,
  attemptByWebhook: (webhookId: string, timestamp: string, deliveryId: string, attempt: number) => ({
    gsi1pk: `WEBHOOK#${webhookId}#ATTEMPTS`,
    gsi1sk: `${timestamp}#${deliveryId}#${pad(attempt)}`,
  }),
};

/** `Date#toISOString`, as every stored timestamp is written. */
const ISO_TIME = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
const NUMBER = String.raw`\d{6,15}`;
const exactly = (source: string) => new RegExp(`^${source}$`);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * What a position (DynamoDB's LastEvaluatedKey, which the API hands out as a cursor) of each paginated Query
 * looks like: the table key plus the queried index's key, each as that listing's items write it (see `keys`).
 * A cursor of any other shape is refused before it reaches DynamoDB, which would fail the Query.
 */
const TENANT_ID = "[A-Za-z0-9_.-]{1,64}";
const EVENT_ID = "[A-Za-z0-9_.:-]{1,128}";

export const cursorShapes = {
  /** All tenants, by id (gsi1). */
  tenantListing: (): CursorShape => ({
    pk: exactly(`TENANT#(?<tenant>${TENANT_ID})`),
    sk: "META",
    gsi1pk: keys.tenantListing("").gsi1pk,
    gsi1sk: exactly(`TENANT#(?<tenant>${TENANT_ID})`),
  }),
  /** A tenant's webhooks, newest first (the tenant's partition). */
  webhookListing: (tenantId: string): CursorShape => ({
    pk: keys.webhook(tenantId, "").pk,
    sk: exactly(`WEBHOOK#${ID_SOURCES.webhook}`),
  }),
  /** A tenant's events, newest first (gsi4). */
  eventListing: (tenantId: string): CursorShape => ({
    pk: exactly(`TENANT#${escapeRegExp(tenantId)}#EVENT#(?<event>${EVENT_ID})`),
    sk: "META",
    gsi4pk: keys.eventListing(tenantId, "", "").gsi4pk,
    gsi4sk: exactly(`${ISO_TIME}#(?<event>${EVENT_ID})`),
  }),
  /** The event-type catalogue, by name. */
  eventTypeListing: (): CursorShape => ({
    pk: keys.eventType("").pk,
    sk: exactly(`TYPE#[A-Za-z0-9_.-]{1,256}`),
  }),
  /** One webhook's attempts, newest first (gsi1). */
  attemptsOfWebhook: (webhookId: string): CursorShape => ({
    pk: exactly(`DELIVERY#(?<delivery>${ID_SOURCES.delivery})`),
    sk: exactly(`ATTEMPT#${NUMBER}#(?<attempt>${NUMBER})`),
    gsi1pk: keys.attemptByWebhook(webhookId, "", "", 0).gsi1pk,
    gsi1sk: exactly(`${ISO_TIME}#(?<delivery>${ID_SOURCES.delivery})#(?<attempt>${NUMBER})`),
  }),
  /** One webhook's deliveries, most recently updated first (gsi2). */
  deliveriesOfWebhook: (webhookId: string): CursorShape => ({
    pk: exactly(`DELIVERY#(?<delivery>${ID_SOURCES.delivery})`),
    sk: "META",
    gsi2pk: keys.deliveryByWebhook(webhookId, "", "").gsi2pk,
    gsi2sk: exactly(`${ISO_TIME}#(?<delivery>${ID_SOURCES.delivery})`),
  }),
  /** One delivery's attempts, newest first (the table itself). */
  attemptsOfDelivery: (deliveryId: string): CursorShape => ({
    pk: keys.delivery(deliveryId).pk,
    sk: exactly(`ATTEMPT#${NUMBER}#${NUMBER}`),
  }),
};

const KEY_ATTRIBUTES = [
  "pk",
  "sk",
  "gsi1pk",
  "gsi1sk",
  "gsi2pk",
  "gsi2sk",
  "gsi3pk",
  "gsi3sk",
  "gsi4pk",
  "gsi4sk",
  "expiresAt",
] as const;

/** The record stored in an item, without the key and TTL attributes. */
export function withoutKeys<T>(item: Record<string, unknown>): T {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of KEY_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}

export const expiresAt = (from: Date, days: number) => Math.floor(from.getTime() / 1000) + days * 86_400;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, for retrying unprocessed batch entries. */
export const backoffMs = (attempt: number) => Math.random() * Math.min(2000, 50 * 2 ** attempt);
