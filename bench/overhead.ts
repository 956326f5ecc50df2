/**
 * Delivery overhead against a floor: the deliver handler (ledger in DynamoDB Local, signing, SSRF-guarded POST,
 * metrics, logs) to a keep-alive receiver on 127.0.0.1, in batches of 10 (the default) and of LARGER_BATCHES
 * (`deliverBatchSize`), against a floor that only signs with HMAC and POSTs with a keep-alive agent 10 at a time.
 * CPU time of this process per delivery, every configuration measured in each round.
 */

import { createHmac } from "node:crypto";
import http from "node:http";
import { type DeliverDeps, deliverBatch, webhookKey } from "#core/delivery/deliver.ts";
import { deliveryIdFor } from "#core/shared/ids.ts";
import { secretOwner } from "#core/signing/signing-secrets.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { BENCH_TENANT, benchPipeline, benchReceiver } from "./local-pipeline.ts";
import { sized } from "./options.ts";
import { median } from "./stats.ts";

const RECORDS = sized(3000, 1000);
const CONCURRENCY = 10;
/** The larger `deliverBatchSize` values measured beside the default 10 (RECORDS is a multiple of each). */
const LARGER_BATCHES = [50, 100] as const;
const RUNS = sized(5, 3);

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export interface OverheadResult {
  /** At the default batch size (10): what the cost model prices. */
  readonly handlerCpuMicrosPerDelivery: number;
  /** At each larger batch size: CPU per delivery, its ratio to the floor, deliveries per second. */
  readonly largerBatches: { batchSize: number; cpu: number; ratio: number; perSecond: number }[];
  /** The deliver core and the guarded sender with in-memory ports: the handler minus the AWS SDK calls. */
  readonly coreCpuMicrosPerDelivery: number;
  readonly coreRatio: number;
  readonly floorCpuMicrosPerDelivery: number;
  readonly ratio: number;
  readonly handlerPerSecond: number;
  readonly floorPerSecond: number;
}

export async function benchOverhead(): Promise<{ markdown: string; result: OverheadResult }> {
  const receiver = await benchReceiver();
  const pipeline = await benchPipeline();
  const [webhookId] = await pipeline.addWebhooks(1, receiver.url, "over.*");
  const secret = (
    await pipeline.roots.deliver.secrets.get(secretOwner(BENCH_TENANT, webhookId as string), [
      (await pipeline.roots.deliver.webhooks.get(BENCH_TENANT, webhookId as string))?.secretVersion ?? "",
    ])
  )[0] as string;
  const handler = createDeliverHandler(pipeline.roots.deliver);
  const body = JSON.stringify({ id: "evt", type: "over.tick", data: { n: 1 } });
  const key = Buffer.from(secret.slice(6), "base64");
  const url = new URL(receiver.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  /** The queue messages of one run, built before its clock starts (the floor builds nothing either). */
  const batchesOf = (prefix: string, batchSize: number, deliveryId: (eventId: string) => string) =>
    Array.from({ length: RECORDS / batchSize }, (_, batch) =>
      Array.from({ length: batchSize }, (_, index) => {
        const eventId = `evt_${prefix}_${batch}_${index}`;
        return {
          messageId: eventId,
          receiptHandle: eventId,
          body: JSON.stringify({
            tenantId: BENCH_TENANT,
            deliveryId: deliveryId(eventId),
            eventId,
            webhookId,
            eventType: "over.tick",
            body,
          }),
        };
      }),
    );
  const handlerRun = async (run: number, batchSize: number, records = RECORDS) => {
    const batches = batchesOf(`over_${batchSize}_${run}`, batchSize, (eventId) =>
      deliveryIdFor(eventId, webhookId as string),
    ).slice(0, records / batchSize);
    const cpu = cpuMicros();
    const started = performance.now();
    for (const Records of batches) await handler({ Records } as never, {} as never);
    return {
      cpu: (cpuMicros() - cpu) / records,
      perSecond: records / ((performance.now() - started) / 1000),
    };
  };
  const floorRun = async () => {
    const cpu = cpuMicros();
    const started = performance.now();
    for (let wave = 0; wave < RECORDS / CONCURRENCY; wave += 1) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, index) => {
          const id = `evt_floor_${wave}_${index}`;
          const timestamp = Math.floor(Date.now() / 1000);
          const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
          return new Promise<void>((resolve, reject) => {
            const request = http.request(url, {
              method: "POST",
              agent,
              headers: {
                "content-type": "application/json",
                "webhook-id": id,
                "webhook-timestamp": String(timestamp),
                "webhook-signature": `v1,${signature}`,
              },
            });
            request.on("response", (response) => {
              response.resume();
              response.on("end", resolve);
            });
            request.on("error", reject);
            request.end(body);
          });
        }),
      );
    }
    return {
      cpu: (cpuMicros() - cpu) / RECORDS,
      perSecond: RECORDS / ((performance.now() - started) / 1000),
    };
  };

  const webhook = await pipeline.roots.deliver.webhooks.require(BENCH_TENANT, webhookId as string);
  const inMemory: DeliverDeps = {
    webhooks: { disable: async () => undefined },
    secrets: { get: async () => [secret] },
    events: { body: async () => undefined },
    ledger: {
      readState: async () => ({
        deliveries: new Map(),
        webhooks: new Map([[webhookKey(webhook.tenantId, webhook.id), webhook]]),
        liveTenants: new Set([BENCH_TENANT]),
      }),
      record: async () => ({ failed: new Set(), superseded: new Set() }),
    },
    queue: {
      retryLater: async () => undefined,
      requeue: async () => undefined,
      deadLetter: async () => new Set(),
    },
    http: pipeline.roots.deliver.http,
    retryPolicy: pipeline.roots.deliver.config.retryPolicy,
    dependencyBackoffSeconds: 1,
    deadLetterAfterReceives: 28,
    now: () => new Date(),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: {
      attempt: () => undefined,
      deadLettered: () => undefined,
      dropped: () => undefined,
      dependencyBackoff: () => undefined,
    },
  };
  const coreRun = async (run: number) => {
    const batches = batchesOf(`core_${run}`, CONCURRENCY, (eventId) => eventId);
    const cpu = cpuMicros();
    const started = performance.now();
    for (const records of batches) await deliverBatch(records, inMemory);
    return {
      cpu: (cpuMicros() - cpu) / RECORDS,
      perSecond: RECORDS / ((performance.now() - started) / 1000),
    };
  };

  const handlerSamples: { cpu: number; perSecond: number }[] = [];
  const largerSamples = LARGER_BATCHES.map(() => [] as { cpu: number; perSecond: number }[]);
  const coreSamples: { cpu: number; perSecond: number }[] = [];
  const floorSamples: { cpu: number; perSecond: number }[] = [];
  // A warm-up round of each, not counted: the first batches build clients, agents, connections and caches.
  await handlerRun(-1, CONCURRENCY, RECORDS / 3);
  for (const batchSize of LARGER_BATCHES) await handlerRun(-1, batchSize, RECORDS / 3);
  await floorRun();
  for (let run = 0; run < RUNS; run += 1) {
    handlerSamples.push(await handlerRun(run, CONCURRENCY));
    for (const [index, batchSize] of LARGER_BATCHES.entries())
      largerSamples[index]?.push(await handlerRun(run, batchSize));
    coreSamples.push(await coreRun(run));
    floorSamples.push(await floorRun());
  }
  const perFloor = (samples: { cpu: number }[]) =>
    median(samples.map((sample, index) => sample.cpu / (floorSamples[index]?.cpu ?? 1)));
  agent.destroy();
  await pipeline.stop();
  await receiver.close();
  const result: OverheadResult = {
    handlerCpuMicrosPerDelivery: median(handlerSamples.map((sample) => sample.cpu)),
    coreCpuMicrosPerDelivery: median(coreSamples.map((sample) => sample.cpu)),
    coreRatio: perFloor(coreSamples),
    floorCpuMicrosPerDelivery: median(floorSamples.map((sample) => sample.cpu)),
    ratio: perFloor(handlerSamples),
    largerBatches: LARGER_BATCHES.map((batchSize, index) => {
      const samples = largerSamples[index] ?? [];
      return {
        batchSize,
        cpu: median(samples.map((sample) => sample.cpu)),
        ratio: perFloor(samples),
        perSecond: median(samples.map((sample) => sample.perSecond)),
      };
    }),
    handlerPerSecond: median(handlerSamples.map((sample) => sample.perSecond)),
    floorPerSecond: median(floorSamples.map((sample) => sample.perSecond)),
  };
  return {
    result,
    markdown: [
      "## Delivery overhead against the floor",
      "",
      `${RECORDS.toLocaleString("en")} records per run and configuration, to a keep-alive receiver on 127.0.0.1: the deliver handler in batches of 10 (the default \`deliverBatchSize\`) and of ${LARGER_BATCHES.join(" and ")} (a batch's POSTs in parallel, as in the Lambda); the floor signs with HMAC-SHA256 and POSTs through a keep-alive \`http.Agent\`, 10 at a time. CPU time of the Node process (user + system), median of ${RUNS} runs after a warm-up run of each, every configuration measured in each round; each ratio is the median of the per-round ratios. Goal: ≤ 1.5×.`,
      "",
      "| | CPU per delivery | × floor | deliveries / s |",
      "| --- | --- | --- | --- |",
      `| deliver handler, batch of 10 (ledger in DynamoDB Local, guarded sender, logs, metrics) | ${result.handlerCpuMicrosPerDelivery.toFixed(0)} µs | **${result.ratio.toFixed(2)}×** | ${result.handlerPerSecond.toFixed(0)} |`,
      ...result.largerBatches.map(
        (larger) =>
          `| deliver handler, batch of ${larger.batchSize} | ${larger.cpu.toFixed(0)} µs | **${larger.ratio.toFixed(2)}×** | ${larger.perSecond.toFixed(0)} |`,
      ),
      `| deliver core + guarded sender, batch of 10, in-memory ports (the handler without its AWS SDK calls) | ${result.coreCpuMicrosPerDelivery.toFixed(0)} µs | ${result.coreRatio.toFixed(2)}× | |`,
      `| floor (HMAC + POST) | ${result.floorCpuMicrosPerDelivery.toFixed(0)} µs | 1.00× | ${result.floorPerSecond.toFixed(0)} |`,
    ].join("\n"),
  };
}
