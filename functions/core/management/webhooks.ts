/** Building webhook records. (Validation of what a caller sends lives with the management API's schemas.) */
import type { Filter } from "../routing/filter.ts";
import type { Webhook } from "../shared/model.ts";
import type { SignatureScheme } from "../signing/signing.ts";

export interface WebhookDraft {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly filter?: Filter | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly description?: string | undefined;
  readonly maxAttempts?: number | undefined;
  readonly rateLimitPerSecond?: number | undefined;
  readonly signatureScheme?: SignatureScheme | undefined;
  readonly active?: boolean | undefined;
}

export function newWebhookRecord(
  tenantId: string,
  id: string,
  draft: WebhookDraft,
  secretVersion: string,
  now: Date,
): Webhook {
  const at = now.toISOString();
  return {
    id,
    tenantId,
    url: draft.url,
    eventTypes: [...new Set(draft.eventTypes)],
    ...(draft.filter ? { filter: draft.filter } : {}),
    headers: { ...(draft.headers ?? {}) },
    description: draft.description,
    active: draft.active ?? true,
    maxAttempts: draft.maxAttempts,
    rateLimitPerSecond: draft.rateLimitPerSecond,
    signatureScheme: draft.signatureScheme ?? "standard",
    secretVersion,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}
