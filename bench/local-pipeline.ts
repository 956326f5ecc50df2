/** A pipeline over fresh in-memory engines for the benchmarks: counted SDK clients, real handlers, local poller. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import { type AwsClients, createAwsClients } from "#aws/clients.ts";
import { newWebhookRecord } from "#core/management/webhooks.ts";
import { parseConfig } from "#core/shared/config.ts";
import { secretOwner } from "#core/signing/signing-secrets.ts";

/** The one tenant the benchmarks publish to. */
export const BENCH_TENANT = "bench";

import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { publishDeps } from "#functions/publish/runtime.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalEngines, startEngines } from "#local/engines.ts";
import { createFunctionRoots, type FunctionRoots } from "#local/function-roots.ts";
import { provisionResources } from "#local/provision.ts";
import { createQueuePoller } from "#local/queue-poller.ts";
import { countSdkCalls, type SdkCallCounter } from "#test/support/sdk-call-counter.ts";

export interface BenchPipeline {
  readonly roots: FunctionRoots;
  readonly clients: AwsClients;
  /** The Lambdas' own SDK calls. */
  readonly calls: SdkCallCounter;
  /** What the event source mapping does (receive, delete), counted apart. */
  readonly mappingCalls: SdkCallCounter;
  readonly deps: ReturnType<typeof publishDeps>;
  addWebhooks(count: number, url: string, pattern: string): Promise<string[]>;
  drain(): Promise<void>;
  stop(): Promise<void>;
}

let sharedEngines: LocalEngines | undefined;
export async function engines(): Promise<LocalEngines> {
  sharedEngines ??= await startEngines();
  return sharedEngines;
}
export async function stopEngines(): Promise<void> {
  await sharedEngines?.stop();
  sharedEngines = undefined;
}

let counter = 0;
export async function benchPipeline(environment: Record<string, string> = {}): Promise<BenchPipeline> {
  const { endpoints } = await engines();
  const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoints };
  const clients = createAwsClients(clientConfig);
  const mappingClients = createAwsClients(clientConfig);
  counter += 1;
  const resources = await provisionResources(clients, `bench${counter}`);
  const config = parseConfig({
    AWS_REGION: LOCAL_REGION,
    TABLE_NAME: resources.tableName,
    DELIVERY_QUEUE_URL: resources.deliveryQueueUrl,
    DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
    SECRET_NAME_PREFIX: `serverless-webhooks/bench${counter}/`,
    ALLOW_HTTP_DESTINATIONS: "true",
    ALLOWED_PORTS: "1-65535",
    ALLOW_PRIVATE_DESTINATIONS: "loopback",
    ...environment,
  });
  const calls = countSdkCalls(clients.dynamodb, clients.sqs, clients.secretsManager);
  const mappingCalls = countSdkCalls(mappingClients.sqs);
  const roots = createFunctionRoots(config, {
    clients,
    logger: new Logger({ serviceName: "bench", logLevel: "ERROR" }),
  });
  const runtime = roots.api;
  await runtime.tenants.put(BENCH_TENANT, { name: "Benchmarks" }, new Date().toISOString());
  const deliver = createDeliverHandler(roots.deliver);
  const pollers = Array.from({ length: 4 }, () =>
    createQueuePoller({
      sqs: mappingClients.sqs,
      queueUrl: resources.deliveryQueueUrl,
      queueArn: resources.deliveryQueueArn,
      handler: (event) => deliver(event, {} as never),
    }),
  );
  return {
    roots,
    clients,
    calls,
    mappingCalls,
    deps: publishDeps(roots.publish),
    async addWebhooks(count, url, pattern) {
      const ids: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const id = `wh_bench_${counter}_${index}`;
        const issued = await runtime.secrets.create(secretOwner(BENCH_TENANT, id));
        await runtime.webhooks.create(
          newWebhookRecord(BENCH_TENANT, id, { url, eventTypes: [pattern] }, issued.versionId, new Date()),
        );
        ids.push(id);
      }
      return ids;
    },
    async drain() {
      let idle = 0;
      while (idle < 3) {
        const received = (await Promise.all(pollers.map((poller) => poller.pollOnce(0)))).reduce(
          (sum, n) => sum + n,
          0,
        );
        idle = received === 0 ? idle + 1 : 0;
        if (received === 0) await new Promise((resolve) => setTimeout(resolve, 300));
      }
    },
    async stop() {
      roots.deliver.http.close();
    },
  };
}

/**
 * A keep-alive receiver on 127.0.0.1 answering 204 (or the status `reply` says, with `body` when given), counting
 * requests per webhook-id.
 */
export async function benchReceiver(reply: (id: string, seen: number) => number = () => 204, body?: string) {
  const seen = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const id = String(request.headers["webhook-id"]);
      const count = (seen.get(id) ?? 0) + 1;
      seen.set(id, count);
      response.writeHead(reply(id, count)).end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
