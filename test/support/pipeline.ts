/**
 * The publish → queue → deliver pipeline over the real local engines: the real handlers, a private table and
 * queues, and the local event-source-mapping pollers (EventBridge events go through the real ingest queue to the
 * publish handler, deliveries through the delivery queue to the deliver handler). Loopback destinations are
 * allowed only when a test asks.
 */
import { randomBytes } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { RootOptions } from "#aws/runtime.ts";
import { newWebhookRecord, type WebhookDraft } from "#core/management/webhooks.ts";
import { parseConfig } from "#core/shared/config.ts";
import { newWebhookId } from "#core/shared/ids.ts";
import { secretOwner } from "#core/signing/signing-secrets.ts";
import { createApiHandler } from "#functions/api/create-handler.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import type { DeliverRootOptions } from "#functions/deliver/runtime.ts";
import { createDeliverRuntime, type DeliverRuntime } from "#functions/deliver/runtime.ts";
import { createPortalHandler } from "#functions/portal/create-handler.ts";
import { type PortalConfig, parsePortalConfig } from "#functions/portal/portal-config.ts";
import { createPortalRuntime } from "#functions/portal/runtime.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { createPublishRuntime, type PublishRuntime } from "#functions/publish/runtime.ts";
import { createLocalApi } from "#local/api-gateway.ts";
import { LOCAL_REGION } from "#local/engines.ts";
import { startEventBridgeSink } from "#local/eventbridge-sink.ts";
import { createFunctionRoots } from "#local/function-roots.ts";
import { provisionKeyEncryptionKey } from "#local/provision.ts";
import { createQueuePoller, type SqsHandler } from "#local/queue-poller.ts";
import { assertMatchesContract } from "./contract.ts";
import { apiEvent } from "./fixtures.ts";
import { isolatedResources, localClients, uniquePrefix } from "./local-aws.ts";
import { countSdkCalls, type SdkCallCounter } from "./sdk-call-counter.ts";

export interface PipelineOptions {
  readonly schedule?: string;
  readonly allowPrivate?: "none" | "loopback";
  /** Production destination rules: https only, port 443, no private addresses. */
  readonly strictDestinations?: boolean;
  readonly timeoutMs?: number;
  readonly runtime?: Partial<RootOptions & DeliverRootOptions>;
  /** More configuration (e.g. DEFAULT_TENANT_ID, MAX_WEBHOOKS_PER_TENANT). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Wraps the deliver handler (to inject crashes). */
  readonly wrapDeliver?: (handler: SqsHandler) => SqsHandler;
  /** Operational events go through the SDK to a local PutEvents endpoint, which records them. */
  readonly operationalEvents?: boolean;
}

export async function startPipeline(options: PipelineOptions = {}) {
  const sink = options.operationalEvents ? await startEventBridgeSink() : undefined;
  const clients = localClients();
  const calls: SdkCallCounter = countSdkCalls(clients.dynamodb, clients.sqs, clients.secretsManager);
  const resources = await isolatedResources(clients);
  const config = parseConfig({
    AWS_REGION: LOCAL_REGION,
    TABLE_NAME: resources.tableName,
    DELIVERY_QUEUE_URL: resources.deliveryQueueUrl,
    DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
    SECRET_NAME_PREFIX: `serverless-webhooks/${uniquePrefix()}/`,
    RETRY_SCHEDULE_SECONDS: options.schedule ?? "1,2,3",
    DELIVERY_TIMEOUT_MS: String(options.timeoutMs ?? 5000),
    ALLOW_HTTP_DESTINATIONS: options.strictDestinations ? "false" : "true",
    ALLOWED_PORTS: options.strictDestinations ? "443" : "1-65535",
    ALLOW_PRIVATE_DESTINATIONS: options.strictDestinations ? "none" : (options.allowPrivate ?? "loopback"),
    DEPENDENCY_BACKOFF_SECONDS: "1",
    INGEST_DEAD_LETTER_QUEUE_URL: resources.ingestDeadLetterQueueUrl,
    ...(sink ? { OPERATIONAL_EVENT_BUS: "default", AWS_ENDPOINT_URL_EVENTBRIDGE: sink.url } : {}),
    ...options.environment,
  });
  if (config.secretStorage === "sealed")
    await provisionKeyEncryptionKey(clients.secretsManager, config.secretNamePrefix);
  const workers: DeliverRuntime[] = [];
  const roots = createFunctionRoots(config, {
    clients,
    random: () => 0.5,
    logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
    ...options.runtime,
  });
  /** The api function's root: the table's repositories, the queue and the secret store, for tests to look at. */
  const runtime = roots.api;
  const publishHandler = createPublishHandler(roots.publish);
  const apiHandler = createApiHandler(roots.api);
  // The portal function serves the management API's session routes; its key set lives in the emulator.
  const portalKeySecretId = `serverless-webhooks/${uniquePrefix()}/portal-signing-keys`;
  // Through a client nobody counts: the deployment creates this secret, not a function.
  await localClients().secretsManager.send(
    new CreateSecretCommand({
      Name: portalKeySecretId,
      SecretString: JSON.stringify({ current: "k1", k1: randomBytes(32).toString("base64url") }),
    }),
  );
  const portalConfig = parsePortalConfig({
    PORTAL_KEY_SECRET_ID: portalKeySecretId,
    PORTAL_URL: "https://portal.example.test/",
  });
  /** The portal function's root over this pipeline's clients and configuration. */
  const portalRuntime = (portal: Pick<PortalConfig, "keySecretId">) =>
    createPortalRuntime(config, portal, {
      clients,
      random: () => 0.5,
      logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
      ...options.runtime,
    });
  const portalHandler = createPortalHandler(portalRuntime(portalConfig), portalConfig);
  const targets = {
    api: (event: APIGatewayProxyEvent) => apiHandler(event, {} as never),
    publish: (event: APIGatewayProxyEvent) => publishHandler(event, {} as never),
    portal: (event: APIGatewayProxyEvent) => portalHandler(event, {} as never),
  };
  // As deployed: API Gateway's request models first. And without them, to test the Lambda's own validation.
  const localApi = createLocalApi(targets);
  const lambdaOnlyApi = createLocalApi(targets, { validateBodies: false });
  const baseDeliver: SqsHandler = (event: SQSEvent) =>
    createDeliverHandler(roots.deliver)(event, {} as never);
  const deliver = options.wrapDeliver ? options.wrapDeliver(baseDeliver) : baseDeliver;
  const poller = createQueuePoller({
    sqs: clients.sqs,
    queueUrl: resources.deliveryQueueUrl,
    queueArn: resources.deliveryQueueArn,
    handler: deliver,
  });
  /** The ingest queue's mapping: the publish handler on batches of up to ten EventBridge events. */
  const ingestPollerFor = (
    handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
    sqs = clients.sqs,
    poll: { batchSize?: number; visibilityTimeoutSeconds?: number } = {},
  ) => {
    const responses: SQSBatchResponse[] = [];
    const batchSizes: number[] = [];
    const ingestPoller = createQueuePoller({
      sqs,
      queueUrl: resources.ingestQueueUrl,
      queueArn: resources.ingestQueueArn,
      ...poll,
      handler: async (event) => {
        batchSizes.push(event.Records.length);
        const response = await handler(event);
        responses.push(response);
        return response;
      },
    });
    return { ...ingestPoller, responses, batchSizes };
  };
  const ingestPoller = ingestPollerFor((event) => publishHandler(event, {} as never));
  /**
   * Puts each EventBridge event, whole, in the ingest queue, as a rule's SQS target does (a string as is); answers
   * their message ids, in order.
   */
  const sendToIngestQueue = async (...events: unknown[]) => {
    const ids: string[] = [];
    for (const event of events) {
      const sent = await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: resources.ingestQueueUrl,
          MessageBody: typeof event === "string" ? event : JSON.stringify(event),
        }),
      );
      ids.push(sent.MessageId ?? "");
    }
    return ids;
  };
  /** Runs the publish handler on the ingest queue's batches until none is left visible; what the batches answered. */
  const runIngest = async (): Promise<SQSBatchResponse> => {
    const from = ingestPoller.responses.length;
    while ((await ingestPoller.pollOnce(0)) > 0);
    return {
      batchItemFailures: ingestPoller.responses.slice(from).flatMap((response) => response.batchItemFailures),
    };
  };

  const request = async (
    api: ReturnType<typeof createLocalApi>,
    method: string,
    url: string,
    body: unknown,
    headers: Record<string, string>,
  ) => {
    const response = await api({
      method,
      url,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    // Every response any integration test sees must be one the OpenAPI document describes.
    assertMatchesContract(method, url, response);
    const json =
      response.body === ""
        ? undefined
        : (JSON.parse(response.body) as Record<string, unknown> & { data?: Record<string, unknown>[] });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      json: json ?? {},
    };
  };

  const queueDepth = async (queueUrl: string) => {
    const { Attributes = {} } = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  };

  /** Every pipeline starts with one tenant; tests that need more create them through the API. */
  const tenantId = "t_test";
  await runtime.tenants.put(tenantId, { name: "Test tenant" }, runtime.now().toISOString());
  /** A path under the default tenant: `/webhooks` → `/tenants/t_test/webhooks`. */
  const under = (path: string, tenant = tenantId) => `/tenants/${tenant}${path}`;

  return {
    /** Each function's handler as API Gateway invokes it, keyed by route target. */
    targets,
    clients,
    calls,
    resources,
    config,
    runtime,
    roots,
    portalRuntime,
    tenantId,
    under,
    async createWebhook(draft: WebhookDraft, tenant = tenantId) {
      const id = newWebhookId();
      const issued = await runtime.secrets.create(secretOwner(tenant, id));
      const webhook = newWebhookRecord(tenant, id, draft, issued.versionId, runtime.now());
      await runtime.webhooks.create(webhook);
      return { webhook, secret: issued.secret };
    },
    async publishApi(body: unknown, tenant = tenantId) {
      const path = `/tenants/${tenant}/events`;
      const event = apiEvent("POST", path, body, {
        resource: "/tenants/{tenantId}/events",
        pathParameters: { tenantId: tenant },
      });
      const response = (await publishHandler(event as APIGatewayProxyEvent, {} as never)) as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };
      return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
    },
    /**
     * Publishes EventBridge events the deployed way: into the ingest queue, then the publish handler on what it
     * receives from there. Answers the batches' `batchItemFailures` (empty when every record was taken).
     */
    async publishEventBridge(...events: unknown[]): Promise<SQSBatchResponse> {
      await sendToIngestQueue(...events);
      return runIngest();
    },
    sendToIngestQueue,
    runIngest,
    ingestPoller,
    /**
     * Another publish "container" taking the ingest queue: its own root and SDK clients (counted in `calls`),
     * optionally with ports replaced (to inject failures), and receive options (a short visibility timeout).
     */
    ingestWorker(
      adapt: (root: PublishRuntime) => PublishRuntime = (root) => root,
      poll: { batchSize?: number; visibilityTimeoutSeconds?: number } = {},
    ) {
      const own = localClients();
      calls.track(own.dynamodb, own.sqs, own.secretsManager);
      const worker = adapt(
        createPublishRuntime(config, {
          clients: own,
          random: () => 0.5,
          logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
          ...options.runtime,
        }),
      );
      const handler = createPublishHandler(worker);
      return ingestPollerFor((event) => handler(event, {} as never), own.sqs, poll);
    },
    /** A request through the local API Gateway shim (request models included) to the real handlers. */
    api: (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(localApi, method, url, body, headers),
    /** The same, minus the gateway's body validation: what the Lambda answers to bodies the gateway would stop. */
    /** The local PutEvents endpoint's record (with `operationalEvents: true`). */
    operationalEvents: sink,
    /**
     * Another deliver "container": its own root, SDK clients and caches, polling the same queue. Its SDK calls are
     * counted in `calls` too.
     */
    deliverWorker() {
      const own = localClients();
      calls.track(own.dynamodb, own.sqs, own.secretsManager);
      const worker = createDeliverRuntime(config, {
        clients: own,
        random: () => 0.5,
        logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
        ...options.runtime,
      });
      const handler = createDeliverHandler(worker);
      workers.push(worker);
      return createQueuePoller({
        sqs: own.sqs,
        queueUrl: resources.deliveryQueueUrl,
        queueArn: resources.deliveryQueueArn,
        handler: (event: SQSEvent) => handler(event, {} as never),
      });
    },
    lambdaApi: (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(lambdaOnlyApi, method, url, body, headers),
    poller,
    /** Polls until the delivery queue is empty, waiting out visibility delays; throws after `timeoutMs`. */
    async drain(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const received = await poller.pollOnce(0);
        if (received === 0) {
          if ((await queueDepth(resources.deliveryQueueUrl)) === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      throw new Error("the delivery queue did not drain in time");
    },
    async deadLetters() {
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 0,
          MessageAttributeNames: ["All"],
        }),
      );
      return Messages.map((message) => ({
        body: JSON.parse(message.Body ?? "{}") as Record<string, unknown>,
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
        ),
      }));
    },
    queueDepth,
    async close() {
      roots.deliver.http.close();
      for (const worker of workers) worker.http.close();
      await sink?.close();
    },
  };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

/** Takes every message out of the ingest DLQ: its body (as text) and its message attributes. */
export async function takeIngestLetters(pipeline: Pipeline) {
  const letters: { body: string; attributes: Record<string, string | undefined> }[] = [];
  for (;;) {
    const { Messages = [] } = await pipeline.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.resources.ingestDeadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return letters;
    for (const message of Messages) {
      letters.push({
        body: message.Body ?? "",
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
        ),
      });
      await pipeline.clients.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: pipeline.resources.ingestDeadLetterQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
  }
}
