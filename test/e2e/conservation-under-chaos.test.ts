/**
 * Conservation under chaos: 2,000 events × 5 misbehaving receivers, while the delivery worker is SIGKILLed and
 * restarted at random and SQS is briefly unreachable. At the end every (event, webhook) pair must be exactly one
 * of delivered (the receiver saw it, verified), in the DLQ with a reason, or dropped — and the log must agree.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { createRuntime, publishDeps } from "#aws/runtime.ts";
import { parseConfig } from "#core/config.ts";
import type { Delivery } from "#core/model.ts";
import { publish } from "#core/publish.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEngines } from "#local/engines.ts";
import { findFreePort } from "#local/free-port.ts";
import { provisionResources } from "#local/provision.ts";
import { type RunningCommand, startCommand } from "#test/support/child-process.ts";
import { startTcpProxy } from "#test/support/tcp-proxy.ts";

const EVENTS = Number(process.env.CHAOS_EVENTS ?? 2000);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with CHAOS_SEED. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Behaviour = "flaky" | "rate-limited" | "slow" | "resetting";
interface ChaosReceiver {
  readonly name: Behaviour | "down";
  readonly port: number;
  /** webhook-id → times acknowledged with a 2xx after verifying. */
  readonly acknowledged: Map<string, number>;
  unverified: number;
  requests: number;
  secret: string;
  close(): Promise<void>;
}

async function startChaosReceiver(name: Behaviour, random: () => number): Promise<ChaosReceiver> {
  const receiver: ChaosReceiver = {
    name,
    port: 0,
    acknowledged: new Map(),
    unverified: 0,
    requests: 0,
    secret: "",
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      receiver.requests += 1;
      const roll = random();
      if (name === "resetting" && roll < 0.1) {
        request.socket.destroy();
        return;
      }
      const failure =
        name === "flaky" && roll < 0.3
          ? 500
          : name === "rate-limited" && roll < 0.15
            ? 429
            : name === "rate-limited" && roll < 0.25
              ? 503
              : 0;
      if (failure) {
        response.writeHead(failure, failure === 429 ? { "retry-after": "1" } : {}).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = () => {
        try {
          new StandardWebhook(receiver.secret).verify(body, request.headers as Record<string, string>);
        } catch {
          receiver.unverified += 1;
          response.writeHead(401).end();
          return;
        }
        const id = String(request.headers["webhook-id"]);
        receiver.acknowledged.set(id, (receiver.acknowledged.get(id) ?? 0) + 1);
        response.writeHead(204).end();
      };
      if (name === "slow" && roll < 0.1) setTimeout(answer, 900);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(receiver, {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("conservation under chaos", () => {
  it(
    `accounts for every (event, webhook) pair of ${EVENTS} events × 5 misbehaving receivers`,
    async () => {
      const started = Date.now();
      const random = prng(SEED);
      const engines = await startEngines();
      cleanups.push(() => engines.stop());
      const sqsPort = Number(new URL(engines.endpoints.sqs).port);
      const proxy = await startTcpProxy(sqsPort);
      cleanups.push(() => proxy.close());

      const direct = createAwsClients({
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        endpoints: engines.endpoints,
      });
      const resources = await provisionResources(direct, "chaos");
      // A killed worker's batch comes back after the visibility timeout: keep it short so the run stays short.
      await direct.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: resources.deliveryQueueUrl,
          Attributes: { VisibilityTimeout: "4" },
        }),
      );

      const env: Record<string, string> = {
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        TABLE_NAME: resources.tableName,
        DELIVERY_QUEUE_URL: resources.deliveryQueueUrl,
        DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
        SECRET_NAME_PREFIX: "serverless-webhooks/chaos/",
        RETRY_SCHEDULE_SECONDS: "1,1,2",
        DELIVERY_TIMEOUT_MS: "500",
        ALLOW_HTTP_DESTINATIONS: "true",
        ALLOWED_PORTS: "1-65535",
        ALLOW_PRIVATE_DESTINATIONS: "loopback",
        DEPENDENCY_BACKOFF_SECONDS: "1",
        AWS_ENDPOINT_URL_DYNAMODB: engines.endpoints.dynamodb,
        AWS_ENDPOINT_URL_SQS: proxy.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: engines.endpoints.secretsManager,
        POWERTOOLS_LOG_LEVEL: "ERROR",
        POWERTOOLS_METRICS_DISABLED: "true",
        SW_DELIVERY_QUEUE_ARN: resources.deliveryQueueArn,
        SW_POLLERS: "4",
      };
      const runtime = createRuntime(parseConfig(env), {
        clients: createAwsClients({
          region: LOCAL_REGION,
          credentials: LOCAL_CREDENTIALS,
          endpoints: { ...engines.endpoints, sqs: proxy.url },
        }),
        logger: new Logger({ serviceName: "chaos", logLevel: "ERROR" }),
      });
      cleanups.push(() => runtime.http.close());

      const receivers: ChaosReceiver[] = [];
      for (const behaviour of ["flaky", "rate-limited", "slow", "resetting"] as const)
        receivers.push(await startChaosReceiver(behaviour, random));
      cleanups.push(...receivers.map((receiver) => () => receiver.close()));
      const downPort = await findFreePort();
      const webhookOf = new Map<string, ChaosReceiver | "down">();
      for (const target of [...receivers, "down" as const]) {
        const port = target === "down" ? downPort : target.port;
        const issued = await runtime.secrets.create(`wh_chaos_${target === "down" ? "down" : target.name}`);
        const id = `wh_chaos_${target === "down" ? "down" : target.name}`;
        await runtime.webhooks.create({
          id,
          url: `http://127.0.0.1:${port}/hooks`,
          eventTypes: ["chaos.*"],
          headers: {},
          active: true,
          signatureScheme: "standard",
          secretVersion: issued.versionId,
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
          version: 1,
        });
        if (target !== "down") target.secret = issued.secret;
        webhookOf.set(id, target);
      }

      // The worker, killed (SIGKILL, whole process group) and restarted at random moments.
      let worker: RunningCommand | undefined;
      const startWorker = () => {
        worker = startCommand("node", ["local/delivery-worker.ts"], env);
      };
      cleanups.push(() => worker?.signalGroup("SIGKILL"));
      startWorker();
      let kills = 0;
      let outages = 0;
      let chaos = true;
      const chaosLoop = (async () => {
        while (chaos) {
          await new Promise((resolve) => setTimeout(resolve, 1500 + random() * 3500));
          if (!chaos) break;
          if (random() < 0.25 && outages < 3) {
            outages += 1;
            proxy.down();
            await new Promise((resolve) => setTimeout(resolve, 1500));
            proxy.up();
          } else {
            kills += 1;
            worker?.signalGroup("SIGKILL");
            await new Promise((resolve) => setTimeout(resolve, 200 + random() * 500));
            startWorker();
          }
        }
      })();

      // Publishers retry a failed publish with the same id, as API callers and EventBridge do.
      let publishRetries = 0;
      const deps = publishDeps(runtime);
      const ids = Array.from({ length: EVENTS }, (_, n) => `evt_chaos_${String(n).padStart(5, "0")}`);
      for (let start = 0; start < ids.length; start += 25) {
        await Promise.all(
          ids.slice(start, start + 25).map(async (id) => {
            for (;;) {
              try {
                return await publish({ id, type: "chaos.tick", data: { id } }, deps);
              } catch {
                publishRetries += 1;
                await new Promise((resolve) => setTimeout(resolve, 200));
              }
            }
          }),
        );
      }

      // Quiescence: the delivery queue stays empty for three consecutive looks.
      const depth = async () => {
        const { Attributes = {} } = await direct.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: resources.deliveryQueueUrl, AttributeNames: ["All"] }),
        );
        return [
          Attributes.ApproximateNumberOfMessages,
          Attributes.ApproximateNumberOfMessagesNotVisible,
          Attributes.ApproximateNumberOfMessagesDelayed,
        ]
          .map((count) => Number(count ?? 0))
          .reduce((sum, count) => sum + count, 0);
      };
      let quiet = 0;
      const deadline = Date.now() + 8 * 60_000;
      while (quiet < 3) {
        if (Date.now() > deadline) throw new Error(`the queue did not drain (depth ${await depth()})`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (quiet === 0 && (await depth()) === 0) chaos = false;
        quiet = (await depth()) === 0 ? quiet + 1 : 0;
      }
      chaos = false;
      await chaosLoop;
      worker?.signalGroup("SIGTERM");
      await worker?.waitForExit(10_000).catch(() => worker?.signalGroup("SIGKILL"));

      // What the DLQ holds (unique delivery ids, with reasons), and every delivery record.
      const dead = new Map<string, string>();
      for (;;) {
        const { Messages = [] } = await direct.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: resources.deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 600,
            MessageAttributeNames: ["All"],
          }),
        );
        if (Messages.length === 0) break;
        for (const message of Messages)
          dead.set(
            String(message.MessageAttributes?.deliveryId?.StringValue),
            String(message.MessageAttributes?.reason?.StringValue),
          );
      }
      const deliveries: Delivery[] = [];
      let cursor: Record<string, unknown> | undefined;
      do {
        const page = await direct.documents.send(
          new ScanCommand({
            TableName: resources.tableName,
            FilterExpression: "begins_with(pk, :delivery) AND sk = :meta",
            ExpressionAttributeValues: { ":delivery": "DELIVERY#", ":meta": "META" },
            ExclusiveStartKey: cursor,
          }),
        );
        deliveries.push(...((page.Items ?? []) as Delivery[]));
        cursor = page.LastEvaluatedKey;
      } while (cursor);

      const byPair = new Map(
        deliveries.map((delivery) => [`${delivery.eventId}|${delivery.webhookId}`, delivery]),
      );
      const problems: string[] = [];
      let delivered = 0;
      let deadLettered = 0;
      for (const eventId of ids) {
        for (const [webhookId, target] of webhookOf) {
          const delivery = byPair.get(`${eventId}|${webhookId}`);
          if (!delivery) {
            problems.push(`lost: ${eventId} → ${webhookId} has no delivery record`);
            continue;
          }
          if (delivery.status === "delivered") {
            delivered += 1;
            if (target === "down" || !target.acknowledged.has(eventId))
              problems.push(`${delivery.id} delivered but the receiver never acknowledged it`);
            if (dead.has(delivery.id)) problems.push(`${delivery.id} delivered and also in the DLQ`);
          } else if (delivery.status === "failed") {
            deadLettered += 1;
            if (dead.get(delivery.id) !== delivery.reason)
              problems.push(
                `${delivery.id} failed (${delivery.reason}) but the DLQ says ${dead.get(delivery.id)}`,
              );
          } else if (delivery.status !== "dropped") {
            problems.push(`${delivery.id} ended ${delivery.status}`);
          }
          if (target === "down" && delivery.status !== "failed")
            problems.push(`${delivery.id} to the down receiver ended ${delivery.status}`);
        }
      }
      const acknowledgements = receivers.flatMap((receiver) => [...receiver.acknowledged.values()]);
      const duplicates = acknowledgements.reduce((sum, count) => sum + count - 1, 0);
      const report = {
        seed: SEED,
        events: EVENTS,
        pairs: EVENTS * webhookOf.size,
        delivered,
        deadLettered,
        duplicates,
        duplicateRate: duplicates / Math.max(1, acknowledgements.length),
        unverified: receivers.reduce((sum, receiver) => sum + receiver.unverified, 0),
        receiverRequests: receivers.reduce((sum, receiver) => sum + receiver.requests, 0),
        workerKills: kills,
        sqsOutages: outages,
        publishRetries,
        seconds: Math.round((Date.now() - started) / 1000),
        lost: problems.filter((problem) => problem.startsWith("lost")).length,
      };
      mkdirSync(".test-reports", { recursive: true });
      writeFileSync(".test-reports/chaos.json", `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`chaos: ${JSON.stringify(report)}\n`);

      expect(problems.slice(0, 20)).toEqual([]);
      expect(delivered + deadLettered).toBe(EVENTS * webhookOf.size);
      expect(report.unverified).toBe(0);
      expect(kills + outages).toBeGreaterThan(0);
    },
    10 * 60_000,
  );
});
