/**
 * `npm run emit -- events/eventbridge/<file>.json [--new-id]`: sends a sample EventBridge event, as another AWS
 * service would, to the running local stack's EventBridge input (publish's second entry point).
 *
 * Publishing is idempotent on the EventBridge id, so sending a sample a second time publishes nothing: emit looks
 * the id up first and says when the event was a duplicate. `--new-id` gives the sample a fresh id (as EventBridge
 * gives every event it routes), so each run is a new event.
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

try {
  const seenBefore =
    eventId !== undefined &&
    tenantId !== undefined &&
    (await fetch(`${base}/tenants/${tenantId}/events/${encodeURIComponent(eventId)}`)).ok;
  const response = await fetch(`${base}${EVENTBRIDGE_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  console.log(`${response.status} ${await response.text()}`);
  if (response.ok && eventId) {
    console.log(
      seenBefore
        ? `duplicate: ${eventId} was already published, so nothing was sent again (publishing is idempotent on ` +
            "the EventBridge id; add --new-id to send the sample as a new event)"
        : `published ${eventId} to tenant ${tenantId ?? "(none: kept in the ingest DLQ)"}${
            values["new-id"] ? " (a fresh id, as EventBridge gives each event)" : ""
          }`,
    );
  }
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(
    `could not reach ${base} (${(error as Error).message}): is \`npm start\` running, on this port (SW_PORT)?`,
  );
  process.exit(1);
}
