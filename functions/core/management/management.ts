/**
 * The management use cases behind the API, over injected ports: webhooks (create, update, delete, rotate,
 * test). Recovery of deliveries (retry, recover, redrive) is in `recovery.ts`.
 */

import type { WebhookResource } from "../contract/api-contract.ts";
import type { EndpointHealth } from "../health/endpoint-health.ts";
import { type OperationalEventSink, silentSink } from "../health/operational-events.ts";
import { buildStoredEvent, type PublishDeps, publishNew } from "../publishing/publish.ts";
import {
  deprecatedTypesIn,
  eventTypeNotices,
  requireCataloguedPatterns,
  type SubscriptionCatalogue,
} from "../routing/catalogue.ts";
import { patternMatches } from "../routing/event-types.ts";
import type { Filter, FilterResult } from "../routing/filter.ts";
import { loadFilterEngine } from "../routing/lazy-modules.ts";
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
  WebhookLimitError,
} from "../shared/errors.ts";
import { deliveryIdFor, newWebhookId } from "../shared/ids.ts";
import type { Webhook } from "../shared/model.ts";
import { DEFAULT_ROTATION_GRACE_SECONDS, rotatedVersions, secretOwner } from "../signing/signing-secrets.ts";
import { requireTenant } from "../tenants/tenants.ts";
import type { CreateWebhookInput, FilterTestInput, UpdateWebhookInput } from "./webhook-schemas.ts";
import { newWebhookRecord } from "./webhooks.ts";

export interface WebhookStore {
  get(tenantId: string, id: string): Promise<Webhook | undefined>;
  create(webhook: Webhook): Promise<void>;
  replace(previous: Webhook, next: Webhook): Promise<void>;
  delete(webhook: Webhook): Promise<void>;
}

/** Signing secrets, one per webhook; `owner` is `secretOwner(tenantId, webhookId)`. */
export interface SecretIssuer {
  create(owner: string): Promise<{ secret: string; versionId: string }>;
  rotate(owner: string): Promise<{ secret: string; versionId: string }>;
  delete(owner: string): Promise<void>;
}

export interface ManagementDeps extends PublishDeps {
  readonly webhooks: WebhookStore;
  readonly secrets: SecretIssuer;
  /** The stack's per-tenant limit, checked before a secret is made (the create transaction enforces it exactly). */
  readonly maxWebhooksPerTenant?: number;
  /** The event-type catalogue subscriptions are checked against (strict mode); none: any pattern. */
  readonly catalogue?: SubscriptionCatalogue | undefined;
  /** Where a manual disable and a secret rotation are told (operational events). */
  readonly notices?: OperationalEventSink;
}

/** What the API shows of a webhook's health (`GET …/webhooks/{id}`): the circuit, the failure clock, the window. */
export function healthResource(health: EndpointHealth | undefined) {
  return {
    circuit: health?.circuit ?? "closed",
    openedAt: health?.openedAt ?? null,
    nextProbeAt: health?.circuit && health.circuit !== "closed" ? (health.probeAt ?? null) : null,
    failingSince: health?.failingSince ?? null,
    lastSuccessAt: health?.lastSuccessAt ?? null,
    window: {
      startedAt: health?.windowStart ?? null,
      attempts: health?.windowAttempts ?? 0,
      failures: health?.windowFailures ?? 0,
    },
  };
}

/** What the API shows of a webhook: never a secret, nor the internal secret version ids. */
export function webhookResource(webhook: Webhook): Omit<WebhookResource, "eventTypeNotices"> {
  return {
    id: webhook.id,
    url: webhook.url,
    eventTypes: [...webhook.eventTypes],
    filter: webhook.filter ?? null,
    headers: { ...webhook.headers },
    description: webhook.description ?? null,
    active: webhook.active,
    disabledReason: webhook.disabledReason ?? null,
    maxAttempts: webhook.maxAttempts ?? null,
    rateLimitPerSecond: webhook.rateLimitPerSecond ?? null,
    signatureScheme: webhook.signatureScheme,
    previousSecretValidUntil: webhook.previousSecretValidUntil ?? null,
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
    version: webhook.version,
  };
}

/**
 * Webhooks as the API shows them, each with `eventTypeNotices`: the types it subscribes to by name that the
 * catalogue marks deprecated or archived (one batch read for all of them).
 */
export async function webhookResources(
  webhooks: readonly Webhook[],
  catalogue: SubscriptionCatalogue | undefined,
) {
  const flagged = await deprecatedTypesIn(
    webhooks.flatMap((webhook) => webhook.eventTypes),
    catalogue,
  );
  return webhooks.map((webhook) => ({
    ...webhookResource(webhook),
    eventTypeNotices: eventTypeNotices(webhook.eventTypes, flagged),
  }));
}

/**
 * Would this webhook receive `event`? Its patterns first (a miss names `type`), then its filter — or a draft
 * filter given instead, to try one before saving it. An event without a source is judged as the publish API
 * would store it (`source: "api"`).
 */
export async function testWebhookFilter(
  tenantId: string,
  id: string,
  input: FilterTestInput,
  deps: Pick<ManagementDeps, "webhooks">,
): Promise<FilterResult> {
  await requireValidFilter(input.filter);
  const webhook = await requireWebhook(deps, tenantId, id);
  const { event } = input;
  if (!webhook.eventTypes.some((pattern) => patternMatches(pattern, event.type)))
    return { matches: false, failedClause: { path: "type", clause: webhook.eventTypes } };
  const filter = input.filter ?? webhook.filter;
  if (!filter) return { matches: true };
  return (await loadFilterEngine()).matchFilter(filter, {
    type: event.type,
    source: event.source ?? "api",
    data: event.data,
  });
}

/** One of this tenant's webhooks; another tenant's id is not found, exactly like an id that does not exist. */
export async function requireWebhook(deps: Pick<ManagementDeps, "webhooks">, tenantId: string, id: string) {
  const webhook = await deps.webhooks.get(tenantId, id);
  if (!webhook) throw new NotFoundError(`webhook ${id}`);
  return webhook;
}

/** A filter's rules, each issue naming its path (`filter.data.amount[0].numeric`); nothing to check without one. */
export async function requireValidFilter(filter: Filter | null | undefined, field = "filter"): Promise<void> {
  if (!filter) return;
  const issues = (await loadFilterEngine()).validateFilter(filter, field);
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Creates a webhook for an existing tenant, within its limit (409 naming `maxWebhooksPerTenant` past it). */
export async function createWebhook(tenantId: string, input: CreateWebhookInput, deps: ManagementDeps) {
  const tenant = await requireTenant(deps.tenants, tenantId);
  // Checked again, exactly, by the create transaction; this early check only spares a secret for a refused create.
  if (deps.maxWebhooksPerTenant !== undefined && tenant.webhookCount >= deps.maxWebhooksPerTenant)
    throw new WebhookLimitError(deps.maxWebhooksPerTenant);
  await requireValidFilter(input.filter);
  await requireCataloguedPatterns(input.eventTypes, deps.catalogue);
  const id = newWebhookId();
  const owner = secretOwner(tenantId, id);
  const issued = await deps.secrets.create(owner);
  const webhook = newWebhookRecord(tenantId, id, input, issued.versionId, deps.now());
  try {
    await deps.webhooks.create(webhook);
  } catch (error) {
    await deps.secrets.delete(owner).catch(() => undefined);
    throw error;
  }
  return { webhook, secret: issued.secret };
}

/**
 * Applies a partial update if `expectedVersion` (from If-Match or the body) still holds. Re-enabling clears
 * the reason the webhook was disabled.
 */
export async function updateWebhook(
  tenantId: string,
  id: string,
  input: UpdateWebhookInput,
  expectedVersion: number | undefined,
  ifMatch: boolean,
  deps: ManagementDeps,
) {
  const current = await requireWebhook(deps, tenantId, id);
  if (expectedVersion !== undefined && expectedVersion !== current.version) {
    const message = `webhook ${id} is at version ${current.version}, not ${expectedVersion}`;
    throw ifMatch ? new PreconditionFailedError(message) : new ConflictError(message);
  }
  await requireValidFilter(input.filter);
  await requireAddedPatternsCatalogued(current, input, deps);
  const next = updatedWebhook(current, input, deps.now());
  await deps.webhooks.replace(current, next);
  // The version check let exactly this update turn the webhook off.
  if (current.active && !next.active) await tellDisabledByUser(next, deps);
  return next;
}

/** Only the patterns an update adds: a subscription made before a type was archived keeps working. */
async function requireAddedPatternsCatalogued(
  current: Webhook,
  input: UpdateWebhookInput,
  deps: ManagementDeps,
) {
  const eventTypes = input.eventTypes;
  if (!eventTypes) return;
  const added = eventTypes.filter((pattern) => !current.eventTypes.includes(pattern));
  await requireCataloguedPatterns(added, deps.catalogue, "eventTypes", (pattern) =>
    eventTypes.indexOf(pattern),
  );
}

/** The webhook after `input`: `null` clears an optional field; turning it off by hand records why. */
function updatedWebhook(current: Webhook, input: UpdateWebhookInput, now: Date): Webhook {
  const { version: _version, description, maxAttempts, rateLimitPerSecond, filter, ...changes } = input;
  const active = changes.active ?? current.active;
  return {
    ...current,
    ...changes,
    ...(description !== undefined ? { description: description ?? undefined } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts: maxAttempts ?? undefined } : {}),
    ...(rateLimitPerSecond !== undefined ? { rateLimitPerSecond: rateLimitPerSecond ?? undefined } : {}),
    ...(filter !== undefined ? { filter: filter ?? undefined } : {}),
    eventTypes: changes.eventTypes ? [...new Set(changes.eventTypes)] : current.eventTypes,
    active,
    disabledReason: active
      ? undefined
      : (current.disabledReason ?? (changes.active === false ? "disabled_by_user" : undefined)),
    updatedAt: now.toISOString(),
    version: current.version + 1,
  };
}

function tellDisabledByUser(webhook: Webhook, deps: Pick<ManagementDeps, "notices">): Promise<void> {
  return (deps.notices ?? silentSink).emit([
    {
      detailType: "Webhook Disabled",
      detail: {
        tenantId: webhook.tenantId,
        webhookId: webhook.id,
        reason: "disabled_by_user",
        failingSince: null,
        occurredAt: webhook.updatedAt,
      },
    },
  ]);
}

export async function deleteWebhook(
  tenantId: string,
  id: string,
  deps: Pick<ManagementDeps, "webhooks" | "secrets">,
): Promise<void> {
  const webhook = await requireWebhook(deps, tenantId, id);
  await deps.webhooks.delete(webhook);
  await deps.secrets.delete(secretOwner(tenantId, id));
}

export async function rotateSecret(
  tenantId: string,
  id: string,
  gracePeriodSeconds: number | undefined,
  deps: ManagementDeps,
) {
  const current = await requireWebhook(deps, tenantId, id);
  const issued = await deps.secrets.rotate(secretOwner(tenantId, id));
  const now = deps.now();
  const versions = rotatedVersions(
    current,
    issued.versionId,
    gracePeriodSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS,
    now,
  );
  const next: Webhook = {
    ...current,
    secretVersion: versions.secretVersion,
    previousSecretVersion: versions.previousSecretVersion,
    previousSecretValidUntil: versions.previousSecretValidUntil,
    updatedAt: now.toISOString(),
    version: current.version + 1,
  };
  await deps.webhooks.replace(current, next);
  await (deps.notices ?? silentSink).emit([
    {
      detailType: "Secret Rotated",
      detail: {
        tenantId,
        webhookId: id,
        previousSecretValidUntil: next.previousSecretValidUntil ?? null,
        occurredAt: next.updatedAt,
      },
    },
  ]);
  return { webhook: next, secret: issued.secret };
}

/** Sends a `webhook.test` event to this webhook alone, through the normal pipeline. */
export async function sendTestEvent(tenantId: string, id: string, deps: ManagementDeps) {
  const webhook = await requireWebhook(deps, tenantId, id);
  const event = buildStoredEvent(
    tenantId,
    {
      type: "webhook.test",
      data: { webhookId: webhook.id, message: "This is a test event from Serverless Webhooks." },
    },
    deps.now(),
    "serverless-webhooks",
  );
  await publishNew({ ...event, recipients: [webhook.id] }, deps);
  return { eventId: event.id, deliveryId: deliveryIdFor(event.id, webhook.id) };
}
