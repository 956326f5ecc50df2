/**
 * Each function's grants are exactly what its code calls. Three runtimes — api, publish, deliver — each with its
 * own recorded SDK clients, run every route and every delivery outcome against the local engines; the calls
 * each one made, turned into IAM actions per resource, must equal `functionAccess` (lib/function-access.ts),
 * from which the stack builds its policies. A grant no code path uses fails this test, and so does a call that
 * no grant covers (it would be AccessDenied on AWS).
 */
import { randomBytes } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "#aws/clients.ts";
import { keys } from "#aws/table-keys.ts";
import { reconcile } from "#core/delivery/reconcile.ts";
import { buildStoredEvent, deliveryMessage, INLINE_BODY_LIMIT_BYTES } from "#core/publishing/publish.ts";
import { type Config, parseConfig, SECRET_STORAGES } from "#core/shared/config.ts";
import { createApiHandler } from "#functions/api/create-handler.ts";
import { createDeliverHandler } from "#functions/deliver/create-handler.ts";
import { createPortalHandler } from "#functions/portal/create-handler.ts";
import { parsePortalConfig } from "#functions/portal/portal-config.ts";
import { createPortalRuntime } from "#functions/portal/runtime.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { reconcileDeps } from "#functions/reconcile/create-handler.ts";
import { EVENT_SOURCE_MAPPING_ACTIONS, type FunctionName, functionAccessFor } from "#lib/function-access.ts";
import { createLocalApi, createLocalPortalApi } from "#local/api-gateway.ts";
import { LOCAL_REGION } from "#local/engines.ts";
import { type EventBridgeSink, startEventBridgeSink } from "#local/eventbridge-sink.ts";
import { createFunctionRoots, type FunctionRoots } from "#local/function-roots.ts";
import { type ProvisionedResources, provisionKeyEncryptionKey } from "#local/provision.ts";
import { createQueuePoller } from "#local/queue-poller.ts";
import { fixture } from "#test/support/fixtures.ts";
import { grantsDeclared, grantsUsed } from "#test/support/iam-actions.ts";
import { isolatedResources, localClients, uniquePrefix } from "#test/support/local-aws.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";
import { countSdkCalls, type SdkCallCounter } from "#test/support/sdk-call-counter.ts";

/** All roots over one function's recorded clients; only that function's root is used with them. */
interface Fn {
  readonly roots: FunctionRoots;
  readonly calls: SdkCallCounter;
  readonly config: Config;
  readonly clients: AwsClients;
  /** This function's own PutEvents endpoint: what it sent there is what it needs `events:PutEvents` for. */
  readonly sink: EventBridgeSink;
}

const OPERATIONAL_EVENT_BUS = "ops-bus";

/** The whole drive, once per secret storage: each storage's calls must match its own declared grants. */
describe.each(SECRET_STORAGES)("secretStorage %s", (secretStorage) => {
  let resources: ProvisionedResources;
  let fns: Record<FunctionName, Fn>;
  let receiver: Receiver;
  const used: Partial<Record<FunctionName, string[]>> = {};
  /** An event published to a tenant that was deleted before its delivery came up. */
  let leavingEvent = { tenant: "", id: "" };
  let portalKeySecretId = "";

  function runtimeFor(clients: AwsClients, secretPrefix: string, sink: EventBridgeSink): Fn {
    const calls = countSdkCalls(clients.dynamodb, clients.sqs, clients.secretsManager);
    const config = parseConfig({
      AWS_REGION: LOCAL_REGION,
      TABLE_NAME: resources.tableName,
      DELIVERY_QUEUE_URL: resources.deliveryQueueUrl,
      DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
      INGEST_DEAD_LETTER_QUEUE_URL: resources.ingestDeadLetterQueueUrl,
      SECRET_NAME_PREFIX: secretPrefix,
      RETRY_SCHEDULE_SECONDS: "1",
      DELIVERY_TIMEOUT_MS: "3000",
      ALLOW_HTTP_DESTINATIONS: "true",
      ALLOWED_PORTS: "1-65535",
      ALLOW_PRIVATE_DESTINATIONS: "loopback",
      DEPENDENCY_BACKOFF_SECONDS: "1",
      SECRET_STORAGE: secretStorage,
      OPERATIONAL_EVENT_BUS: OPERATIONAL_EVENT_BUS,
      AWS_ENDPOINT_URL_EVENTBRIDGE: sink.url,
    });
    const roots = createFunctionRoots(config, {
      clients,
      random: () => 0.5,
      logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
    });
    return { roots, calls, sink, config, clients };
  }

  beforeAll(async () => {
    resources = await isolatedResources(localClients());
    const secretPrefix = `serverless-webhooks/${uniquePrefix()}/`;
    if (secretStorage === "sealed")
      await provisionKeyEncryptionKey(localClients().secretsManager, secretPrefix);
    fns = {
      api: runtimeFor(localClients(), secretPrefix, await startEventBridgeSink()),
      publish: runtimeFor(localClients(), secretPrefix, await startEventBridgeSink()),
      deliver: runtimeFor(localClients(), secretPrefix, await startEventBridgeSink()),
      reconcile: runtimeFor(localClients(), secretPrefix, await startEventBridgeSink()),
      portal: runtimeFor(localClients(), secretPrefix, await startEventBridgeSink()),
    };
    // The portal's key set, created by the deployment (here: by an unrecorded client).
    portalKeySecretId = `serverless-webhooks/${uniquePrefix()}/portal-signing-keys`;
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
    const portal = createPortalHandler(
      createPortalRuntime(fns.portal.config, portalConfig, {
        clients: fns.portal.clients,
        random: () => 0.5,
        logger: new Logger({ serviceName: "test", logLevel: "ERROR" }),
      }),
      portalConfig,
    );
    // /ok answers 200, /fail 500, /gone 410.
    receiver = await startReceiver((request) => ({
      status: request.path.endsWith("/gone") ? 410 : request.path.endsWith("/fail") ? 500 : 200,
    }));

    const api = createApiHandler(fns.api.roots.api);
    const publish = createPublishHandler(fns.publish.roots.publish);
    const deliver = createDeliverHandler(fns.deliver.roots.deliver);
    const localApi = createLocalApi({
      api: (event) => api(event, {} as never),
      publish: (event) => publish(event, {} as never),
      portal: (event) => portal(event, {} as never),
    });
    const portalApi = createLocalPortalApi((event) => portal(event, {} as never), "/portal");
    let portalToken = "";
    const viaPortal = async (method: string, path: string, body?: unknown) => {
      const response = await portalApi({
        method,
        url: `/portal/api${path}`,
        headers: {
          authorization: `Bearer ${portalToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(response.statusCode, `portal ${method} ${path}: ${response.body}`).toBeLessThan(400);
      return response.body === "" ? {} : (JSON.parse(response.body) as Record<string, unknown>);
    };
    const call = async (method: string, url: string, body?: unknown) => {
      const response = await localApi({
        method,
        url,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(400);
      return response.body === "" ? {} : (JSON.parse(response.body) as Record<string, unknown>);
    };
    // The event source mapping is Lambda's, not the function's code: its receives and deletes go through a client
    // nobody records (its three actions are checked against AWS's documented list instead).
    const poller = createQueuePoller({
      sqs: localClients().sqs,
      queueUrl: resources.deliveryQueueUrl,
      queueArn: resources.deliveryQueueArn,
      handler: (event: SQSEvent) => deliver(event, {} as never),
    });
    const drain = async () => {
      const deadline = Date.now() + 20_000;
      let idle = 0;
      while (Date.now() < deadline && idle < 30) {
        idle = (await poller.pollOnce(0)) === 0 ? idle + 1 : 0;
        if (idle > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const base = receiver.url.replace(/\/hooks$/, "");

    // Tenants: create one (and update it, idempotently), list, read it with its webhook count.
    const tenant = "t_iam";
    const at = (path: string, of = tenant) => `/tenants/${of}${path}`;
    await call("PUT", `/tenants/${tenant}`, { name: "IAM", metadata: { plan: "pro" } });
    await call("PUT", `/tenants/${tenant}`, { name: "IAM tenant" });
    await call("GET", "/tenants?limit=10");

    // Management: create three webhooks, list (both ways), read, update (dropping a pattern), rotate, test.
    const ok = await call("POST", at("/webhooks"), {
      url: `${base}/ok`,
      eventTypes: ["order.*", "audit.seen"],
    });
    const failing = await call("POST", at("/webhooks"), { url: `${base}/fail`, eventTypes: ["order.*"] });
    const gone = await call("POST", at("/webhooks"), { url: `${base}/gone`, eventTypes: ["order.*"] });
    await call("GET", `/tenants/${tenant}`);
    await call("GET", at("/webhooks?limit=10"));
    await call("GET", at("/webhooks?event_type=order.completed&active=true"));
    await call("GET", at(`/webhooks/${ok.id}`));
    await call("PATCH", at(`/webhooks/${ok.id}`), { eventTypes: ["order.*"], rateLimitPerSecond: 100 });
    await call("POST", at(`/webhooks/${ok.id}/rotate-secret`), { gracePeriodSeconds: 60 });
    await call("POST", at(`/webhooks/${ok.id}/test`));

    // Publish: through the API (and the same id again), and from EventBridge (through the ingest queue, whose
    // mapping receives and deletes with a client nobody records) with a body too big to travel inline, and one
    // for a tenant that does not exist (kept in the ingest DLQ).
    const published = await call("POST", at("/events"), {
      id: "evt_iam_1",
      type: "order.completed",
      data: { n: 1 },
    });
    await call("POST", at("/events"), { id: "evt_iam_1", type: "order.completed", data: { n: 1 } });
    const large = fixture<Record<string, unknown>>("eventbridge/custom-order-completed.json");
    for (const event of [
      {
        ...large,
        id: "iam-large-1",
        "detail-type": "order.completed",
        detail: { tenantId: tenant, blob: "x".repeat(INLINE_BODY_LIMIT_BYTES + 100) },
      },
      { ...large, id: "iam-unknown-tenant", detail: { tenantId: "t_iam-ghost" } },
    ])
      await localClients().sqs.send(
        new SendMessageCommand({ QueueUrl: resources.ingestQueueUrl, MessageBody: JSON.stringify(event) }),
      );
    const ingest = createQueuePoller({
      sqs: localClients().sqs,
      queueUrl: resources.ingestQueueUrl,
      queueArn: resources.ingestQueueArn,
      handler: (event: SQSEvent) => publish(event, {} as never),
    });
    while ((await ingest.pollOnce(0)) > 0);

    // A repeat of a publish whose first publisher died mid-fan-out (its lease ran out): the repeat takes over.
    const interrupted = { id: "evt_iam_interrupted", type: "order.completed", data: { n: 2 } };
    await fns.api.roots.api.events.createIfAbsent(buildStoredEvent(tenant, interrupted, new Date(), "api"), {
      generation: 0,
      until: new Date(0).toISOString(),
    });
    await call("POST", at("/events"), interrupted);

    // Deliver: 200s, 500 → retry → DLQ, 410 → webhook disabled and DLQ.
    await drain();
    // A delivery held by the rate limit on the queue's last allowed receive is sent again as a new message.
    const slow = await call("POST", at("/webhooks"), {
      url: `${base}/ok`,
      eventTypes: ["slow.*"],
      rateLimitPerSecond: 1,
    });
    await localClients().documents.send(
      new PutCommand({
        TableName: resources.tableName,
        Item: { ...keys.health(tenant, String(slow.id)), rateTat: Date.now() + 600_000 },
      }),
    );
    const held = buildStoredEvent(tenant, { type: "slow.tick", data: {} }, new Date(), "api");
    await deliver(
      {
        Records: [
          {
            messageId: "m-held",
            receiptHandle: "r-held",
            body: JSON.stringify(deliveryMessage(held, String(slow.id))),
            attributes: { ApproximateReceiveCount: String(fns.deliver.config.deadLetterAfterReceives) },
            messageAttributes: {},
            md5OfBody: "",
            eventSource: "aws:sqs",
            eventSourceARN: resources.deliveryQueueArn,
            awsRegion: LOCAL_REGION,
          },
        ],
      } as unknown as SQSEvent,
      {} as never,
    );
    expect(fns.deliver.calls.calls).toContain("SendMessageCommand");

    // Follow-ups: the events, an event, a delivery and its attempts, a webhook's attempts, a retry, the DLQ,
    // recovery, delete.
    await call("GET", at("/events?limit=10"));
    await call("GET", at("/events?type=order.completed"));
    const event = (await call("GET", at(`/events/${published.eventId}`))) as {
      deliveries: { id: string; webhookId: string }[];
    };
    const delivered = event.deliveries.find((delivery) => delivery.webhookId === ok.id);
    await call("GET", at(`/deliveries/${delivered?.id}`));
    await call("GET", at(`/deliveries/${delivered?.id}/attempts`));
    await call("GET", at(`/webhooks/${failing.id}/attempts?status=failed`));
    // The portal: a session minted and revoked (the management API's routes), then every portal route with a
    // fresh token, on this tenant's data.
    await call("POST", at("/portal-sessions"), {});
    await call("POST", at("/portal-sessions/revoke"));
    portalToken = (await call("POST", at("/portal-sessions"), { capabilities: ["endpoints:read"] }))
      .token as string;
    await viaPortal("GET", "/webhooks?limit=10");
    portalToken = (await call("POST", at("/portal-sessions"), {})).token as string;
    const mine = await viaPortal("POST", "/webhooks", { url: `${base}/ok`, eventTypes: ["order.*"] });
    await viaPortal("GET", "/webhooks?event_type=order.completed");
    await viaPortal("GET", `/webhooks/${mine.id}`);
    await viaPortal("PATCH", `/webhooks/${mine.id}`, { description: "from the portal" });
    await viaPortal("POST", `/webhooks/${mine.id}/rotate-secret`, {});
    await viaPortal("POST", `/webhooks/${mine.id}/test`);
    await viaPortal("GET", `/webhooks/${failing.id}/attempts?status=failed`);
    await viaPortal("POST", `/webhooks/${failing.id}/recover`, { since: "2000-01-01T00:00:00Z" });
    await viaPortal("GET", "/events?limit=10");
    await viaPortal("GET", `/events/${published.eventId}`);
    const failed = event.deliveries.find((delivery) => delivery.webhookId === gone.id);
    await viaPortal("GET", `/deliveries/${failed?.id}`);
    await viaPortal("GET", `/deliveries/${failed?.id}/attempts`);
    await viaPortal("POST", `/deliveries/${failed?.id}/retry`);
    await viaPortal("DELETE", `/webhooks/${mine.id}`);
    await call("GET", at(`/webhooks/${failing.id}/deliveries?status=failed`));
    await call("POST", at(`/deliveries/${delivered?.id}/retry`));
    await call("GET", `/dlq?limit=10&tenant_id=${tenant}`);
    await call("POST", "/dlq/redrive", { tenantId: tenant, webhookId: gone.id });
    await call("POST", at(`/webhooks/${failing.id}/recover`), { since: "2000-01-01T00:00:00Z" });
    await call("DELETE", at(`/webhooks/${gone.id}`));

    // A second tenant, deleted with a webhook in it and an event on its way: the delivery ends dropped.
    const leaving = "t_iam-leaving";
    await call("PUT", `/tenants/${leaving}`, { name: "Leaving" });
    await call("POST", at("/webhooks", leaving), { url: `${base}/ok`, eventTypes: ["*"] });
    leavingEvent = {
      tenant: leaving,
      id: (await call("POST", at("/events", leaving), { type: "order.completed", data: {} }))
        .eventId as string,
    };
    await call("DELETE", `/tenants/${leaving}`);
    await drain();

    // Reconcile: a retrying delivery whose message was lost, and a fan-out a repeat was told is under way while
    // its publisher died. Run with no grace, so both are due now.
    const stranded = (
      await call("POST", at("/events"), { id: "evt_iam_stranded", type: "order.completed", data: {} })
    ).eventId as string;
    await poller.pollOnce(0);
    await localClients().sqs.send(new PurgeQueueCommand({ QueueUrl: resources.deliveryQueueUrl }));
    const orphan = buildStoredEvent(
      tenant,
      { id: "evt_iam_orphan", type: "order.completed", data: {} },
      new Date(),
      "api",
    );
    await fns.publish.roots.publish.events.createIfAbsent(orphan, {
      generation: 0,
      until: new Date(0).toISOString(),
    });
    await fns.publish.roots.publish.events.markDue(tenant, orphan.id, new Date(0).toISOString());
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const reconciled = await reconcile({
      ...reconcileDeps(fns.reconcile.roots.reconcile),
      graceSeconds: 0,
    });
    expect(reconciled.deliveriesReenqueued + reconciled.fanOutsResumed, stranded).toBeGreaterThanOrEqual(2);
    await drain();

    for (const name of ["api", "publish", "deliver", "reconcile", "portal"] as const) {
      const putEvents = fns[name].sink.events.map((event) => ({
        name: "PutEventsCommand",
        input: { Entries: [{ EventBusName: event.eventBusName }] },
      }));
      used[name] = grantsUsed([...fns[name].calls.inputs, ...putEvents], {
        ...resources,
        operationalEventBus: OPERATIONAL_EVENT_BUS,
        portalKeySecretId,
      });
    }
  }, 90_000);

  afterAll(async () => {
    await receiver?.close();
    for (const fn of Object.values(fns ?? {})) await fn.sink.close();
    for (const fn of Object.values(fns ?? {})) fn.roots.deliver.http.close();
  });

  describe(`each function's IAM grants match what its code calls (secretStorage: ${secretStorage})`, () => {
    it("drove every outcome: deliveries succeeded, retried, were dead-lettered, disabled a webhook and were dropped with their tenant", async () => {
      const paths = receiver.requests.map((request) => request.path);
      expect(paths.filter((path) => path.endsWith("/fail")).length).toBeGreaterThanOrEqual(2);
      expect(paths.some((path) => path.endsWith("/gone"))).toBe(true);
      expect(paths.some((path) => path.endsWith("/ok"))).toBe(true);
      const { Messages = [] } = await localClients().sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
        }),
      );
      expect(Messages.length).toBeGreaterThan(0);
      const dropped = await fns.deliver.roots.deliver.deliveries.deliveriesOfEvent(
        leavingEvent.tenant,
        leavingEvent.id,
      );
      expect(dropped.items).toMatchObject([{ status: "dropped", reason: "tenant_deleted" }]);
    });

    for (const name of ["api", "publish", "deliver", "reconcile", "portal"] as const) {
      it(`${name}: the calls it made need exactly the declared grants`, () => {
        const mapped = { deliver: "deliveryQueue", publish: "ingestQueue" } as const;
        const queue = name === "deliver" || name === "publish" ? mapped[name] : undefined;
        const exempt = queue
          ? EVENT_SOURCE_MAPPING_ACTIONS.map((action) => ({ resource: queue, action }))
          : [];
        expect(used[name]).toEqual(grantsDeclared(functionAccessFor(secretStorage)[name], exempt));
      });
    }

    it("no function scans, and only the api, the portal and the reconciler (its due index) query an index", () => {
      for (const name of ["api", "publish", "deliver", "reconcile", "portal"] as const) {
        expect(used[name]?.some((grant) => grant.endsWith("dynamodb:Scan"))).toBe(false);
        expect(used[name]?.some((grant) => grant.startsWith("index/"))).toBe(
          name === "api" || name === "reconcile" || name === "portal",
        );
      }
    });

    it(
      secretStorage === "sealed"
        ? "sealed: deletes no Secrets Manager secret (a webhook's secret is items in the table)"
        : "deletes signing secrets with a recovery window, never without",
      () => {
        const deletes = fns.api.calls.inputs.filter((call) => call.name === "DeleteSecretCommand");
        if (secretStorage === "sealed") {
          expect(deletes).toEqual([]);
          return;
        }
        expect(deletes.length).toBeGreaterThan(0);
        for (const { input } of deletes) {
          expect(input.ForceDeleteWithoutRecovery).toBeUndefined();
          expect(input.RecoveryWindowInDays).toBeGreaterThanOrEqual(7);
        }
      },
    );
  });
});
