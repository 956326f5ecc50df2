/** Key layout of the single table (see `functions/core/resource-definitions.ts`). */
const pad = (n: number) => String(n).padStart(6, "0");

export const keys = {
  webhook: (id: string) => ({ pk: `WEBHOOK#${id}`, sk: "META" }),
  webhookListing: (createdAt: string, id: string) => ({ gsi1pk: "WEBHOOKS", gsi1sk: `${createdAt}#${id}` }),
  subscription: (pattern: string, webhookId: string) => ({
    pk: `SUB#${pattern}`,
    sk: `WEBHOOK#${webhookId}`,
  }),
  subscriptionPartition: (pattern: string) => `SUB#${pattern}`,
  event: (id: string) => ({ pk: `EVENT#${id}`, sk: "META" }),
  delivery: (id: string) => ({ pk: `DELIVERY#${id}`, sk: "META" }),
  deliveryByEvent: (eventId: string, deliveryId: string) => ({
    gsi1pk: `EVENT#${eventId}`,
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
  attemptByWebhook: (webhookId: string, timestamp: string, deliveryId: string, attempt: number) => ({
    gsi1pk: `WEBHOOK#${webhookId}#ATTEMPTS`,
    gsi1sk: `${timestamp}#${deliveryId}#${pad(attempt)}`,
  }),
};

const KEY_ATTRIBUTES = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt"] as const;

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
