/**
 * The management use cases behind the API, over injected ports: webhooks (create, update, delete, rotate,
 * test). Recovery of deliveries (retry, recover, redrive) is in `recovery.ts`.
 */
import { ConflictError, NotFoundError, PreconditionFailedError } from "./errors.ts";
import { deliveryIdFor, newWebhookId } from "./ids.ts";
import type { Webhook } from "./model.ts";
import { buildStoredEvent, type PublishDeps, publishNew } from "./publish.ts";
import { DEFAULT_ROTATION_GRACE_SECONDS, rotatedVersions } from "./signing-secrets.ts";
import type { CreateWebhookInput, UpdateWebhookInput } from "./webhook-schemas.ts";
import { newWebhookRecord } from "./webhooks.ts";

export interface WebhookStore {
  get(id: string): Promise<Webhook | undefined>;
  create(webhook: Webhook): Promise<void>;
  replace(previous: Webhook, next: Webhook): Promise<void>;
  delete(webhook: Webhook): Promise<void>;
}

export interface SecretIssuer {
  create(webhookId: string): Promise<{ secret: string; versionId: string }>;
  rotate(webhookId: string): Promise<{ secret: string; versionId: string }>;
  delete(webhookId: string): Promise<void>;
}

export interface ManagementDeps extends PublishDeps {
  readonly webhooks: WebhookStore;
  readonly secrets: SecretIssuer;
}

/** What the API shows of a webhook: never a secret, nor the internal secret version ids. */
export function webhookResource(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    eventTypes: webhook.eventTypes,
    headers: webhook.headers,
    description: webhook.description ?? null,
    active: webhook.active,
    disabledReason: webhook.disabledReason ?? null,
    maxAttempts: webhook.maxAttempts ?? null,
    signatureScheme: webhook.signatureScheme,
    previousSecretValidUntil: webhook.previousSecretValidUntil ?? null,
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
    version: webhook.version,
  };
}

async function requireWebhook(deps: ManagementDeps, id: string): Promise<Webhook> {
  const webhook = await deps.webhooks.get(id);
  if (!webhook) throw new NotFoundError(`webhook ${id}`);
  return webhook;
}

export async function createWebhook(input: CreateWebhookInput, deps: ManagementDeps) {
  const id = newWebhookId();
  const issued = await deps.secrets.create(id);
  const webhook = newWebhookRecord(id, input, issued.versionId, deps.now());
  try {
    await deps.webhooks.create(webhook);
  } catch (error) {
    await deps.secrets.delete(id).catch(() => undefined);
    throw error;
  }
  return { webhook, secret: issued.secret };
}

/**
 * Applies a partial update if `expectedVersion` (from If-Match or the body) still holds. Re-enabling clears
 * the reason the webhook was disabled.
 */
export async function updateWebhook(
  id: string,
  input: UpdateWebhookInput,
  expectedVersion: number | undefined,
  ifMatch: boolean,
  deps: ManagementDeps,
) {
  const current = await requireWebhook(deps, id);
  if (expectedVersion !== undefined && expectedVersion !== current.version) {
    const message = `webhook ${id} is at version ${current.version}, not ${expectedVersion}`;
    throw ifMatch ? new PreconditionFailedError(message) : new ConflictError(message);
  }
  const { version: _version, description, maxAttempts, ...changes } = input;
  const active = changes.active ?? current.active;
  const next: Webhook = {
    ...current,
    ...changes,
    ...(description !== undefined ? { description: description ?? undefined } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts: maxAttempts ?? undefined } : {}),
    eventTypes: changes.eventTypes ? [...new Set(changes.eventTypes)] : current.eventTypes,
    active,
    disabledReason: active
      ? undefined
      : (current.disabledReason ?? (changes.active === false ? "disabled_by_user" : undefined)),
    updatedAt: deps.now().toISOString(),
    version: current.version + 1,
  };
  await deps.webhooks.replace(current, next);
  return next;
}

export async function deleteWebhook(id: string, deps: ManagementDeps): Promise<void> {
  const webhook = await requireWebhook(deps, id);
  await deps.webhooks.delete(webhook);
  await deps.secrets.delete(id);
}

export async function rotateSecret(id: string, gracePeriodSeconds: number | undefined, deps: ManagementDeps) {
  const current = await requireWebhook(deps, id);
  const issued = await deps.secrets.rotate(id);
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
  return { webhook: next, secret: issued.secret };
}

/** Sends a `webhook.test` event to this webhook alone, through the normal pipeline. */
export async function sendTestEvent(id: string, deps: ManagementDeps) {
  const webhook = await requireWebhook(deps, id);
  const event = buildStoredEvent(
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
