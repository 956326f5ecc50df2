import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { localClientConfig } from "#local/engines.ts";
import { findFreePort } from "#local/free-port.ts";
import { descendantsOf, isAlive, type RunningCommand, startCommand } from "#test/support/child-process.ts";

const dataDir = mkdtempSync(join(tmpdir(), "sw-local-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const started: RunningCommand[] = [];
afterEach(() => {
  for (const run of started.splice(0)) run.signalGroup("SIGKILL");
});

async function startLocal() {
  const port = await findFreePort();
  const run = startCommand("npm", ["start", "--silent"], { SW_DATA_DIR: dataDir, SW_PORT: String(port) });
  started.push(run);
  const [, dynamodb] = await run.waitForOutput(/DynamoDB Local\s+(http:\S+)/, 90_000);
  const [, sqs] = await run.waitForOutput(/SQS \(fauxqs\)\s+(http:\S+)/, 10_000);
  const [, secretsManager] = await run.waitForOutput(/Secrets Manager\s+(http:\S+)/, 10_000);
  await run.waitForOutput(/Press Ctrl-C to stop/, 10_000);
  const endpoints = { dynamodb: String(dynamodb), sqs: String(sqs), secretsManager: String(secretsManager) };
  return { run, clients: createAwsClients(localClientConfig(endpoints)), api: `http://127.0.0.1:${port}` };
}

describe("npm start", () => {
  it("starts the engines with the platform's resources, and Ctrl-C leaves no process behind — twice, on the same data", async () => {
    let webhookId = "";
    for (const round of [1, 2]) {
      const { run, clients, api } = await startLocal();
      if (round === 1) {
        const created = await fetch(`${api}/tenants/demo/webhooks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: "https://hooks.example.com/in", eventTypes: ["kept.*"] }),
        });
        webhookId = ((await created.json()) as { id: string }).id;
      } else {
        // The webhook (DynamoDB) and its signing secret (the Secrets Manager emulator's file) survived the restart.
        expect((await fetch(`${api}/tenants/demo/webhooks/${webhookId}`)).status).toBe(200);
        const rotated = await fetch(`${api}/tenants/demo/webhooks/${webhookId}/rotate-secret`, {
          method: "POST",
          body: "{}",
        });
        expect(rotated.status).toBe(200);
      }
      const pid = run.child.pid ?? 0;
      const tables = await clients.dynamodb.send(new ListTablesCommand({}));
      expect(tables.TableNames).toContain("local-Webhooks");
      const queues = await clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: "local-" }));
      expect(queues.QueueUrls?.map((url) => url.split("/").pop()).sort()).toEqual([
        "local-DeliveryDeadLetterQueue",
        "local-DeliveryQueue",
        "local-IngestDeadLetterQueue",
        "local-IngestQueue",
      ]);
      const children = descendantsOf(pid);
      expect(children.length, `round ${round}: npm start runs the java engine as a child`).toBeGreaterThan(0);

      run.signalGroup("SIGINT");
      await run.waitForExit(30_000);
      expect(run.output()).toMatch(/stopped\./);
      expect([pid, ...children].filter(isAlive)).toEqual([]);
    }
  });
});
