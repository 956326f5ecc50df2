/**
 * `npm run emit -- events/eventbridge/<file>.json [--new-id]`: sends a sample EventBridge event, as another AWS
 * service would, to the running local stack's EventBridge input, which puts it in the ingest queue (as a rule's
 * SQS target does); the publish handler takes it from there.
 *
 * Publishing is idempotent on the EventBridge id, so sending a sample a second time publishes nothing: emit looks
 * the id up first and says when the event was a duplicate. With the queue in between, publishing happens a moment
 * after the send: emit waits (up to SW_EMIT_WAIT_SECONDS, 15 by default) for the event to appear before saying it
 * was published, and says so when it did not (e.g. an unknown tenant's event, kept in the ingest DLQ).
 * `--new-id` gives the sample a fresh id (as EventBridge gives every event it routes), so each run is a new event.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { eventBridgeEventSchema, fromEventBridge, tenantOf } from "#core/publishing/eventbridge.ts";
import { DEMO_TENANT_ID, EVENTBRIDGE_PATH } from "./paths.ts";

const USAGE = "usage: npm run emit -- events/eventbridge/<file>.json [--new-id]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "new-id": { type: "boolean", default: false } },
});
const file = positionals[0];
if (!file || positionals.length > 1) {
  console.error(USAGE);
  process.exit(2);
}

const base = process.env.SW_URL ?? `http://127.0.0.1:${process.env.SW_PORT ?? 3000}`;
const sample = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
const isPutEvents = Array.isArray(sample.Entries);
// A PutEvents request gets its ids from the local input itself, as from EventBridge.
const event = !isPutEvents && values["new-id"] ? { ...sample, id: randomUUID() } : sample;
const parsed = isPutEvents ? undefined : eventBridgeEventSchema.safeParse(event);
const eventId = parsed?.success ? fromEventBridge(parsed.data).id : undefined;
// Where local mode routes it: `detail.tenantId`, else the demo tenant (its DEFAULT_TENANT_ID).
const routing = parsed?.success
  ? tenantOf(parsed.data, "detail.tenantId", process.env.DEFAULT_TENANT_ID ?? DEMO_TENANT_ID)
  : undefined;
const tenantId = routing && "tenantId" in routing ? routing.tenantId : undefined;

const isPublished = async () =>
  eventId !== undefined &&
  tenantId !== undefined &&
  (await fetch(`${base}/tenants/${tenantId}/events/${encodeURIComponent(eventId)}`)).ok;

/** Whether the event shows up within the wait (the ingest queue's poller publishes it a moment after the send). */
async function appears(): Promise<boolean> {
  const deadline = Date.now() + (Number(process.env.SW_EMIT_WAIT_SECONDS ?? 15) || 15) * 1000;
  for (;;) {
    if (await isPublished()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

try {
  const seenBefore = await isPublished();
  const response = await fetch(`${base}${EVENTBRIDGE_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  console.log(`${response.status} ${await response.text()}`);
  if (!response.ok || !eventId) process.exit(response.ok ? 0 : 1);
  if (seenBefore) {
    console.log(
      `duplicate: ${eventId} was already published, so nothing was sent again (publishing is idempotent on ` +
        "the EventBridge id; add --new-id to send the sample as a new event)",
    );
    process.exit(0);
  }
  if (tenantId === undefined) {
    console.log(
      `${eventId} names no tenant it can go to: publish keeps it in the ingest DLQ with the reason`,
    );
    process.exit(1);
  }
  if (!(await appears())) {
    console.log(
      `not published: ${eventId} did not appear under tenant ${tenantId} in time (an unknown tenant's event, ` +
        "or data its type's schema refuses, is kept in the ingest DLQ with the reason; see the stack's log)",
    );
    process.exit(1);
  }
  console.log(
    `published ${eventId} to tenant ${tenantId}${values["new-id"] ? " (a fresh id, as EventBridge gives each event)" : ""}`,
  );
  process.exit(0);
} catch (error) {
  console.error(
    `could not reach ${base} (${(error as Error).message}): is \`npm start\` running, on this port (SW_PORT)?`,
  );
  process.exit(1);
}
