import { describe, expect, it } from "vitest";
import {
  type DeadLetter,
  type DeliverDeps,
  type DeliveryRecord,
  deliverBatch,
  type QueueRecord,
  type SendResult,
  webhookKey,
} from "#core/delivery/deliver.ts";
import type { Delivery, DeliveryMessage, Webhook } from "#core/shared/model.ts";
import { generateSigningSecret } from "#core/signing/signing-secrets.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { sqsFixture } from "#test/support/fixtures.ts";
import { sampleWebhook } from "#test/support/sample-webhook.ts";

const NOW = new Date("2026-11-28T12:00:00Z");
const secret = generateSigningSecret();

const webhook = sampleWebhook;
/** The tenant of `sampleWebhook`, and of every message unless a test says otherwise. */
const TENANT = webhook().tenantId;

function message(n: number, overrides: Partial<DeliveryMessage> = {}): QueueRecord {
  const body: DeliveryMessage = {
    tenantId: TENANT,
    deliveryId: `dlv_${n}`,
    eventId: `evt_${n}`,
    webhookId: "wh_1",
    eventType: "order.completed",
    body: JSON.stringify({ id: `evt_${n}` }),
    ...overrides,
  };
  return { messageId: `m${n}`, receiptHandle: `r${n}`, body: JSON.stringify(body) };
}

/**
 * In-memory ports; every call is recorded so a test can assert on what the core did. The batch read answers, as
 * the adapter does, with the live tenants among those asked for; its webhook read is deliberately loose (it
 * answers `webhook` whatever tenant was asked), so that the core's own check of the tenant is what is tested.
 */
function fakes(
  options: {
    reply?: (url: string) => SendResult;
    webhook?: Webhook | undefined;
    deliveries?: Delivery[];
    /** Tenants that exist and are not being deleted (default: TENANT). */
    liveTenants?: string[];
  } = {},
) {
  const recorded: DeliveryRecord[] = [];
  const retries: { receiptHandle: string; delaySeconds: number }[] = [];
  const letters: DeadLetter[] = [];
  const requeued: { body: string; tenantId: string; delaySeconds: number }[] = [];
  let failRequeue = false;
  const posts: { headers: Record<string, string>; body: string }[] = [];
  const backoffs: string[] = [];
  const drops: string[] = [];
  const reads: { tenantId: string; webhookId: string }[][] = [];
  const secretOwners: string[] = [];
  const bodyReads: string[] = [];
  const disabled: string[] = [];
  const live = new Set(options.liveTenants ?? [TENANT]);
  const ledgerState = new Map((options.deliveries ?? []).map((delivery) => [delivery.id, delivery]));
  const current = "webhook" in options ? options.webhook : webhook();
  const deps: DeliverDeps = {
    webhooks: {
      disable: async (tenantId, webhookId, reason, sentTo) =>
        void disabled.push(`${tenantId} ${webhookId} ${reason} ${sentTo}`),
    },
    secrets: {
      get: async (owner) => {
        secretOwners.push(owner);
        return [secret];
      },
    },
    events: {
      body: async (tenantId, eventId) => {
        bodyReads.push(`${tenantId} ${eventId}`);
        return undefined;
      },
    },
    ledger: {
      readState: async (ids, webhookKeys) => {
        reads.push([...webhookKeys]);
        return {
          deliveries: new Map(
            ids.flatMap((id) => (ledgerState.has(id) ? [[id, ledgerState.get(id) as Delivery]] : [])),
          ),
          webhooks: new Map(current ? [[webhookKey(current.tenantId, current.id), current]] : []),
          liveTenants: new Set(webhookKeys.map(({ tenantId }) => tenantId).filter((id) => live.has(id))),
        };
      },
      record: async (records) => {
        recorded.push(...records);
        return { failed: new Set(), superseded: new Set() };
      },
    },
    queue: {
      retryLater: async (receiptHandle, delaySeconds) => {
        retries.push({ receiptHandle, delaySeconds });
      },
      requeue: async (body, tenantId, delaySeconds) => {
        if (failRequeue) throw new Error("SQS unavailable");
        requeued.push({ body, tenantId, delaySeconds });
      },
      deadLetter: async (batch) => {
        letters.push(...batch);
        return new Set();
      },
    },
    http: {
      post: async (url, headers, body) => {
        posts.push({ headers: { ...headers }, body });
        return (
          options.reply?.(url) ?? {
            result: { kind: "response", status: 200 },
            durationMs: 5,
            responseBody: "ok",
          }
        );
      },
    },
    retryPolicy: { scheduleSeconds: [10, 20], jitterRatio: 0 },
    dependencyBackoffSeconds: 7,
    deadLetterAfterReceives: 10,
    now: () => NOW,
    random: () => 0.5,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: {
      attempt: () => undefined,
      deadLettered: () => undefined,
      dropped: (reason) => void drops.push(reason),
      dependencyBackoff: (cause) => void backoffs.push(cause),
    },
  };
  return {
    deps,
    recorded,
    retries,
    letters,
    requeued,
    failRequeues: () => {
      failRequeue = true;
    },
    posts,
    backoffs,
    drops,
    reads,
    secretOwners,
    bodyReads,
    disabled,
  };
}

const failedIds = (result: { batchItemFailures: { itemIdentifier: string }[] }) =>
  result.batchItemFailures.map((failure) => failure.itemIdentifier).sort();

describe("deliverBatch", () => {
  it("signs and sends each record, records the attempt, and reports no failure on success", async () => {
    const { deps, recorded, posts, secretOwners } = fakes();
    const result = await deliverBatch([message(1), message(2)], deps);
    expect(failedIds(result)).toEqual([]);
    expect(posts).toHaveLength(2);
    const verified = verifyWebhook({
      headers: posts[0]?.headers ?? {},
      body: posts[0]?.body ?? "",
      secrets: [secret],
      now: NOW.getTime(),
    });
    expect(verified.id).toBe("evt_1");
    expect(recorded.map((record) => [record.delivery.status, record.attempt?.status])).toEqual([
      ["delivered", "succeeded"],
      ["delivered", "succeeded"],
    ]);
    // Records and attempts carry the tenant; the secret is the one the tenant's webhook owns.
    expect(recorded.map((record) => [record.delivery.tenantId, record.attempt?.tenantId])).toEqual([
      [TENANT, TENANT],
      [TENANT, TENANT],
    ]);
    expect(secretOwners).toEqual([`${TENANT}/wh_1`, `${TENANT}/wh_1`]);
  });

  it("reports exactly the retried records and sets their visibility to the schedule's step", async () => {
    const { deps, retries } = fakes({
      reply: () => ({ result: { kind: "response", status: 503 }, durationMs: 1 }),
    });
    const state = { id: "dlv_2", attempts: 1, status: "retrying" } as Delivery;
    const withState = fakes({
      reply: () => ({ result: { kind: "response", status: 503 }, durationMs: 1 }),
      deliveries: [state],
    });
    const first = await deliverBatch([message(1)], deps);
    expect(failedIds(first)).toEqual(["m1"]);
    expect(retries).toEqual([{ receiptHandle: "r1", delaySeconds: 10 }]);
    const second = await deliverBatch([message(2)], withState.deps);
    expect(failedIds(second)).toEqual(["m2"]);
    expect(withState.retries).toEqual([{ receiptHandle: "r2", delaySeconds: 20 }]);
    expect(withState.recorded[0]?.attempt?.attempt).toBe(2);
  });

  it("retries a 3xx or 4xx on the schedule like a 5xx, and dead-letters it only when the schedule is exhausted", async () => {
    for (const status of [302, 400, 404, 422]) {
      const reply = (): SendResult => ({ result: { kind: "response", status }, durationMs: 1 });
      const first = fakes({ reply });
      expect(failedIds(await deliverBatch([message(1)], first.deps)), String(status)).toEqual(["m1"]);
      expect(first.retries, String(status)).toEqual([{ receiptHandle: "r1", delaySeconds: 10 }]);
      expect(first.letters, String(status)).toEqual([]);

      const last = { id: "dlv_1", attempts: 2, status: "retrying" } as Delivery;
      const final = fakes({ reply, deliveries: [last] });
      expect(failedIds(await deliverBatch([message(1)], final.deps)), String(status)).toEqual([]);
      expect(final.letters, String(status)).toMatchObject([{ reason: `exhausted:http_${status}` }]);
    }
  });

  it("fails at once, without a retry, only on our own refusals", async () => {
    for (const errorClass of ["destination_blocked", "invalid_request"] as const) {
      const { deps, retries, letters } = fakes({
        reply: () => ({ result: { kind: "transport_error", errorClass }, durationMs: 1 }),
      });
      expect(failedIds(await deliverBatch([message(1)], deps)), errorClass).toEqual([]);
      expect(retries, errorClass).toEqual([]);
      expect(letters, errorClass).toMatchObject([{ messageId: "m1", reason: errorClass }]);
    }
  });

  it("dead-letters a malformed message instead of retrying it forever", async () => {
    const { deps, letters, posts } = fakes();
    const [, malformed] = sqsFixture().Records;
    const result = await deliverBatch(
      [{ messageId: "bad", receiptHandle: "rb", body: malformed?.body ?? "" }],
      deps,
    );
    expect(failedIds(result)).toEqual([]);
    expect(letters).toMatchObject([{ messageId: "bad", reason: "malformed_message" }]);
    expect(posts).toHaveLength(0);
  });

  it("retries without consuming an attempt when its own dependencies fail (secrets, event body, batch read)", async () => {
    for (const broken of ["secrets", "events", "ledger"] as const) {
      const { deps, retries, recorded, posts, backoffs } = fakes();
      const failure = async () => {
        throw new Error("ThrottlingException");
      };
      if (broken === "secrets") deps.secrets.get = failure;
      if (broken === "events") deps.events.body = failure;
      if (broken === "ledger") deps.ledger.readState = failure;
      const records =
        broken === "events"
          ? [1, 2].map((n) => {
              const { body: _inline, ...reference } = JSON.parse(message(n).body) as DeliveryMessage;
              return { ...message(n), body: JSON.stringify(reference) };
            })
          : [message(1), message(2)];
      const result = await deliverBatch(records, deps);
      expect(backoffs, broken).toHaveLength(2);
      expect(failedIds(result), broken).toEqual(["m1", "m2"]);
      expect(
        retries.map((retry) => retry.delaySeconds),
        broken,
      ).toEqual([7, 7]);
      expect(recorded, broken).toEqual([]);
      expect(posts, broken).toEqual([]);
    }
  });

  it("retries the records whose outcome could not be written (the POST is repeated, with the same webhook-id)", async () => {
    const { deps, retries } = fakes();
    deps.ledger.record = async () => ({ failed: new Set(["dlv_2"]), superseded: new Set() });
    const result = await deliverBatch([message(1), message(2)], deps);
    expect(failedIds(result)).toEqual(["m2"]);
    expect(retries).toEqual([{ receiptHandle: "r2", delaySeconds: 7 }]);
  });

  it("keeps a message whose copy to the DLQ failed, and re-dead-letters it later without sending again", async () => {
    const { deps, posts } = fakes({
      reply: () => ({ result: { kind: "transport_error", errorClass: "invalid_request" }, durationMs: 1 }),
    });
    deps.queue.deadLetter = async (batch) => new Set(batch.map((letter) => letter.messageId));
    expect(failedIds(await deliverBatch([message(1)], deps))).toEqual(["m1"]);
    expect(posts).toHaveLength(1);

    const failed = { id: "dlv_1", status: "failed", attempts: 1, reason: "invalid_request" } as Delivery;
    const again = fakes({ deliveries: [failed] });
    expect(failedIds(await deliverBatch([message(1)], again.deps))).toEqual([]);
    expect(again.posts).toHaveLength(0);
    expect(again.letters).toMatchObject([{ messageId: "m1", reason: "invalid_request" }]);
  });

  it("drops (and records) deliveries whose webhook is gone, disabled, or no longer subscribed", async () => {
    const cases: [Webhook | undefined, string][] = [
      [undefined, "webhook_deleted"],
      [webhook({ active: false, disabledReason: "manual" }), "webhook_disabled"],
      [webhook({ eventTypes: ["user.*"] }), "unsubscribed"],
    ];
    for (const [hook, reason] of cases) {
      const { deps, recorded, posts } = fakes({ webhook: hook });
      expect(failedIds(await deliverBatch([message(1)], deps))).toEqual([]);
      expect(posts).toHaveLength(0);
      expect(recorded).toMatchObject([{ delivery: { status: "dropped", reason } }]);
    }
  });

  it("sends a direct (test) message even to a webhook not subscribed to its type", async () => {
    const { deps, posts } = fakes({ webhook: webhook({ eventTypes: ["user.*"] }) });
    await deliverBatch([message(1, { direct: true, eventType: "webhook.test" })], deps);
    expect(posts).toHaveLength(1);
  });

  it("skips a duplicate of an already delivered message without sending it again", async () => {
    const delivered = { id: "dlv_1", status: "delivered", attempts: 1 } as Delivery;
    const { deps, posts, recorded } = fakes({ deliveries: [delivered] });
    expect(failedIds(await deliverBatch([message(1)], deps))).toEqual([]);
    expect(posts).toHaveLength(0);
    expect(recorded).toHaveLength(0);
  });

  it("drops a delivery whose large payload has expired from the event store", async () => {
    const { deps, recorded, bodyReads } = fakes();
    const { body: _inline, ...reference } = JSON.parse(message(1).body) as DeliveryMessage;
    await deliverBatch([{ messageId: "m1", receiptHandle: "r1", body: JSON.stringify(reference) }], deps);
    expect(recorded).toMatchObject([{ delivery: { status: "dropped", reason: "event_expired" } }]);
    expect(bodyReads).toEqual([`${TENANT} evt_1`]);
  });

  it("disables the webhook on 410 and dead-letters, even if disabling fails", async () => {
    const { deps, letters } = fakes({
      reply: () => ({ result: { kind: "response", status: 410 }, durationMs: 1 }),
    });
    let disabled = "";
    deps.webhooks.disable = async (tenantId, id, reason) => {
      disabled = `${tenantId}/${id}:${reason}`;
      throw new Error("conflict");
    };
    expect(failedIds(await deliverBatch([message(1)], deps))).toEqual([]);
    expect(disabled).toBe(`${TENANT}/wh_1:http_410`);
    expect(letters).toMatchObject([{ reason: "endpoint_gone" }]);
  });

  it("a failing ChangeMessageVisibility still reports the record for retry", async () => {
    const { deps } = fakes({
      reply: () => ({ result: { kind: "transport_error", errorClass: "timeout" }, durationMs: 1 }),
    });
    deps.queue.retryLater = async () => {
      throw new Error("ReceiptHandleIsInvalid");
    };
    expect(failedIds(await deliverBatch([message(1)], deps))).toEqual(["m1"]);
  });

  it("keeps the first 4 KiB of a failed attempt's response body", async () => {
    const { deps, recorded } = fakes({
      reply: () => ({
        result: { kind: "response", status: 500 },
        durationMs: 1,
        responseBody: "é".repeat(3000),
      }),
    });
    await deliverBatch([message(1)], deps);
    expect(recorded[0]?.attempt?.status).toBe("failed");
    expect(Buffer.byteLength(recorded[0]?.attempt?.responseBody ?? "")).toBeGreaterThan(4090);
    expect(Buffer.byteLength(recorded[0]?.attempt?.responseBody ?? "")).toBeLessThanOrEqual(4096);
    expect(recorded[0]?.attempt?.responseBody?.endsWith("é")).toBe(true);
  });

  it("stores no response body for a successful attempt (its status code is the whole story)", async () => {
    const { deps, recorded } = fakes({
      reply: () => ({
        result: { kind: "response", status: 200 },
        durationMs: 1,
        responseBody: "x".repeat(3000),
      }),
    });
    await deliverBatch([message(1)], deps);
    expect(recorded[0]?.attempt).toMatchObject({ status: "succeeded", statusCode: 200 });
    expect(recorded[0]?.attempt?.responseBody).toBeUndefined();
  });
});

describe("deliverBatch: one live chain per delivery, whatever the queue holds", () => {
  const live = (overrides: Partial<Delivery>) =>
    ({
      id: "dlv_1",
      tenantId: TENANT,
      eventId: "evt_1",
      webhookId: "wh_1",
      eventType: "order.completed",
      status: "retrying",
      attempts: 2,
      series: 0,
      copy: 0,
      nextAttemptAt: NOW.toISOString(),
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      ...overrides,
    }) as Delivery;

  it("discards a copy below the record (older series, or lower copy) without a request", async () => {
    for (const [record, copy] of [
      [live({ series: 1 }), { series: 0 }],
      [live({ copy: 3 }), { copy: 2 }],
    ] as const) {
      const { deps, posts, recorded, letters } = fakes({ deliveries: [record] });
      expect(failedIds(await deliverBatch([message(1, copy)], deps))).toEqual([]);
      expect(posts).toHaveLength(0);
      expect(recorded).toHaveLength(0);
      expect(letters).toHaveLength(0);
    }
  });

  it("a higher copy takes a live chain over and continues its attempt count", async () => {
    const { deps, posts, recorded } = fakes({ deliveries: [live({ copy: 0, attempts: 2 })] });
    await deliverBatch([message(1, { copy: 1 })], deps);
    expect(posts[0]?.headers["x-webhook-attempt"]).toBe("3");
    expect(recorded[0]?.delivery).toMatchObject({ copy: 1, attempts: 3 });
  });

  it("a higher copy of a settled series is discarded (one DLQ letter, nothing resent)", async () => {
    const failed = live({ status: "failed", reason: "exhausted:http_500", copy: 0 });
    const { deps, posts, letters } = fakes({ deliveries: [failed] });
    await deliverBatch([message(1, { copy: 1 })], deps);
    expect(posts).toHaveLength(0);
    expect(letters).toHaveLength(0);
  });

  it("a newer series starts again at attempt 1 whatever the record says", async () => {
    const { deps, posts, recorded } = fakes({
      deliveries: [live({ status: "failed", attempts: 8, reason: "exhausted:http_500" })],
    });
    await deliverBatch([message(1, { series: 1, copy: 77, direct: true })], deps);
    expect(posts[0]?.headers["x-webhook-attempt"]).toBe("1");
    expect(recorded[0]?.delivery).toMatchObject({ series: 1, copy: 77, attempts: 1, status: "delivered" });
    expect(recorded[0]?.attempt).toMatchObject({ series: 1, attempt: 1 });
  });

  it("two messages of one delivery in one batch make one request; the higher copy is the one kept", async () => {
    const { deps, posts, recorded } = fakes();
    const lower = { ...message(1, { copy: 0 }), messageId: "low", receiptHandle: "rl" };
    const higher = { ...message(1, { copy: 1 }), messageId: "high", receiptHandle: "rh" };
    expect(failedIds(await deliverBatch([lower, higher], deps))).toEqual([]);
    expect(posts).toHaveLength(1);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.delivery.copy).toBe(1);
  });

  it("a copy that arrives before its retry is due is hidden until then, without an attempt", async () => {
    const due = new Date(NOW.getTime() + 600_000).toISOString();
    const { deps, posts, retries, recorded } = fakes({ deliveries: [live({ nextAttemptAt: due })] });
    expect(failedIds(await deliverBatch([message(1)], deps))).toEqual(["m1"]);
    expect(posts).toHaveLength(0);
    expect(recorded).toHaveLength(0);
    expect(retries).toEqual([{ receiptHandle: "r1", delaySeconds: 600 }]);
  });

  it("backs off longer on each receive, and on the last allowed receive dead-letters with the reason", async () => {
    const delays: number[] = [];
    for (const receiveCount of [1, 2, 3, 9]) {
      const { deps, retries } = fakes();
      deps.secrets.get = async () => {
        throw new Error("ThrottlingException");
      };
      await deliverBatch([{ ...message(1), receiveCount }], deps);
      delays.push(retries[0]?.delaySeconds ?? -1);
    }
    expect(delays).toEqual([7, 14, 28, 600]);
    const { deps, letters, retries, backoffs } = fakes();
    deps.secrets.get = async () => {
      throw new Error("ThrottlingException");
    };
    const result = await deliverBatch([{ ...message(1), receiveCount: 10 }], deps);
    expect(failedIds(result)).toEqual([]);
    expect(retries).toEqual([]);
    expect(letters).toMatchObject([{ messageId: "m1", reason: "dependency_failure:Error" }]);
    expect(backoffs).toEqual(["Error"]);
  });

  it("a webhook absent from one batch's read is seen in the next (absence is never cached)", async () => {
    const { deps, recorded, posts } = fakes();
    const reads = [new Map<string, Webhook>(), new Map([[webhookKey(TENANT, "wh_1"), webhook()]])];
    deps.ledger.readState = async () => ({
      deliveries: new Map(),
      webhooks: reads.shift() ?? new Map(),
      liveTenants: new Set([TENANT]),
    });
    await deliverBatch([message(1)], deps);
    await deliverBatch([message(2)], deps);
    expect(recorded.map((record) => record.delivery.status)).toEqual(["dropped", "delivered"]);
    expect(posts).toHaveLength(1);
  });

  it("disables on 410 only while the webhook still points at the URL that answered it", async () => {
    const { deps, disabled } = fakes({
      webhook: webhook({ tenantId: "t_9", url: "https://old.example.com/hook" }),
      liveTenants: ["t_9"],
      reply: () => ({ result: { kind: "response", status: 410 }, durationMs: 1 }),
    });
    await deliverBatch([message(1, { tenantId: "t_9" })], deps);
    expect(disabled).toEqual(["t_9 wh_1 http_410 https://old.example.com/hook"]);
  });
});

describe("deliverBatch: tenants", () => {
  it("reads each message's webhook and tenant under the tenant the message names", async () => {
    const { deps, reads } = fakes({ liveTenants: [TENANT, "t_2"] });
    await deliverBatch([message(1), message(2, { tenantId: "t_2", webhookId: "wh_2" })], deps);
    expect(reads).toEqual([
      [
        { tenantId: TENANT, webhookId: "wh_1" },
        { tenantId: "t_2", webhookId: "wh_2" },
      ],
    ]);
  });

  it("drops a delivery whose tenant is deleted (or being deleted) as tenant_deleted, without a request", async () => {
    const retrying = { id: "dlv_2", tenantId: TENANT, status: "retrying", attempts: 2 } as Delivery;
    // Whether or not its webhook is still there: a tenant's deletion removes its webhooks after marking it.
    for (const hook of [webhook(), undefined]) {
      const { deps, recorded, posts, secretOwners, bodyReads, retries, letters, drops } = fakes({
        webhook: hook,
        deliveries: [retrying],
        liveTenants: [],
      });
      const { body: _inline, ...reference } = JSON.parse(message(1).body) as DeliveryMessage;
      const records = [{ ...message(1), body: JSON.stringify(reference) }, message(2)];
      expect(failedIds(await deliverBatch(records, deps))).toEqual([]);
      expect(posts).toEqual([]);
      expect(secretOwners).toEqual([]);
      expect(bodyReads).toEqual([]);
      expect(retries).toEqual([]);
      expect(letters).toEqual([]);
      expect(drops).toEqual(["tenant_deleted", "tenant_deleted"]);
      expect(recorded.map(({ delivery }) => [delivery.id, delivery.status, delivery.reason])).toEqual([
        ["dlv_1", "dropped", "tenant_deleted"],
        ["dlv_2", "dropped", "tenant_deleted"],
      ]);
      expect(recorded.map((record) => [record.delivery.attempts, record.attempt])).toEqual([
        [0, undefined],
        [2, undefined],
      ]);
    }
  });

  it("goes on delivering the live tenants' messages of a batch in which another tenant's are dropped", async () => {
    const other = webhook({ id: "wh_2", tenantId: "t_gone" });
    const { deps, recorded, posts } = fakes();
    deps.ledger.readState = async (_ids, webhookKeys) => ({
      deliveries: new Map(),
      webhooks: new Map([
        [webhookKey("t_live", "wh_1"), webhook({ tenantId: "t_live" })],
        [webhookKey("t_gone", "wh_2"), other],
      ]),
      liveTenants: new Set(webhookKeys.map(({ tenantId }) => tenantId).filter((id) => id === "t_live")),
    });
    await deliverBatch(
      [message(1, { tenantId: "t_live" }), message(2, { tenantId: "t_gone", webhookId: "wh_2" })],
      deps,
    );
    expect(posts).toHaveLength(1);
    expect(recorded.map(({ delivery }) => [delivery.tenantId, delivery.status, delivery.reason])).toEqual([
      ["t_live", "delivered", undefined],
      ["t_gone", "dropped", "tenant_deleted"],
    ]);
  });

  it("never sends to another tenant's webhook, even one with the id the message names", async () => {
    // The message is t_2's (a live tenant); the webhook wh_1 that the read hands back is TENANT's.
    const { deps, recorded, posts, secretOwners, disabled, drops } = fakes({
      liveTenants: [TENANT, "t_2"],
      reply: () => ({ result: { kind: "response", status: 410 }, durationMs: 1 }),
    });
    const records = [message(1, { tenantId: "t_2" }), message(2, { tenantId: "t_2", direct: true })];
    expect(failedIds(await deliverBatch(records, deps))).toEqual([]);
    expect(posts).toEqual([]);
    expect(secretOwners).toEqual([]);
    expect(disabled).toEqual([]);
    expect(drops).toEqual(["webhook_deleted", "webhook_deleted"]);
    expect(recorded.map(({ delivery }) => [delivery.tenantId, delivery.status, delivery.reason])).toEqual([
      ["t_2", "dropped", "webhook_deleted"],
      ["t_2", "dropped", "webhook_deleted"],
    ]);
  });
});

describe("deliverBatch: held deliveries and SQS's receive count", () => {
  it("a delivery held by an open circuit on its last allowed receive is not left for maxReceiveCount to dead-letter without a reason", async () => {
    const f = fakes();
    const open = {
      tenantId: TENANT,
      webhookId: "wh_1",
      circuit: "open" as const,
      openedAt: new Date(NOW.getTime() - 3_600_000).toISOString(),
      probeAt: new Date(NOW.getTime() + 60_000).toISOString(),
    };
    const readState = f.deps.ledger.readState;
    const deps: DeliverDeps = {
      ...f.deps,
      ledger: {
        ...f.deps.ledger,
        readState: async (ids, keys) => ({
          ...(await readState(ids, keys)),
          health: new Map([[webhookKey(TENANT, "wh_1"), open]]),
        }),
      },
      health: {
        reserveRate: async () => ({ granted: 0, tat: NOW.getTime() }),
        takeProbe: async () => false,
        settleProbe: async () => false,
        open: async () => false,
        reset: async () => undefined,
      },
    };
    // The 30th receive (SQS's maxReceiveCount): the circuit has been open for half an hour of 60 s holds.
    const held = { ...message(1), receiveCount: 30 };
    const result = await deliverBatch([held], deps);
    expect(f.posts).toHaveLength(0);
    // Handed back to SQS once more, the redrive policy would move it to the DLQ with no reason: it is sent again as a
    // new message (the same body, so the same copy) and this one acknowledged, not dead-lettered.
    expect(failedIds(result)).not.toContain("m1");
    expect(f.letters).toHaveLength(0);
    expect(f.requeued).toEqual([{ body: held.body, tenantId: TENANT, delaySeconds: expect.any(Number) }]);
    expect(f.requeued[0]?.delaySeconds).toBeGreaterThan(0);
    // If that send fails, the message is held once more (never acknowledged unsent, never dead-lettered).
    f.failRequeues();
    const unsent = await deliverBatch([held], deps);
    expect(failedIds(unsent)).toContain("m1");
    expect(f.retries.at(-1)?.receiptHandle).toBe(held.receiptHandle);
    expect(f.letters).toHaveLength(0);
    expect(f.posts).toHaveLength(0);
  });

  it("a delivery held by the rate limit on its last allowed receive is not left for maxReceiveCount to dead-letter without a reason", async () => {
    const f = fakes({ webhook: webhook({ rateLimitPerSecond: 1 }) });
    const deps: DeliverDeps = {
      ...f.deps,
      health: {
        reserveRate: async () => ({ granted: 0, tat: NOW.getTime() + 300_000 }),
        takeProbe: async () => false,
        settleProbe: async () => false,
        open: async () => false,
        reset: async () => undefined,
      },
    };
    // A backlog of 300 events for a 1/s webhook: this message has been received and held 30 times.
    const held = { ...message(1), receiveCount: 30 };
    const result = await deliverBatch([held], deps);
    // Sent again as a new message, hidden until the rate limit's slot for it (the GCRA backlog, 300 s), not sooner.
    expect(f.requeued).toEqual([{ body: held.body, tenantId: TENANT, delaySeconds: expect.any(Number) }]);
    expect(f.requeued[0]?.delaySeconds).toBeGreaterThanOrEqual(290);
    // And below the budget it is simply held again, without a request.
    const early = await deliverBatch([{ ...message(1), receiveCount: 3 }], deps);
    expect(failedIds(early)).toContain("m1");
    expect(f.requeued).toHaveLength(1);
    expect(f.posts).toHaveLength(0);
    expect(failedIds(result)).not.toContain("m1");
    expect(f.letters).toHaveLength(0);
    // This delivery was never attempted: it has no record the reconciler could find. If the new message cannot
    // be sent, the message is held once more rather than acknowledged (which would lose the delivery).
    f.failRequeues();
    const unsent = await deliverBatch([held], deps);
    expect(f.recorded.filter((record) => record.delivery.id === "dlv_1")).toEqual([]);
    expect(failedIds(unsent)).toContain("m1");
    expect(f.retries.at(-1)?.receiptHandle).toBe(held.receiptHandle);
    expect(f.letters).toHaveLength(0);
    expect(f.posts).toHaveLength(0);
  });
});
