/**
 * `npm start`: the whole system on one machine (see local/local-stack.ts). State persists in `.local-data/`
 * (SW_DATA_DIR); the API listens on 127.0.0.1:3000 (SW_PORT). Ctrl-C stops everything.
 */
import { resolve } from "node:path";
import { DEMO_TENANT_ID, EVENTBRIDGE_PATH } from "./paths.ts";
import { assertPortFree, PortUnavailableError, parsePort } from "./port-check.ts";

const dataDir = resolve(process.env.SW_DATA_DIR ?? ".local-data");
const host = "127.0.0.1";
let port: number;
try {
  port = parsePort(process.env.SW_PORT, 3000, "SW_PORT");
  // Before any engine starts: DynamoDB Local alone takes seconds to come up, and would only be stopped again.
  await assertPortFree(port, host);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

// Local mode prints logs, not EMF metric documents.
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";

// Loaded only now, so that a taken port is reported at once.
const { startLocalStack } = await import("./local-stack.ts");
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    dataDir,
    port,
    host,
    prefix: process.env.SW_RESOURCE_PREFIX ?? "local",
    environment: process.env,
  });
} catch (error) {
  // Taken between the check above and the listen (a race): the same message.
  const code = (error as { code?: string }).code;
  console.error(
    code === "EADDRINUSE"
      ? new PortUnavailableError(port, code).message
      : `local start failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal} received, stopping…`);
  await stack.stop();
  console.log("stopped.");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

const api = stack.url;
// The demo tenant's portal link: a fresh session at each start (the token is in the fragment, never sent).
const portalLink = await stack.portalLink(DEMO_TENANT_ID).catch((error: unknown) => {
  console.error(
    `could not mint the demo portal link: ${error instanceof Error ? error.message : String(error)}`,
  );
  return undefined;
});
const schedule = process.env.RETRY_SCHEDULE_SECONDS ?? "5,300,1800,7200,18000,36000,36000 (default)";
console.log(
  [
    "",
    "Serverless Webhooks — running locally",
    `  Management API     ${api}   (the API Gateway routes; no IAM auth locally)`,
    `  Customer portal    ${stack.portalUrl}   (API at ${stack.portalUrl}api/…)`,
    `  EventBridge input  POST ${api}${EVENTBRIDGE_PATH}   (npm run emit -- events/eventbridge/custom-order-completed.json)`,
    "  Workers            polling the ingest queue (EventBridge → publish) and the delivery queue in batches of 10,",
    "                     as Lambda's event source mappings do",
    `  Retry schedule     ${schedule}   (set RETRY_SCHEDULE_SECONDS=2,5 to watch retries quickly)`,
    `  DynamoDB Local     ${stack.endpoints.dynamodb}   table ${stack.tableName}`,
    `  SQS (fauxqs)       ${stack.endpoints.sqs}   queue ${stack.deliveryQueueUrl}`,
    `                                                DLQ   ${stack.deadLetterQueueUrl}`,
    `                                                ingest ${stack.ingestQueueUrl}`,
    `                                                ingest DLQ ${stack.ingestDeadLetterQueueUrl}   (events not published)`,
    `  Secrets Manager    ${stack.endpoints.secretsManager}`,
    `  data folder        ${dataDir}`,
    "",
    "  ⚠ Local mode allows http:// and loopback (127.0.0.1, ::1) destinations. Deployed stacks refuse both.",
    "",
    `  Tenant             ${DEMO_TENANT_ID}   (created at start; EventBridge events without detail.tenantId go to it)`,
    "",
    "Open the demo tenant's portal (valid 1 hour; mint another with",
    `  curl -s -X POST ${api}/tenants/${DEMO_TENANT_ID}/portal-sessions -H 'content-type: application/json' -d '{}'):`,
    `  ${portalLink ?? "(not available)"}`,
    "",
    "Try it from another terminal:",
    `  curl -s -X POST ${api}/tenants/${DEMO_TENANT_ID}/webhooks -H 'content-type: application/json' \\`,
    `    -d '{"url":"http://127.0.0.1:4000/webhooks","eventTypes":["order.*"]}'`,
    "  npm run receiver -- --secret <the secret from that answer>",
    `  curl -s -X POST ${api}/tenants/${DEMO_TENANT_ID}/events -H 'content-type: application/json' \\`,
    `    -d '{"type":"order.completed","data":{"orderId":"ord_1"}}'`,
    `  curl -s ${api}/tenants/${DEMO_TENANT_ID}/webhooks/<the webhook id>/attempts`,
    "",
    "Press Ctrl-C to stop.",
  ].join("\n"),
);
