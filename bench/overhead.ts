/**
 * Delivery overhead against a floor: the deliver handler (ledger in DynamoDB Local, signing, SSRF-guarded POST,
 * metrics, logs) over 10,000 records to a keep-alive receiver on 127.0.0.1, against a floor that only signs with
 * HMAC and POSTs with a keep-alive agent at the same concurrency (10). CPU time of this process per delivery.
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

const RECORDS = sized(10_000, 2000);
const CONCURRENCY = 10;
const RUNS = sized(5, 3);

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export interface OverheadResult {
  readonly handlerCpuMicrosPerDelivery: number;
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

  const handlerRun = async (run: number) => {
    const cpu = cpuMicros();
    const started = performance.now();
    for (let batch = 0; batch < RECORDS / CONCURRENCY; batch += 1) {
      const Records = Array.from({ length: CONCURRENCY }, (_, index) => {
        const eventId = `evt_over_${run}_${batch}_${index}`;
        return {
          messageId: eventId,
          receiptHandle: eventId,
          body: JSON.stringify({
            tenantId: BENCH_TENANT,
            deliveryId: deliveryIdFor(eventId, webhookId as string),
            eventId,
            webhookId,
            eventType: "over.tick",
            body,
          }),
        };
      });
      await handler({ Records } as never, {} as never);
    }
    return {
      cpu: (cpuMicros() - cpu) / RECORDS,
      perSecond: RECORDS / ((performance.now() - started) / 1000),
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
    const cpu = cpuMicros();
    const started = performance.now();
    for (let batch = 0; batch < RECORDS / CONCURRENCY; batch += 1) {
      const records = Array.from({ length: CONCURRENCY }, (_, index) => {
        const eventId = `evt_core_${run}_${batch}_${index}`;
        return {
          messageId: eventId,
          receiptHandle: eventId,
          body: JSON.stringify({
            tenantId: BENCH_TENANT,
            deliveryId: eventId,
            eventId,
            webhookId,
            eventType: "over.tick",
            body,
          }),
        };
      });
      await deliverBatch(records, inMemory);
    }
    return {
      cpu: (cpuMicros() - cpu) / RECORDS,
      perSecond: RECORDS / ((performance.now() - started) / 1000),
    };
  };

  const handlerSamples: { cpu: number; perSecond: number }[] = [];
  const coreSamples: { cpu: number; perSecond: number }[] = [];
  const floorSamples: { cpu: number; perSecond: number }[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    handlerSamples.push(await handlerRun(run));
    coreSamples.push(await coreRun(run));
    floorSamples.push(await floorRun());
  }
  agent.destroy();
  await pipeline.stop();
  await receiver.close();
  const result: OverheadResult = {
    handlerCpuMicrosPerDelivery: median(handlerSamples.map((sample) => sample.cpu)),
    coreCpuMicrosPerDelivery: median(coreSamples.map((sample) => sample.cpu)),
    coreRatio: median(coreSamples.map((sample, index) => sample.cpu / (floorSamples[index]?.cpu ?? 1))),
    floorCpuMicrosPerDelivery: median(floorSamples.map((sample) => sample.cpu)),
    ratio: median(handlerSamples.map((sample, index) => sample.cpu / (floorSamples[index]?.cpu ?? 1))),
    handlerPerSecond: median(handlerSamples.map((sample) => sample.perSecond)),
    floorPerSecond: median(floorSamples.map((sample) => sample.perSecond)),
  };
  return {
    result,
    markdown: [
      "## Delivery overhead against the floor",
      "",
      `${RECORDS.toLocaleString("en")} records per run, batches of ${CONCURRENCY} (POSTs in parallel, as in the Lambda), to a keep-alive receiver on 127.0.0.1; the floor signs with HMAC-SHA256 and POSTs through a keep-alive \`http.Agent\` at the same concurrency. CPU time of the Node process (user + system), median of ${RUNS} runs, measured in the same run. Goal: ≤ 1.5×.`,
      "",
      "| | CPU per delivery | deliveries / s |",
      "| --- | --- | --- |",
      `| deliver handler (ledger in DynamoDB Local, guarded sender, logs, metrics) | ${result.handlerCpuMicrosPerDelivery.toFixed(0)} µs | ${result.handlerPerSecond.toFixed(0)} |`,
      `| deliver core + guarded sender, in-memory ports (the handler without its AWS SDK calls) | ${result.coreCpuMicrosPerDelivery.toFixed(0)} µs | |`,
      `| floor (HMAC + POST) | ${result.floorCpuMicrosPerDelivery.toFixed(0)} µs | ${result.floorPerSecond.toFixed(0)} |`,
      `| **ratio, handler / floor** | **${result.ratio.toFixed(2)}×** | |`,
      `| ratio, core + sender / floor | ${result.coreRatio.toFixed(2)}× | |`,
    ].join("\n"),
  };
}
