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
import { startCommand } from "#test/support/child-process.ts";
import { startTcpProxy, type TcpProxy } from "#test/support/tcp-proxy.ts";

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

/** 30 % 5xx; 15 % 429 with Retry-After and 10 % 503; 10 % slower than the sender's timeout; 10 % resets. */
function misbehave(name: Behaviour, roll: number): number | "reset" | "slow" | undefined {
  if (name === "flaky" && roll < 0.3) return 500;
  if (name === "rate-limited" && roll < 0.15) return 429;
  if (name === "rate-limited" && roll < 0.25) return 503;
  if (name === "slow" && roll < 0.1) return "slow";
  if (name === "resetting" && roll < 0.1) return "reset";
  return undefined;
}

function verifies(secret: string, body: string, headers: Record<string, string>): boolean {
  try {
    new StandardWebhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
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
      const misbehaviour = misbehave(name, random());
      if (misbehaviour === "reset") {
        request.socket.destroy();
        return;
      }
      if (typeof misbehaviour === "number") {
        response.writeHead(misbehaviour, misbehaviour === 429 ? { "retry-after": "1" } : {}).end();
        return;
      }
      const answer = () => {
        if (
          !verifies(
            receiver.secret,
            Buffer.concat(chunks).toString("utf8"),
            request.headers as Record<string, string>,
          )
        ) {
          receiver.unverified += 1;
          response.writeHead(401).end();
          return;
        }
        const id = String(request.headers["webhook-id"]);
        receiver.acknowledged.set(id, (receiver.acknowledged.get(id) ?? 0) + 1);
        response.writeHead(204).end();
      };
      if (misbehaviour === "slow") setTimeout(answer, 900);
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

/** What is wrong with one pair's outcome, if anything. */
function pairProblems(
  delivery: Delivery,
  target: ChaosReceiver | "down",
  dead: ReadonlyMap<string, string>,
): string[] {
  const acknowledged = target !== "down" && target.acknowledged.has(delivery.eventId);
  const checks: [boolean, string][] = [
    [delivery.status === "delivered" && !acknowledged, "delivered but never acknowledged"],
    [delivery.status === "delivered" && dead.has(delivery.id), "delivered and also in the DLQ"],
    [
      delivery.status === "failed" && dead.get(delivery.id) !== delivery.reason,
      `failed (${delivery.reason}) but the DLQ says ${dead.get(delivery.id)}`,
    ],
    [!["delivered", "failed", "dropped"].includes(delivery.status), `ended ${delivery.status}`],
    [target === "down" && delivery.status !== "failed", "to the down receiver, yet not failed"],
  ];
  return checks.filter(([failed]) => failed).map(([, message]) => `${delivery.id}: ${message}`);
}

/** Each pair must be exactly one of: delivered and acknowledged, failed and in the DLQ with the same reason, dropped. */
function accountFor(
  ids: readonly string[],
  webhookOf: ReadonlyMap<string, ChaosReceiver | "down">,
  deliveries: readonly Delivery[],
  dead: ReadonlyMap<string, string>,
) {
  const byPair = new Map(
    deliveries.map((delivery) => [`${delivery.eventId}|${delivery.webhookId}`, delivery]),
  );
  const problems: string[] = [];
  const statuses: string[] = [];
  for (const eventId of ids) {
    for (const [webhookId, target] of webhookOf) {
      const delivery = byPair.get(`${eventId}|${webhookId}`);
      if (!delivery) problems.push(`lost: ${eventId} → ${webhookId} has no delivery record`);
      else {
        statuses.push(delivery.status);
        problems.push(...pairProblems(delivery, target, dead));
      }
    }
  }
  const count = (status: string) => statuses.filter((candidate) => candidate === status).length;
  return { problems, delivered: count("delivered"), deadLettered: count("failed") };
}

/** Unique delivery ids in the DLQ, with their reasons. */
async function deadLetters(
  sqs: ReturnType<typeof createAwsClients>["sqs"],
  queueUrl: string,
): Promise<Map<string, string>> {
  const dead = new Map<string, string>();
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return dead;
    for (const message of Messages) {
      dead.set(
        String(message.MessageAttributes?.deliveryId?.StringValue),
        String(message.MessageAttributes?.reason?.StringValue),
      );
    }
  }
}

/** Every delivery record (a Scan: fine in a test, never on a hot path). */
async function allDeliveries(
  documents: ReturnType<typeof createAwsClients>["documents"],
  tableName: string,
): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "begins_with(pk, :delivery) AND sk = :meta",
        ExpressionAttributeValues: { ":delivery": "DELIVERY#", ":meta": "META" },
        ExclusiveStartKey: cursor,
      }),
    );
    deliveries.push(...((page.Items ?? []) as Delivery[]));
    cursor = page.LastEvaluatedKey;
  } while (cursor);
  return deliveries;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Engines behind an SQS proxy, the platform's resources, five webhooks (four misbehaving receivers, one down). */
async function setUp(random: () => number) {
  const engines = await startEngines();
  cleanups.push(() => engines.stop());
  const proxy = await startTcpProxy(Number(new URL(engines.endpoints.sqs).port));
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
    const name = target === "down" ? "down" : target.name;
    const id = `wh_chaos_${name}`;
    const issued = await runtime.secrets.create(id);
    const at = new Date().toISOString();
    await runtime.webhooks.create({
      id,
      url: `http://127.0.0.1:${target === "down" ? downPort : target.port}/hooks`,
      eventTypes: ["chaos.*"],
      headers: {},
      active: true,
      signatureScheme: "standard",
      secretVersion: issued.versionId,
      createdAt: at,
      updatedAt: at,
      version: 1,
    });
    if (target !== "down") target.secret = issued.secret;
    webhookOf.set(id, target);
  }
  return { proxy, direct, resources, env, runtime, receivers, webhookOf };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills (SIGKILL, whole process group) and restarts the worker, and cuts SQS, at random moments until stopped. */
function unleashChaos(env: Record<string, string>, proxy: TcpProxy, random: () => number) {
  let worker = startCommand("node", ["local/delivery-worker.ts"], env);
  cleanups.push(() => worker.signalGroup("SIGKILL"));
  const tally = { kills: 0, outages: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      await pause(1500 + random() * 3500);
      if (!running) break;
      if (random() < 0.25 && tally.outages < 3) {
        tally.outages += 1;
        proxy.down();
        await pause(1500);
        proxy.up();
      } else {
        tally.kills += 1;
        worker.signalGroup("SIGKILL");
        await pause(200 + random() * 500);
        worker = startCommand("node", ["local/delivery-worker.ts"], env);
      }
    }
  })();
  return {
    calm: () => {
      running = false;
    },
    stop: async () => {
      running = false;
      await loop;
      worker.signalGroup("SIGTERM");
      await worker.waitForExit(10_000).catch(() => worker.signalGroup("SIGKILL"));
      return tally;
    },
  };
}

/** Publishes every id, retrying a failed publish with the same id as API callers and EventBridge do. */
async function publishAll(
  ids: readonly string[],
  runtime: ReturnType<typeof createRuntime>,
): Promise<number> {
  let retries = 0;
  const deps = publishDeps(runtime);
  const publishOne = async (id: string) => {
    for (;;) {
      try {
        return await publish({ id, type: "chaos.tick", data: { id } }, deps);
      } catch {
        retries += 1;
        await pause(200);
      }
    }
  };
  for (let start = 0; start < ids.length; start += 25)
    await Promise.all(ids.slice(start, start + 25).map(publishOne));
  return retries;
}

/** Waits until the delivery queue has looked empty three times in a row (chaos is calmed at the first). */
async function waitForQuiescence(
  sqs: ReturnType<typeof createAwsClients>["sqs"],
  queueUrl: string,
  calm: () => void,
) {
  const depth = async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
    );
    return [
      Attributes.ApproximateNumberOfMessages,
      Attributes.ApproximateNumberOfMessagesNotVisible,
      Attributes.ApproximateNumberOfMessagesDelayed,
    ]
      .map((count) => Number(count ?? 0))
      .reduce((sum, count) => sum + count, 0);
  };
  const deadline = Date.now() + 8 * 60_000;
  for (let quiet = 0; quiet < 3; ) {
    if (Date.now() > deadline) throw new Error(`the queue did not drain (depth ${await depth()})`);
    await pause(1000);
    const empty = (await depth()) === 0;
    if (empty) calm();
    quiet = empty ? quiet + 1 : 0;
  }
}

describe("conservation under chaos", () => {
  it(
    `accounts for every (event, webhook) pair of ${EVENTS} events × 5 misbehaving receivers`,
    async () => {
      const started = Date.now();
      const random = prng(SEED);
      const { proxy, direct, resources, env, runtime, receivers, webhookOf } = await setUp(random);
      const chaos = unleashChaos(env, proxy, random);
      const ids = Array.from({ length: EVENTS }, (_, n) => `evt_chaos_${String(n).padStart(5, "0")}`);
      const publishRetries = await publishAll(ids, runtime);
      await waitForQuiescence(direct.sqs, resources.deliveryQueueUrl, chaos.calm);
      const { kills, outages } = await chaos.stop();

      const dead = await deadLetters(direct.sqs, resources.deadLetterQueueUrl);
      const deliveries = await allDeliveries(direct.documents, resources.tableName);
      const { problems, delivered, deadLettered } = accountFor(ids, webhookOf, deliveries, dead);
      const acknowledgements = receivers.flatMap((receiver) => [...receiver.acknowledged.values()]);
      const duplicates = acknowledgements.reduce((sum, count) => sum + count - 1, 0);
      const report = {
        seed: SEED,
        events: EVENTS,
        pairs: EVENTS * webhookOf.size,
        delivered,
        deadLettered,
        duplicates,
        duplicateRate: Number((duplicates / Math.max(1, acknowledgements.length)).toFixed(4)),
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
