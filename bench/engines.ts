/** How long each local engine takes to start and stop: the fixed cost of every test run and `npm start`. */
import { startDynamoDbLocal } from "#local/dynamodb-local.ts";
import { startSecretsManagerEmulator } from "#local/secrets-manager-emulator.ts";
import { startSqsLocal } from "#local/sqs-local.ts";
import { sized } from "./options.ts";
import { median, timeRuns } from "./stats.ts";

const RUNS = sized(5, 2);

export async function benchEngines(): Promise<string> {
  const engines: [string, () => Promise<{ stop(): Promise<void> }>][] = [
    ["DynamoDB Local (java, in memory)", () => startDynamoDbLocal()],
    ["fauxqs (in-process)", () => startSqsLocal()],
    ["Secrets Manager emulator (in-process)", () => startSecretsManagerEmulator()],
  ];
  const rows: string[] = [];
  for (const [name, start] of engines) {
    let stopMs = 0;
    const startSamples = await timeRuns(RUNS, async () => {
      const engine = await start();
      const stopStarted = performance.now();
      await engine.stop();
      stopMs += performance.now() - stopStarted;
    });
    rows.push(`| ${name} | ${median(startSamples).toFixed(0)} ms | ${(stopMs / RUNS).toFixed(0)} ms |`);
  }
  return [
    "## Local engine start-up",
    "",
    `Median of ${RUNS} runs of start then stop (the start column includes the stop).`,
    "",
    "| engine | start + stop (median) | stop (mean) |",
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
}
