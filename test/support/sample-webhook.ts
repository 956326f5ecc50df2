import type { Webhook } from "#core/shared/model.ts";

/** A valid webhook record for unit tests that do not go through the API. */
export function sampleWebhook(overrides: Partial<Webhook> = {}): Webhook {
  const at = "2026-11-28T12:00:00.000Z";
  return {
    id: "wh_1",
    tenantId: "t_1",
    url: "https://hooks.example.com/in",
    eventTypes: ["order.*"],
    headers: {},
    active: true,
    signatureScheme: "standard",
    secretVersion: "v1",
    createdAt: at,
    updatedAt: at,
    version: 1,
    ...overrides,
  };
}
