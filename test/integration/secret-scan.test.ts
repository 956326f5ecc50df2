/**
 * Secrets stay secret, checked everywhere at once: after a realistic run (tenants created, updated and deleted,
 * webhooks created and rotated, events published through the API and EventBridge, deliveries that succeed, fail,
 * retry, time out, hit a 410 and end in the DLQ, then retried, recovered and redriven), no signing secret — the
 * `whsec_…` string, its key part, the key in another encoding, or any 16-character piece of it — appears in any
 * DynamoDB item, any message (body or attribute) in the delivery queue or the DLQ, any API response other than
 * the one-time reveals on create and rotate, any request a receiver got, or any line the handlers logged.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { type AttributeValue, ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReconcileHandler } from "#functions/reconcile/create-handler.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { fixture } from "#test/support/fixtures.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

/** Something that was written somewhere, and where. */
interface Haystack {
  readonly where: string;
  readonly text: string;
}

/** Every form in which a secret could leak: whole, its key, the key re-encoded, and every 16-character piece. */
function needlesOf(secret: string): { name: string; value: string }[] {
  const key = secret.slice("whsec_".length);
  const bytes = Buffer.from(key, "base64");
  const needles = [
    { name: "secret", value: secret },
    { name: "key", value: key },
    { name: "key as base64url", value: bytes.toString("base64url") },
    { name: "key as hex", value: bytes.toString("hex") },
    { name: "secret URL-encoded", value: encodeURIComponent(secret) },
  ];
  for (let start = 0; start + 16 <= key.length; start += 1)
    needles.push({ name: `key[${start}..${start + 16}]`, value: key.slice(start, start + 16) });
  return needles;
}

/** A DynamoDB item as text, binary attributes included both as base64 and as UTF-8. */
function itemText(item: Record<string, AttributeValue>): string {
  return JSON.stringify(item, (_key, value: unknown) =>
    value instanceof Uint8Array
      ? `${Buffer.from(value).toString("base64")} ${Buffer.from(value).toString("utf8")}`
      : value,
  );
}

function messageText(message: Message): string {
  return JSON.stringify(message, (_key, value: unknown) =>
    value instanceof Uint8Array
      ? `${Buffer.from(value).toString("base64")} ${Buffer.from(value).toString("utf8")}`
      : value,
  );
}

describe("a realistic run, scanned for secrets everywhere", () => {
  let pipeline: Pipeline;
  const receivers = {} as Record<"flaky" | "down" | "gone" | "slow" | "healthy", Receiver>;
  /** Every secret ever issued (create and rotate responses). */
  const secrets: string[] = [];
  /** Responses that are not one-time reveals, and the headers of the reveals. */
  const responses: Haystack[] = [];
  const sources = { items: [] as Haystack[], delivery: [] as Haystack[], dlq: [] as Haystack[] };
  let output = "";
  const previousMetrics = process.env.POWERTOOLS_METRICS_DISABLED;

  /** Every message a queue holds now, received with all attributes and hidden until the test ends. */
  async function drainForScan(queueUrl: string, label: string): Promise<Haystack[]> {
    const found: Haystack[] = [];
    for (;;) {
      const { Messages = [] } = await pipeline.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 300,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) return found;
      found.push(
        ...Messages.map((message) => ({
          where: `${label} ${message.MessageId}`,
          text: messageText(message),
        })),
      );
    }
  }

  async function scanTable(): Promise<Haystack[]> {
    const found: Haystack[] = [];
    let start: ScanCommandOutput["LastEvaluatedKey"];
    do {
      const page = await pipeline.clients.dynamodb.send(
        new ScanCommand({
          TableName: pipeline.resources.tableName,
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? [])
        found.push({ where: `item ${item.pk?.S} / ${item.sk?.S}`, text: itemText(item) });
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    pipeline = await startPipeline({
      schedule: "1,1",
      timeoutMs: 1000,
      runtime: { logger: new Logger({ serviceName: "serverless-webhooks", logLevel: "DEBUG" }) },
    });
    const reconcile = createReconcileHandler(pipeline.roots.reconcile);
    const firstAttemptFails = (request: { headers: Record<string, unknown> }) =>
      request.headers["x-webhook-attempt"] === "1";
    receivers.flaky = await startReceiver((request) =>
      firstAttemptFails(request) ? { status: 500, body: "try again" } : { status: 200, body: "ok" },
    );
    receivers.down = await startReceiver(() => ({ status: 503, headers: { "retry-after": "1" } }));
    receivers.gone = await startReceiver(() => ({ status: 410 }));
    receivers.slow = await startReceiver((request) =>
      firstAttemptFails(request) ? { delayMs: 1500 } : { reset: true },
    );
    receivers.healthy = await startReceiver(() => ({ status: 204 }));

    ({ output } = await captureOutput(async () => {
      const call = async (method: string, url: string, body?: unknown, reveals = false) => {
        const response = await pipeline.api(method, url, body);
        const where = `${method} ${url} → ${response.status}`;
        if (reveals && response.status < 300) {
          secrets.push(response.json.secret as string);
          responses.push({ where: `${where} (headers)`, text: JSON.stringify(response.headers) });
        } else {
          responses.push({ where, text: `${JSON.stringify(response.headers)}\n${response.body}` });
        }
        return response;
      };
      const create = async (receiver: Receiver, body: Record<string, unknown>) => {
        const created = await call("POST", pipeline.under("/webhooks"), { url: receiver.url, ...body }, true);
        expect(created.status, created.body).toBe(201);
        return created.json.id as string;
      };
      const ids = {
        flaky: await create(receivers.flaky, {
          eventTypes: ["order.*", "invoice.paid"],
          signatureScheme: "standard+github",
          headers: { "X-Tenant": "acme" },
        }),
        down: await create(receivers.down, { eventTypes: ["order.*"] }),
        gone: await create(receivers.gone, { eventTypes: ["invoice.*"] }),
        slow: await create(receivers.slow, { eventTypes: ["invoice.paid"], maxAttempts: 2 }),
        healthy: await create(receivers.healthy, { eventTypes: ["*"], signatureScheme: "standard+github" }),
      };
      // Rotations: one with a grace window (two signatures on its deliveries), then another within it (the
      // oldest drops out), one without grace.
      await call(
        "POST",
        pipeline.under(`/webhooks/${ids.flaky}/rotate-secret`),
        { gracePeriodSeconds: 600 },
        true,
      );
      await call(
        "POST",
        pipeline.under(`/webhooks/${ids.healthy}/rotate-secret`),
        { gracePeriodSeconds: 600 },
        true,
      );
      await call(
        "POST",
        pipeline.under(`/webhooks/${ids.healthy}/rotate-secret`),
        { gracePeriodSeconds: 600 },
        true,
      );
      await call(
        "POST",
        pipeline.under(`/webhooks/${ids.down}/rotate-secret`),
        { gracePeriodSeconds: 0 },
        true,
      );
      // Refused requests, which must not echo anything either.
      await call("POST", pipeline.under("/webhooks"), {
        url: "ftp://x",
        eventTypes: ["a"],
        secret: secrets[0],
      });
      await call(
        "POST",
        pipeline.under(`/webhooks/${ids.flaky}/rotate-secret`),
        { gracePeriodSeconds: -1 },
        true,
      );
      await call("PATCH", pipeline.under(`/webhooks/${ids.flaky}`), { headers: { Authorization: "x" } });

      const published: string[] = [];
      for (const [type, data] of [
        ["order.created", { orderId: "ord_1", total: 1200 }],
        ["invoice.paid", { invoiceId: "inv_1" }],
        ["order.cancelled", { orderId: "ord_2", nested: { reason: ["customer", { code: 7 }] } }],
      ] as const) {
        const response = await pipeline.publishApi({ type, data });
        responses.push({
          where: `POST /events → ${response.statusCode}`,
          text: `${JSON.stringify(response.headers)}\n${response.body}`,
        });
        published.push(response.json.eventId as string);
      }
      const fromEventBridge = fixture<{ detail: Record<string, unknown> }>(
        "eventbridge/custom-order-completed.json",
      );
      await pipeline.publishEventBridge({
        ...fromEventBridge,
        detail: { ...fromEventBridge.detail, tenantId: pipeline.tenantId },
      });
      await call("POST", pipeline.under(`/webhooks/${ids.flaky}/test`));
      await pipeline.drain(30_000);
      await reconcile({}, {} as never);

      // Everything the API shows about what happened.
      await call("GET", "/tenants");
      await call("GET", `/tenants/${pipeline.tenantId}`);
      await call("GET", pipeline.under("/events"));
      await call("GET", pipeline.under("/events?type=order.created"));
      await call("GET", pipeline.under("/webhooks"));
      await call("GET", pipeline.under("/webhooks?event_type=order.created&active=true"));
      for (const id of Object.values(ids)) {
        await call("GET", pipeline.under(`/webhooks/${id}`));
        await call("GET", pipeline.under(`/webhooks/${id}/attempts`));
      }
      const deliveries: string[] = [];
      for (const eventId of published) {
        const event = await call("GET", pipeline.under(`/events/${eventId}`));
        deliveries.push(...((event.json.deliveries as { id: string }[] | undefined) ?? []).map((d) => d.id));
      }
      for (const id of deliveries) {
        await call("GET", pipeline.under(`/deliveries/${id}`));
        await call("GET", pipeline.under(`/deliveries/${id}/attempts`));
      }
      await call("GET", "/dlq");
      await call("GET", `/dlq?webhook_id=${ids.down}`);
      // Start failed work again: retry one, recover one webhook's failures, redrive the 410's letters.
      for (const id of deliveries) await call("POST", pipeline.under(`/deliveries/${id}/retry`));
      await call("POST", pipeline.under(`/webhooks/${ids.slow}/recover`), {
        since: new Date(Date.now() - 3_600_000).toISOString(),
      });
      await call("POST", "/dlq/redrive", { webhookId: ids.gone });
      await call("PATCH", pipeline.under(`/webhooks/${ids.gone}`), { active: true, description: "back" });
      await pipeline.drain(30_000);
      await reconcile({}, {} as never);
      await call("DELETE", pipeline.under(`/webhooks/${ids.healthy}`));
      // A second tenant with a webhook that receives one event, then the tenant deleted with it.
      const leaving = "t_scan-leaving";
      await call("PUT", `/tenants/${leaving}`, { name: "Leaving", metadata: { plan: "trial" } });
      await call("PUT", `/tenants/${leaving}`, { name: "Leaving soon" });
      const leavingHook = await call(
        "POST",
        pipeline.under("/webhooks", leaving),
        { url: receivers.healthy.url, eventTypes: ["*"] },
        true,
      );
      await pipeline.publishApi({ type: "order.created", data: { tenant: "leaving" } }, leaving);
      await pipeline.drain(30_000);
      await call("GET", pipeline.under(`/webhooks/${leavingHook.json.id}`, leaving));
      await call("GET", `/tenants/${leaving}`);
      expect((await call("DELETE", `/tenants/${leaving}`)).status).toBe(204);
      expect((await call("GET", `/tenants/${leaving}`)).status).toBe(404);
      await call("GET", pipeline.under(`/webhooks/${ids.healthy}`));
      // Work left in the queues for the scan: fresh events, not yet delivered.
      for (const type of ["order.created", "invoice.paid"]) {
        const response = await pipeline.publishApi({ type, data: { left: true } });
        responses.push({
          where: `POST /events → ${response.statusCode}`,
          text: `${JSON.stringify(response.headers)}\n${response.body}`,
        });
      }
    }));

    sources.items = await scanTable();
    sources.delivery = await drainForScan(pipeline.resources.deliveryQueueUrl, "delivery queue message");
    sources.dlq = await drainForScan(pipeline.resources.deadLetterQueueUrl, "DLQ message");
  }, 120_000);
  afterAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = previousMetrics;
    pipeline.close();
    await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
  });

  it("ran the paths worth scanning", () => {
    expect(secrets).toHaveLength(10);
    for (const secret of secrets) expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const kinds = sources.items.map(({ where }) => {
      const [, pk = "", sk = ""] = /^item (\S+) \/ (\S+)$/.exec(where) ?? [];
      if (pk.includes("#EVENT#")) return "EVENT";
      if (pk.startsWith("TENANT#")) return sk === "META" ? "TENANT" : sk.split("#")[0];
      return pk.split("#")[0];
    });
    for (const kind of ["TENANT", "WEBHOOK", "SUB", "EVENT", "DELIVERY"]) expect(kinds, kind).toContain(kind);
    expect(sources.items.some((item) => item.where.includes("ATTEMPT#"))).toBe(true);
    expect(sources.delivery.length).toBeGreaterThan(0);
    expect(sources.dlq.length).toBeGreaterThan(0);
    expect(sources.dlq.some((message) => message.text.includes("MessageAttributes"))).toBe(true);
    expect(responses.length).toBeGreaterThan(40);
    const logLines = output.split("\n").filter((line) => line.startsWith("{"));
    expect(logLines.some((line) => line.includes('"retry scheduled"'))).toBe(true);
    expect(logLines.some((line) => line.includes('"_aws"'))).toBe(true);
    // Deliveries were signed with two secrets during a rotation's grace, and with the GitHub-style header.
    const signatures = receivers.healthy.requests.map((request) =>
      String(request.headers["webhook-signature"]),
    );
    expect(signatures.some((header) => header.split(" ").length === 2)).toBe(true);
    expect(receivers.flaky.requests.some((request) => request.headers["x-webhook-signature-256"])).toBe(true);
    expect(receivers.slow.requests.length).toBeGreaterThan(1);
    expect(receivers.gone.requests.length).toBeGreaterThan(0);
    // The EventBridge event reached its tenant's webhooks, and so did the second tenant's event.
    expect(receivers.healthy.requests.some((request) => request.body.includes("ord_1002"))).toBe(true);
    expect(receivers.healthy.requests.some((request) => request.body.includes('"leaving"'))).toBe(true);
  });

  it("finds no secret in any item, message, response, delivered request or log line", () => {
    const received = Object.entries(receivers).flatMap(([name, receiver]) =>
      receiver.requests.map((request, index) => ({
        where: `request ${index} to the ${name} receiver`,
        text: `${JSON.stringify(request.headers)}\n${request.path}\n${request.body}`,
      })),
    );
    const logs = output.split("\n").map((line, index) => ({ where: `output line ${index + 1}`, text: line }));
    const haystacks = [
      ...sources.items,
      ...sources.delivery,
      ...sources.dlq,
      ...responses,
      ...received,
      ...logs,
    ];
    const leaks = secrets.flatMap((secret, which) =>
      needlesOf(secret).flatMap((needle) =>
        haystacks
          .filter((haystack) => haystack.text.includes(needle.value))
          .map(
            (haystack) =>
              `secret ${which} (${needle.name}) in ${haystack.where}: ${haystack.text.slice(0, 300)}`,
          ),
      ),
    );
    expect(leaks).toEqual([]);
  });
});
