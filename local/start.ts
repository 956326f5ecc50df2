/**
 * `npm start`: the system on one machine. Starts the local AWS engines (state persisted under
 * `.local-data/`, or SW_DATA_DIR), creates the tables and queues from the shared definitions, and shuts
 * everything down cleanly on Ctrl-C.
 */
import { resolve } from "node:path";
import { createAwsClients } from "#aws/clients.ts";
import { localClientConfig, startEngines } from "./engines.ts";
import { provisionResources } from "./provision.ts";

const dataDir = resolve(process.env.SW_DATA_DIR ?? ".local-data");
const prefix = process.env.SW_RESOURCE_PREFIX ?? "local";

const engines = await startEngines({ dataDir });
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal} received, stopping the local engines…`);
  try {
    await engines.stop();
    console.log("stopped.");
    process.exit(0);
  } catch (error) {
    console.error("failed to stop cleanly:", error);
    process.exit(1);
  }
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  const resources = await provisionResources(createAwsClients(localClientConfig(engines.endpoints)), prefix);
  console.log(
    [
      "Serverless Webhooks — local engines ready",
      `  DynamoDB Local     ${engines.endpoints.dynamodb}   table ${resources.tableName}`,
      `  SQS (fauxqs)       ${engines.endpoints.sqs}   queue ${resources.deliveryQueueUrl}`,
      `                                                DLQ   ${resources.deadLetterQueueUrl}`,
      `  Secrets Manager    ${engines.endpoints.secretsManager}`,
      `  data folder        ${dataDir}`,
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );
} catch (error) {
  console.error("local start failed:", error);
  await engines.stop();
  process.exit(1);
}
