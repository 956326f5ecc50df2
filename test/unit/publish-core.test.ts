import { describe, expect, it } from "vitest";
import { fromEventBridge } from "#core/publishing/eventbridge.ts";
import {
  EnqueueError,
  FANOUT_LEASE_SECONDS,
  type FanOutLease,
  INLINE_BODY_LIMIT_BYTES,
  type PublishDeps,
  publish,
  publishBatch,
  type StoredEvent,
} from "#core/publishing/publish.ts";
import { patternsMatching } from "#core/routing/event-types.ts";
import { ConflictError, NotFoundError, PayloadTooLargeError } from "#core/shared/errors.ts";
import { deliveryIdFor } from "#core/shared/ids.ts";
import type { Delivery, DeliveryMessage } from "#core/shared/model.ts";
import type { Tenant } from "#core/tenants/tenants.ts";
import { fixture } from "#test/support/fixtures.ts";

const TENANT = "t_1";
const T0 = "2026-11-28T12:00:00.000Z";
const tenant = (id: string, overrides: Partial<Tenant> = {}): Tenant => ({
  id,
  name: `Tenant ${id}`,
  metadata: {},
  webhookCount: 0,
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

/**
 * In-memory ports that keep the fan-out lease as the DynamoDB adapter does (conditional on time and state),
 * with every event under its tenant's key. `subscribers` are tenant t_1's, `others` any other tenant's (each of
 * which exists).
 */
function fakePorts(
  subscribers: Record<string, string[]>,
  others: Record<string, Record<string, string[]>> = {},
) {
  const subscriptionsOf: Record<string, Record<string, string[]>> = { [TENANT]: subscribers, ...others };
  const tenants = new Map(Object.keys(subscriptionsOf).map((id) => [id, tenant(id)]));
  const events = new Map<string, StoredEvent & { lease?: FanOutLease }>();
  const key = (tenantId: string, eventId: string) => `${tenantId}/${eventId}`;
  const sent: DeliveryMessage[][] = [];
  const queried: [tenantId: string, pattern: string][] = [];
  const started = new Set<string>();
  const due = new Set<string>();
  let clock = new Date(T0);
  let failNextEnqueue = false;
  const deps: PublishDeps = {
    tenants: { get: async (id) => tenants.get(id) },
    events: {
      createIfAbsent: async (event, lease) => {
        const existing = events.get(key(event.tenantId, event.id));
        if (!existing) events.set(key(event.tenantId, event.id), { ...event, lease });
        return existing;
      },
      acquireFanOut: async (tenantId, eventId, now, until) => {
        const event = events.get(key(tenantId, eventId));
        if (!event?.lease || event.fanout || event.lease.until >= now) return undefined;
        const generation = event.lease.generation + 1;
        events.set(key(tenantId, eventId), { ...event, lease: { generation, until } });
        return generation;
      },
      markDue: async (tenantId, eventId) => void due.add(key(tenantId, eventId)),
      releaseFanOut: async (tenantId, eventId, generation) => {
        const event = events.get(key(tenantId, eventId));
        if (event?.lease?.generation === generation && !event.fanout)
          events.set(key(tenantId, eventId), {
            ...event,
            lease: { generation, until: new Date(0).toISOString() },
          });
      },
      markFannedOut: async (tenantId, eventId, deliveries, at) => {
        const event = events.get(key(tenantId, eventId)) as StoredEvent;
        events.set(key(tenantId, eventId), { ...event, fanout: { deliveries, completedAt: at } });
      },
    },
    subscriptions: {
      subscriptions: async (tenantId, pattern) => {
        queried.push([tenantId, pattern]);
        return (subscriptionsOf[tenantId]?.[pattern] ?? []).map((webhookId) => ({ webhookId }));
      },
    },
    queue: {
      enqueue: async (messages) => {
        if (failNextEnqueue) {
          failNextEnqueue = false;
          throw new Error("SQS unavailable");
        }
        sent.push([...messages]);
      },
    },
    deliveries: {
      getDeliveries: async (ids) =>
        new Map(ids.filter((id) => started.has(id)).map((id) => [id, { id } as Delivery])),
    },
    now: () => clock,
  };
  return {
    deps,
    tenants,
    events,
    /** The stored event `eventId` of tenant t_1 (or of `tenantId`). */
    event: (eventId: string, tenantId = TENANT) => events.get(key(tenantId, eventId)),
    sent,
    queried,
    started,
    due,
    failEnqueueOnce: () => (failNextEnqueue = true),
    advance: (seconds: number) => (clock = new Date(clock.getTime() + seconds * 1000)),
  };
}

describe("publish", () => {
  it("queries one partition per matching pattern and enqueues one message per distinct webhook", async () => {
    const ports = fakePorts({ "a.b.c": ["wh_1"], "a.*": ["wh_2", "wh_1"], "*": ["wh_3"] });
    const result = await publish(TENANT, { type: "a.b.c", data: { x: 1 } }, ports.deps);
    expect(ports.queried).toEqual(["a.b.c", "a.b.*", "a.*", "*"].map((pattern) => [TENANT, pattern]));
    expect(result).toMatchObject({ deliveries: 3, duplicate: false });
    expect(ports.sent[0]?.map((message) => message.webhookId).sort()).toEqual(["wh_1", "wh_2", "wh_3"]);
    expect(ports.sent[0]?.[0]?.deliveryId).toBe(
      deliveryIdFor(result.eventId, ports.sent[0]?.[0]?.webhookId ?? ""),
    );
  });

  it("inlines small bodies and leaves large ones to be read at delivery", async () => {
    const ports = fakePorts({ big: ["wh_1"], small: ["wh_1"] });
    await publish(TENANT, { type: "small", data: { note: "hi" } }, ports.deps);
    await publish(TENANT, { type: "big", data: { note: "x".repeat(INLINE_BODY_LIMIT_BYTES) } }, ports.deps);
    expect(ports.sent[0]?.[0]?.body).toBeDefined();
    expect(ports.sent[1]?.[0]?.body).toBeUndefined();
  });

  it("refuses an event above 256 KiB", async () => {
    const ports = fakePorts({});
    await expect(
      publish(TENANT, { type: "big", data: { note: "x".repeat(262_144) } }, ports.deps),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(ports.events.size).toBe(0);
  });

  it("is idempotent on the id, 409s on a different payload, and finishes an interrupted fan-out on a retry", async () => {
    const ports = fakePorts({ "order.paid": ["wh_1", "wh_2"] });
    const request = { id: "evt_fixed", type: "order.paid", data: { n: 1 } };
    ports.failEnqueueOnce();
    await expect(publish(TENANT, request, ports.deps)).rejects.toThrow("SQS unavailable");
    expect(ports.event("evt_fixed")?.fanout).toBeUndefined();

    const retried = await publish(TENANT, request, ports.deps);
    expect(retried).toEqual({ eventId: "evt_fixed", deliveries: 2, duplicate: true });
    expect(ports.sent).toHaveLength(1);
    // The failed publisher gave its lease up, so the repeat took over at once, as the next copy.
    expect(ports.sent[0]?.map((message) => message.copy)).toEqual([1, 1]);

    const repeated = await publish(TENANT, request, ports.deps);
    expect(repeated.deliveries).toBe(2);
    expect(ports.sent).toHaveLength(1);
    await expect(publish(TENANT, { ...request, data: { n: 2 } }, ports.deps)).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it("five concurrent publishes of one id fan out once", async () => {
    const ports = fakePorts({ "order.paid": ["wh_1", "wh_2"] });
    const request = { id: "evt_race", type: "order.paid", data: { n: 1 } };
    const results = await Promise.all(Array.from({ length: 5 }, () => publish(TENANT, request, ports.deps)));
    expect(ports.sent.flat()).toHaveLength(2);
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    expect(results.every((result) => result.deliveries === 2)).toBe(true);
  });

  it("a publisher that died mid-fan-out holds its lease: repeats send nothing until it runs out, then resume only what no message reached", async () => {
    const ports = fakePorts({ "order.paid": ["wh_1", "wh_2", "wh_3"] });
    const request = { id: "evt_crash", type: "order.paid", data: { n: 1 } };
    // The first publisher stored the event and died after wh_1's message went out, lease still held.
    const first = await publish(TENANT, request, ports.deps);
    ports.events.set(`${TENANT}/evt_crash`, {
      ...(ports.event("evt_crash") as StoredEvent),
      fanout: undefined,
      lease: { generation: 0, until: new Date(Date.parse("2026-11-28T12:00:00Z") + 120_000).toISOString() },
    });
    expect(first.duplicate).toBe(false);
    ports.sent.length = 0;
    ports.started.add(deliveryIdFor("evt_crash", "wh_1"));

    expect(ports.due.has(`${TENANT}/evt_crash`)).toBe(false);
    const early = await publish(TENANT, request, ports.deps);
    expect(early).toMatchObject({ duplicate: true, deliveries: 3 });
    expect(ports.sent).toHaveLength(0);
    // Answered while the lease is held elsewhere: now the reconciler watches it.
    expect(ports.due.has(`${TENANT}/evt_crash`)).toBe(true);

    ports.advance(FANOUT_LEASE_SECONDS + 1);
    await publish(TENANT, request, ports.deps);
    expect(ports.sent.flat().map((message) => [message.webhookId, message.copy])).toEqual([
      ["wh_2", 1],
      ["wh_3", 1],
    ]);
    expect(ports.event("evt_crash")?.fanout?.deliveries).toBe(3);
  });

  it("serializes the envelope once, in the contract's field order", async () => {
    const ports = fakePorts({ "a.b": ["wh_1"] });
    await publish(
      TENANT,
      { id: "evt_1", type: "a.b", source: "svc", timestamp: "2026-11-28T13:00:00+01:00", data: { k: "v" } },
      ports.deps,
    );
    expect(ports.sent[0]?.[0]?.body).toBe(
      '{"id":"evt_1","type":"a.b","timestamp":"2026-11-28T12:00:00.000Z","version":"1.0","source":"svc","data":{"k":"v"}}',
    );
  });
});

describe("publish: one tenant at a time", () => {
  it("answers 404 for a tenant that does not exist, or is being deleted, and stores and sends nothing", async () => {
    const ports = fakePorts({ "order.paid": ["wh_1"] });
    ports.tenants.set("t_leaving", tenant("t_leaving", { deleting: true }));
    for (const tenantId of ["t_unknown", "t_leaving", "not a tenant id"]) {
      await expect(
        publish(tenantId, { id: "evt_1", type: "order.paid", data: {} }, ports.deps),
        tenantId,
      ).rejects.toBeInstanceOf(NotFoundError);
    }
    expect(ports.events.size).toBe(0);
    expect(ports.queried).toEqual([]);
    expect(ports.sent).toEqual([]);
  });

  it("asks the subscription lookup for the publishing tenant only, and addresses every message to it", async () => {
    const ports = fakePorts(
      { "order.paid": ["wh_a1"], "order.*": ["wh_a2"] },
      { t_2: { "order.paid": ["wh_b1"], "*": ["wh_b2"] } },
    );
    const result = await publish("t_2", { type: "order.paid", data: {} }, ports.deps);
    expect(ports.queried).toEqual([
      ["t_2", "order.paid"],
      ["t_2", "order.*"],
      ["t_2", "*"],
    ]);
    expect(result.deliveries).toBe(2);
    expect(ports.sent.flat().map((message) => [message.tenantId, message.webhookId])).toEqual([
      ["t_2", "wh_b1"],
      ["t_2", "wh_b2"],
    ]);
    expect(ports.event(result.eventId, "t_2")?.tenantId).toBe("t_2");
    expect(ports.event(result.eventId)).toBeUndefined();
  });

  it("keeps idempotency per tenant: one event id in two tenants is two independent events", async () => {
    const ports = fakePorts({ "order.paid": ["wh_a"] }, { t_2: { "order.paid": ["wh_b"] } });
    const first = await publish(TENANT, { id: "evt_same", type: "order.paid", data: { n: 1 } }, ports.deps);
    // Another payload under the same id is no conflict in another tenant: nothing of t_1's is looked at.
    const second = await publish("t_2", { id: "evt_same", type: "order.paid", data: { n: 2 } }, ports.deps);
    expect([first, second]).toEqual([
      { eventId: "evt_same", deliveries: 1, duplicate: false },
      { eventId: "evt_same", deliveries: 1, duplicate: false },
    ]);
    expect(ports.event("evt_same")?.data).toEqual({ n: 1 });
    expect(ports.event("evt_same", "t_2")?.data).toEqual({ n: 2 });
    expect(ports.sent.flat().map((message) => [message.tenantId, message.webhookId])).toEqual([
      [TENANT, "wh_a"],
      ["t_2", "wh_b"],
    ]);

    // Each tenant's repeat is a duplicate of its own event only.
    const repeat = await publish("t_2", { id: "evt_same", type: "order.paid", data: { n: 2 } }, ports.deps);
    expect(repeat).toEqual({ eventId: "evt_same", deliveries: 1, duplicate: true });
    await expect(
      publish(TENANT, { id: "evt_same", type: "order.paid", data: { n: 2 } }, ports.deps),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(ports.sent.flat()).toHaveLength(2);
  });
});

describe("patternsMatching", () => {
  it("lists the type, each prefix wildcard from the most specific, and *", () => {
    expect(patternsMatching("a")).toEqual(["a", "*"]);
    expect(patternsMatching("order.item.added")).toEqual([
      "order.item.added",
      "order.item.*",
      "order.*",
      "*",
    ]);
  });
});

describe("fromEventBridge", () => {
  it("maps the sample events from two AWS services and a custom app", () => {
    expect(fromEventBridge(fixture("eventbridge/ec2-instance-state-change.json"))).toMatchObject({
      id: "evt_7bf73129-1428-4cd3-a780-95db273d1602",
      type: "EC2-Instance-State-change-Notification",
      source: "aws.ec2",
      timestamp: "2026-11-28T12:00:00Z",
    });
    expect(fromEventBridge(fixture("eventbridge/s3-object-created.json"))).toMatchObject({
      type: "Object-Created",
      source: "aws.s3",
    });
    expect(fromEventBridge(fixture("eventbridge/custom-order-completed.json"))).toMatchObject({
      type: "order.completed",
    });
  });

  it("wraps a non-object detail", () => {
    const event = { id: "1", "detail-type": "x", source: "s", time: "2026-11-28T12:00:00Z", detail: [1, 2] };
    expect(fromEventBridge(event).data).toEqual({ value: [1, 2] });
  });
});

describe("publishBatch", () => {
  const ids = (messages: readonly DeliveryMessage[] | undefined) =>
    (messages ?? []).map((message) => `${message.eventId}>${message.webhookId}`).sort();

  it("reads each tenant and looks each pattern up once, and sends the whole batch's messages in one enqueue", async () => {
    const ports = fakePorts({ "order.created": ["wh_1"], "order.*": ["wh_2"] });
    let tenantReads = 0;
    const deps: PublishDeps = {
      ...ports.deps,
      tenants: {
        get: async (id) => {
          tenantReads += 1;
          return ports.tenants.get(id);
        },
      },
    };
    const items = Array.from({ length: 12 }, (_, n) => ({
      tenantId: TENANT,
      request: { id: `evt_b${n}`, type: "order.created", data: { n } },
    }));
    const outcomes = await publishBatch(items, deps);
    expect(outcomes.map((outcome) => outcome.ok && outcome.result)).toEqual(
      items.map(({ request }) => ({ eventId: request.id, deliveries: 2, duplicate: false })),
    );
    expect(tenantReads).toBe(1);
    expect(ports.queried).toEqual(["order.created", "order.*", "*"].map((pattern) => [TENANT, pattern]));
    expect(ports.sent).toHaveLength(1);
    expect(ids(ports.sent[0])).toEqual(
      items.flatMap(({ request }) => [`${request.id}>wh_1`, `${request.id}>wh_2`]).sort(),
    );
    for (const { request } of items) expect(ports.event(request.id)?.fanout?.deliveries).toBe(2);
  });

  it("publishes an id repeated in the batch once: the same content is a repeat, other content a 409", async () => {
    const ports = fakePorts({ "a.b": ["wh_1"] });
    const outcomes = await publishBatch(
      [
        { tenantId: TENANT, request: { id: "evt_same", type: "a.b", data: { v: 1 } } },
        { tenantId: TENANT, request: { id: "evt_same", type: "a.b", data: { v: 1 } } },
        { tenantId: TENANT, request: { id: "evt_same", type: "a.b", data: { v: 2 } } },
      ],
      ports.deps,
    );
    expect(outcomes[0]).toEqual({
      ok: true,
      result: { eventId: "evt_same", deliveries: 1, duplicate: false },
    });
    expect(outcomes[1]).toEqual({
      ok: true,
      result: { eventId: "evt_same", deliveries: 1, duplicate: true },
    });
    expect(outcomes[2]?.ok === false && outcomes[2].error).toBeInstanceOf(ConflictError);
    expect(ids(ports.sent.flat())).toEqual(["evt_same>wh_1"]);
    expect(ports.event("evt_same")?.data).toEqual({ v: 1 });
  });

  it("keeps each event's failure its own: an unknown tenant, a too large body, an already published id", async () => {
    const ports = fakePorts({ "a.b": ["wh_1"] }, { t_2: { "a.b": ["wh_9"] } });
    await publish(TENANT, { id: "evt_old", type: "a.b", data: { v: 1 } }, ports.deps);
    const outcomes = await publishBatch(
      [
        { tenantId: "t_missing", request: { id: "evt_1", type: "a.b", data: {} } },
        { tenantId: TENANT, request: { id: "evt_2", type: "a.b", data: { big: "x".repeat(300_000) } } },
        { tenantId: TENANT, request: { id: "evt_old", type: "a.b", data: { v: 2 } } },
        { tenantId: TENANT, request: { id: "evt_old", type: "a.b", data: { v: 1 } } },
        { tenantId: "t_2", request: { id: "evt_1", type: "a.b", data: {} } },
      ],
      ports.deps,
    );
    const errorOf = (index: number) => {
      const outcome = outcomes[index];
      return outcome && !outcome.ok ? outcome.error : undefined;
    };
    expect(errorOf(0)).toBeInstanceOf(NotFoundError);
    expect(errorOf(1)).toBeInstanceOf(PayloadTooLargeError);
    expect(errorOf(2)).toBeInstanceOf(ConflictError);
    expect(outcomes[3]).toEqual({ ok: true, result: { eventId: "evt_old", deliveries: 1, duplicate: true } });
    expect(outcomes[4]).toEqual({ ok: true, result: { eventId: "evt_1", deliveries: 1, duplicate: false } });
    expect(ports.event("evt_1")).toBeUndefined();
    expect(ports.event("evt_2")).toBeUndefined();
    expect(ids(ports.sent.flat())).toEqual(["evt_1>wh_9", "evt_old>wh_1"]);
  });

  it("when some messages are not sent, only their events fail; the others complete and are not repeated", async () => {
    const ports = fakePorts({ "a.b": ["wh_1", "wh_2"] }, { t_2: { "a.b": ["wh_9"] } });
    let refuseTenant: string | undefined = "t_2";
    const deps: PublishDeps = {
      ...ports.deps,
      queue: {
        enqueue: async (messages) => {
          const unsent = messages.flatMap((message, index) =>
            message.tenantId === refuseTenant ? [index] : [],
          );
          await ports.deps.queue.enqueue(messages.filter((message) => message.tenantId !== refuseTenant));
          if (unsent.length > 0) throw new EnqueueError(unsent);
        },
      },
    };
    const items = [
      { tenantId: "t_2", request: { id: "evt_p", type: "a.b", data: {} } },
      { tenantId: TENANT, request: { id: "evt_q", type: "a.b", data: {} } },
      { tenantId: TENANT, request: { id: "evt_r", type: "a.b", data: {} } },
    ];
    const first = await publishBatch(items, deps);
    expect(first.map((outcome) => outcome.ok)).toEqual([false, true, true]);
    expect(ports.event("evt_p", "t_2")?.fanout).toBeUndefined();
    expect(ports.event("evt_q")?.fanout?.deliveries).toBe(2);
    refuseTenant = undefined;
    const repeated = await publishBatch(items, deps);
    expect(repeated.map((outcome) => outcome.ok && outcome.result.duplicate)).toEqual([true, true, true]);
    // Each delivery enqueued once: the events that completed were not sent again.
    expect(ids(ports.sent.flat())).toEqual([
      "evt_p>wh_9",
      "evt_q>wh_1",
      "evt_q>wh_2",
      "evt_r>wh_1",
      "evt_r>wh_2",
    ]);
  });

  it("when the enqueue fails, the events with messages fail and give their lease up; a repeat completes them", async () => {
    const ports = fakePorts({ "a.b": ["wh_1"] });
    const items = [
      { tenantId: TENANT, request: { id: "evt_x", type: "a.b", data: {} } },
      { tenantId: TENANT, request: { id: "evt_none", type: "nobody.listens", data: {} } },
    ];
    ports.failEnqueueOnce();
    const failed = await publishBatch(items, ports.deps);
    expect(failed[0]?.ok).toBe(false);
    expect(failed[1]).toEqual({ ok: true, result: { eventId: "evt_none", deliveries: 0, duplicate: false } });
    expect(ports.event("evt_x")?.fanout).toBeUndefined();
    const repeated = await publishBatch(items, ports.deps);
    expect(repeated[0]).toEqual({ ok: true, result: { eventId: "evt_x", deliveries: 1, duplicate: true } });
    expect(ids(ports.sent.flat())).toEqual(["evt_x>wh_1"]);
    expect(ports.sent.flat()[0]?.copy).toBe(1);
  });
});
