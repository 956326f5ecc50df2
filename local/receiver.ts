/**
 * `npm run receiver -- --secret whsec_… [--port 4000] [--fail-first N] [--status CODE]`: a local webhook receiver
 * that verifies every delivery with the project's verifier and prints it. `--fail-first 2` answers 500 to the
 * first two attempts of each delivery (to watch retries); `--status 500` answers that status every time (to drive
 * a delivery into the DLQ). Several `--secret` flags (or a comma list in WEBHOOK_SECRET) accept either secret
 * during a rotation.
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { createWebhookListener } from "#core/signing/webhook-receiver.ts";

const { values } = parseArgs({
  options: {
    secret: { type: "string", multiple: true },
    port: { type: "string", default: process.env.SW_RECEIVER_PORT ?? "4000" },
    "fail-first": { type: "string", default: "0" },
    status: { type: "string" },
  },
});
const secrets = [...(values.secret ?? []), ...(process.env.WEBHOOK_SECRET?.split(",") ?? [])].filter(
  (secret) => secret !== "",
);
if (secrets.length === 0) {
  console.error(
    "Give the webhook's secret: npm run receiver -- --secret whsec_… (it is in the answer to POST /webhooks).",
  );
  process.exit(2);
}
const failFirst = Number(values["fail-first"]);
const forcedStatus = values.status === undefined ? undefined : Number(values.status);
const attemptsSeen = new Map<string, number>();

const verifyingListener = createWebhookListener({ secrets }, ({ id, event }) => {
  const { type, data } = event as { type?: string; data?: unknown };
  console.log(`✓ verified ${id} ${type ?? ""} ${JSON.stringify(data)}`);
});

const server = createServer((request, response) => {
  const deliveryId = String(request.headers["x-webhook-delivery-id"] ?? "");
  const attempt = request.headers["x-webhook-attempt"] ?? "?";
  const seen = (attemptsSeen.get(deliveryId) ?? 0) + 1;
  attemptsSeen.set(deliveryId, seen);
  const failWith = forcedStatus ?? (seen <= failFirst ? 500 : undefined);
  if (failWith !== undefined) {
    console.log(`✗ answering ${failWith} to ${request.headers["webhook-id"]} (attempt ${attempt}) as asked`);
    request.resume();
    response.writeHead(failWith).end();
    return;
  }
  response.on("finish", () => {
    if (response.statusCode >= 400)
      console.log(`✗ refused ${request.headers["webhook-id"] ?? "?"}: ${response.statusCode}`);
  });
  verifyingListener(request, response);
});
server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(`receiver listening on http://127.0.0.1:${values.port}/webhooks (${secrets.length} secret(s))`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
