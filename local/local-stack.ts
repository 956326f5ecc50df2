/**
 * The whole system on one machine: the three engines, the platform's table and queues, the real handlers behind
 * a local API Gateway (HTTP ↔ proxy events), an EventBridge endpoint that puts events in the ingest queue (as a
 * rule's SQS target does), and the event source mappings' pollers feeding the publish handler (ingest queue) and
 * the deliver handler (delivery queue). Only the destination policy differs from AWS: loopback
 * and http:// are allowed, so receivers on this machine can be used.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { createAwsClients } from "#aws/clients.ts";
import { PORTAL_CONTENT_SECURITY_POLICY } from "#core/http/portal-routes.ts";
import { parseConfig } from "#core/shared/config.ts";
import {
  deadLetterQueue,
  deliveryQueue,
  ingestDeadLetterQueue,
  ingestQueue,
  MAX_DELIVER_BATCH_SIZE,
} from "#core/shared/resource-definitions.ts";
import { createApiHandler } from "#functions/api/create-handler.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { createPortalHandler } from "#functions/portal/create-handler.ts";
import { parsePortalConfig } from "#functions/portal/portal-config.ts";
import { createPortalRuntime } from "#functions/portal/runtime.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { runReconciler } from "#functions/reconcile/create-handler.ts";
import { buildPortalPage } from "../portal/build.ts";
import { createLocalApi, createLocalPortalApi } from "./api-gateway.ts";
import { type EngineEndpoints, LOCAL_REGION, localClientConfig, startEngines } from "./engines.ts";
import { startEventBridgeSink } from "./eventbridge-sink.ts";
import { createFunctionRoots } from "./function-roots.ts";
import { DEMO_TENANT_ID, EVENTBRIDGE_PATH } from "./paths.ts";
import { ensurePortalKey } from "./portal-key.ts";
import { provisionKeyEncryptionKey, provisionResources } from "./provision.ts";
import { createQueueJournal } from "./queue-journal.ts";
import { createQueuePoller } from "./queue-poller.ts";

export { DEMO_TENANT_ID, EVENTBRIDGE_PATH };

/** API Gateway's payload quota: a larger body never reaches a function (a batch may take up to 3 MB). */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** Local mode only: the operational events the platform sent, as the local PutEvents endpoint recorded them. */
export const OPERATIONAL_EVENTS_PATH = "/_local/operational-events";

export interface LocalStackOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly host?: string;
  readonly prefix?: string;
  /** Passed through to the runtime configuration (e.g. RETRY_SCHEDULE_SECONDS, POWERTOOLS_LOG_LEVEL). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

export interface LocalStack {
  readonly url: string;
  readonly endpoints: EngineEndpoints;
  readonly tableName: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly ingestQueueUrl: string;
  readonly ingestDeadLetterQueueUrl: string;
  /** The customer portal's page; its API is `<portalUrl>api/…`. */
  readonly portalUrl: string;
  /** Mints a portal session for a tenant (as `POST /tenants/{id}/portal-sessions` does): its magic link. */
  portalLink(
    tenantId: string,
    options?: { expiresInSeconds?: number; capabilities?: string[] },
  ): Promise<string>;
  stop(): Promise<void>;
}

/** What the portal page is served with locally, as the CloudFront response headers policy adds it on AWS. */
export const PORTAL_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": PORTAL_CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

class RequestTooLargeError extends Error {}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new RequestTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** An event as EventBridge puts it in an SQS target, from either that shape or a PutEvents entry. */
function toEventBridgeEvents(payload: unknown): unknown[] {
  const entries = (payload as { Entries?: unknown[] } | null)?.Entries;
  if (!Array.isArray(entries)) return [payload];
  return entries.map((entry) => {
    const { Source, DetailType, Detail, Time, Resources } = entry as Record<string, unknown>;
    return {
      version: "0",
      id: randomUUID(),
      "detail-type": DetailType,
      source: Source,
      account: "000000000000",
      time: typeof Time === "string" ? Time : new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: LOCAL_REGION,
      resources: Array.isArray(Resources) ? Resources : [],
      detail: typeof Detail === "string" ? (JSON.parse(Detail) as unknown) : Detail,
    };
  });
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const engines = await startEngines({ dataDir: options.dataDir });
  const cleanup: (() => Promise<void>)[] = [() => engines.stop()];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    // Operational events go through the real SDK to a local PutEvents endpoint, which records them.
    const operationalEvents = await startEventBridgeSink();
    cleanup.push(() => operationalEvents.close());
    const clients = createAwsClients(localClientConfig(engines.endpoints));
    const prefix = options.prefix ?? "local";
    const resources = await provisionResources(clients, prefix);
    const journal = createQueueJournal({
      server: engines.sqs,
      file: join(options.dataDir, "queues.json"),
      queueNames: [deliveryQueue, deadLetterQueue, ingestQueue, ingestDeadLetterQueue].map(
        (queue) => `${prefix}-${queue.logicalName}`,
      ),
    });
    const restored = await journal.restore();
    journal.start();
    cleanup.push(() => journal.stop());
    const config = parseConfig({
      ...options.environment,
      AWS_REGION: LOCAL_REGION,
      TABLE_NAME: resources.tableName,
      DELIVERY_QUEUE_URL: resources.deliveryQueueUrl,
      DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
      SECRET_NAME_PREFIX: `serverless-webhooks/${options.prefix ?? "local"}/`,
      ALLOW_HTTP_DESTINATIONS: "true",
      ALLOWED_PORTS: "1-65535",
      ALLOW_PRIVATE_DESTINATIONS: "loopback",
      INGEST_DEAD_LETTER_QUEUE_URL: resources.ingestDeadLetterQueueUrl,
      OPERATIONAL_EVENT_BUS: options.environment?.OPERATIONAL_EVENT_BUS ?? "default",
      AWS_ENDPOINT_URL_EVENTBRIDGE: operationalEvents.url,
      // AWS services' events name no tenant: locally they go to the demo tenant unless told otherwise.
      DEFAULT_TENANT_ID: options.environment?.DEFAULT_TENANT_ID ?? DEMO_TENANT_ID,
    });
    const level = options.environment?.POWERTOOLS_LOG_LEVEL?.toUpperCase();
    const logLevel =
      level === "DEBUG" || level === "WARN" || level === "ERROR" || level === "SILENT" ? level : "INFO";
    const logger = new Logger({ serviceName: "serverless-webhooks", logLevel });
    if (config.secretStorage === "sealed")
      await provisionKeyEncryptionKey(clients.secretsManager, config.secretNamePrefix);
    const roots = createFunctionRoots(config, { clients, logger });
    cleanup.push(async () => roots.deliver.http.close());
    const demo = await roots.api.tenants.get(DEMO_TENANT_ID);
    if (!demo || demo.deleting)
      await roots.api.tenants.put(DEMO_TENANT_ID, { name: "Demo" }, roots.api.now().toISOString());
    if (Object.values(restored).some((count) => count > 0))
      logger.info("queues restored from the journal", { restored });
    const publish = createPublishHandler(roots.publish);
    const api = createApiHandler(roots.api);
    const deliver = createDeliverHandler(roots.deliver);
    // The portal needs its own address (a session's link), known once the server listens: bound then.
    let portal: ReturnType<typeof createPortalHandler> | undefined;
    const invokePortal = async (event: Parameters<ReturnType<typeof createPortalHandler>>[0]) => {
      if (!portal) throw new Error("the portal is not ready");
      return portal(event, {} as never);
    };
    const localApi = createLocalApi({
      api: (event) => api(event, {} as never),
      publish: (event) => publish(event, {} as never),
      portal: invokePortal,
    });
    const portalApi = createLocalPortalApi(invokePortal, "/portal");
    const portalPage = buildPortalPage();
    const portalKeySecret = await ensurePortalKey(
      clients.secretsManager,
      `serverless-webhooks/${prefix}/portal-signing-keys`,
    );

    // Like the event source mapping's concurrency: several batches in flight at once.
    const pollerCount = Math.max(1, Math.min(32, Number(options.environment?.SW_POLLERS ?? 2) || 2));
    // The stack's deliverBatchSize and batchingWindowSeconds (docs/scale.md), to try a larger batch locally.
    const deliverBatchSize = Math.max(
      1,
      Math.min(MAX_DELIVER_BATCH_SIZE, Number(options.environment?.SW_DELIVER_BATCH_SIZE ?? 10) || 10),
    );
    const pollers = Array.from({ length: pollerCount }, () =>
      createQueuePoller({
        sqs: clients.sqs,
        queueUrl: resources.deliveryQueueUrl,
        queueArn: resources.deliveryQueueArn,
        handler: (event) => deliver(event, {} as never),
        batchSize: deliverBatchSize,
        batchingWindowSeconds: Number(options.environment?.SW_BATCHING_WINDOW_SECONDS ?? 0) || 0,
        onError: (error) =>
          logger.error("delivery poller", { error: error instanceof Error ? error.message : String(error) }),
      }),
    );
    // The ingest queue's mapping: EventBridge events to the publish handler, in batches of up to ten.
    const ingestPoller = createQueuePoller({
      sqs: clients.sqs,
      queueUrl: resources.ingestQueueUrl,
      queueArn: resources.ingestQueueArn,
      handler: (event) => publish(event, {} as never),
      onError: (error) =>
        logger.error("ingest poller", { error: error instanceof Error ? error.message : String(error) }),
    });
    for (const poller of [...pollers, ingestPoller]) poller.start();
    cleanup.push(async () => {
      await Promise.all([...pollers, ingestPoller].map((poller) => poller.stop()));
    });

    // As the deployed schedule does: at start (work a kill stranded), then every minute.
    const reconcileNow = () =>
      runReconciler(roots.reconcile).catch((error: unknown) =>
        logger.error("reconciler", { error: error instanceof Error ? error.message : String(error) }),
      );
    await reconcileNow();
    const reconcileEveryMs = Math.max(
      1000,
      Number(options.environment?.SW_RECONCILE_INTERVAL_MS ?? 60_000) || 60_000,
    );
    const reconcileTimer = setInterval(() => void reconcileNow(), reconcileEveryMs);
    reconcileTimer.unref();
    cleanup.push(async () => clearInterval(reconcileTimer));

    type Answer = { status: number; body: string | Buffer; headers?: Record<string, string> };
    /** The page at `/portal/`, its API at `/portal/api/…` (CloudFront's two behaviours on AWS); else undefined. */
    const servePortal = async (
      method: string,
      url: string,
      headers: Record<string, string>,
      body: string,
    ): Promise<Answer | undefined> => {
      const path = url.split("?")[0] ?? "/";
      if (path === "/portal") return { status: 308, body: "", headers: { location: "/portal/" } };
      if (path.startsWith("/portal/api/")) {
        const answer = await portalApi({ method, url, headers, body });
        return { status: answer.statusCode, body: answer.body, headers: answer.headers };
      }
      if (!path.startsWith("/portal/")) return undefined;
      const file = portalPage.get(path === "/portal/" ? "index.html" : path.slice("/portal/".length));
      if (!file || (method !== "GET" && method !== "HEAD")) return problem(404, "Not found");
      return {
        status: 200,
        body: file.body,
        headers: { "content-type": file.contentType, "cache-control": "no-cache", ...PORTAL_PAGE_HEADERS },
      };
    };
    const handle = async (request: IncomingMessage): Promise<Answer> => {
      const body = await readBody(request);
      const url = request.url ?? "/";
      if (request.method === "POST" && url === EVENTBRIDGE_PATH) {
        const events = toEventBridgeEvents(JSON.parse(body));
        // As a rule's SQS target: each event, whole, as one message of the ingest queue.
        await Promise.all(
          events.map((event) =>
            clients.sqs.send(
              new SendMessageCommand({
                QueueUrl: resources.ingestQueueUrl,
                MessageBody: JSON.stringify(event),
              }),
            ),
          ),
        );
        const ids = events.map((event) => ({ EventId: (event as { id?: string }).id }));
        return { status: 200, body: JSON.stringify({ FailedEntryCount: 0, Entries: ids }) };
      }
      if (request.method === "GET" && url.split("?")[0] === OPERATIONAL_EVENTS_PATH)
        return { status: 200, body: JSON.stringify({ data: operationalEvents.events }) };
      const headers = Object.fromEntries(
        Object.entries(request.headers).flatMap(([name, value]) =>
          typeof value === "string" ? [[name, value]] : [],
        ),
      );
      const portalAnswer = await servePortal(request.method ?? "GET", url, headers, body);
      if (portalAnswer) return portalAnswer;
      const answer = await localApi({ method: request.method ?? "GET", url, headers, body });
      return { status: answer.statusCode, body: answer.body, headers: answer.headers };
    };
    const problem = (status: number, title: string): Answer => ({
      status,
      body: JSON.stringify({ type: "about:blank", status, title }),
    });
    const server: Server = createServer((request, response) => {
      void handle(request)
        .catch((error: unknown) => {
          if (error instanceof RequestTooLargeError) return problem(413, "Payload too large");
          if (error instanceof SyntaxError) return problem(400, "Invalid request: not valid JSON");
          logger.error("local request failed", {
            error: error instanceof Error ? error.message : String(error),
          });
          return problem(500, "Internal error");
        })
        .then((answer) => {
          response.writeHead(answer.status, answer.headers ?? { "content-type": "application/json" });
          response.end(answer.body);
        });
    });
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, host, () => resolve());
    });
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as AddressInfo;
    const portalUrl = `http://${host}:${port}/portal/`;
    const portalConfig = parsePortalConfig({
      ...options.environment,
      PORTAL_KEY_SECRET_ID: portalKeySecret,
      PORTAL_URL: portalUrl,
    });
    portal = createPortalHandler(
      createPortalRuntime(config, portalConfig, { clients, logger }),
      portalConfig,
    );
    const portalLink = async (tenantId: string, session: object = {}) => {
      const answer = await localApi({
        method: "POST",
        url: `/tenants/${encodeURIComponent(tenantId)}/portal-sessions`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(session),
      });
      if (answer.statusCode !== 201) throw new Error(`portal session: ${answer.statusCode} ${answer.body}`);
      return (JSON.parse(answer.body) as { url: string }).url;
    };
    return {
      url: `http://${host}:${port}`,
      endpoints: engines.endpoints,
      tableName: resources.tableName,
      deliveryQueueUrl: resources.deliveryQueueUrl,
      deadLetterQueueUrl: resources.deadLetterQueueUrl,
      ingestQueueUrl: resources.ingestQueueUrl,
      ingestDeadLetterQueueUrl: resources.ingestDeadLetterQueueUrl,
      portalUrl,
      portalLink,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
