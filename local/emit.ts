/**
 * `npm run emit -- events/eventbridge/<file>.json [--keep-id]`: sends a sample EventBridge event, as another AWS
 * service would, to the running local stack's EventBridge input (publish's second entry point).
 *
 * EventBridge gives every event it routes a new id, and publishing is idempotent on that id; so each emit sends
 * the sample with a fresh id, and every run is a new event. `--keep-id` sends the sample's own id, to watch
 * idempotency: when that id was published before, emit says the event was a duplicate and nothing was sent again.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { eventBridgeEventSchema, fromEventBridge } from "#core/eventbridge.ts";
import { EVENTBRIDGE_PATH } from "./paths.ts";

const USAGE = "usage: npm run emit -- events/eventbridge/<file>.json [--keep-id]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "keep-id": { type: "boolean", default: false } },
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
const event = isPutEvents || values["keep-id"] ? sample : { ...sample, id: randomUUID() };
const parsed = isPutEvents ? undefined : eventBridgeEventSchema.safeParse(event);
const eventId = parsed?.success ? fromEventBridge(parsed.data).id : undefined;

try {
  const seenBefore =
    eventId !== undefined && (await fetch(`${base}/events/${encodeURIComponent(eventId)}`)).ok;
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
            "the EventBridge id; run without --keep-id to send the sample as a new event)"
        : `published ${eventId}${values["keep-id"] ? "" : " (a fresh id, as EventBridge gives each event)"}`,
    );
  }
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(
    `could not reach ${base} (${(error as Error).message}): is \`npm start\` running, on this port (SW_PORT)?`,
  );
  process.exit(1);
}
