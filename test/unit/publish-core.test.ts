import { describe, expect, it } from "vitest";
import { ConflictError, PayloadTooLargeError } from "#core/errors.ts";
import { patternsMatching } from "#core/event-types.ts";
import { fromEventBridge } from "#core/eventbridge.ts";
import { deliveryIdFor } from "#core/ids.ts";
import type { DeliveryMessage } from "#core/model.ts";
import { INLINE_BODY_LIMIT_BYTES, type PublishDeps, publish, type StoredEvent } from "#core/publish.ts";
import { fixture } from "#test/support/fixtures.ts";

function fakePorts(subscribers: Record<string, string[]>) {
  const events = new Map<string, StoredEvent>();
  const sent: DeliveryMessage[][] = [];
  const queried: string[] = [];
  let failNextEnqueue = false;
  const deps: PublishDeps = {
    events: {
      createIfAbsent: async (event) => {
        const existing = events.get(event.id);
        if (!existing) events.set(event.id, event);
        return existing;
      },
      markFannedOut: async (eventId, deliveries, at) => {
        const event = events.get(eventId) as StoredEvent;
        events.set(eventId, { ...event, fanout: { deliveries, completedAt: at } });
      },
    },
    subscriptions: {
      activeWebhookIds: async (pattern) => {
        queried.push(pattern);
        return subscribers[pattern] ?? [];
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
    now: () => new Date("2026-11-28T12:00:00Z"),
  };
  return { deps, events, sent, queried, failEnqueueOnce: () => (failNextEnqueue = true) };
}

describe("publish", () => {
  it("queries one partition per matching pattern and enqueues one message per distinct webhook", async () => {
    const ports = fakePorts({ "a.b.c": ["wh_1"], "a.*": ["wh_2", "wh_1"], "*": ["wh_3"] });
    const result = await publish({ type: "a.b.c", data: { x: 1 } }, ports.deps);
    expect(ports.queried).toEqual(["a.b.c", "a.b.*", "a.*", "*"]);
    expect(result).toMatchObject({ deliveries: 3, duplicate: false });
    expect(ports.sent[0]?.map((message) => message.webhookId).sort()).toEqual(["wh_1", "wh_2", "wh_3"]);
    expect(ports.sent[0]?.[0]?.deliveryId).toBe(
      deliveryIdFor(result.eventId, ports.sent[0]?.[0]?.webhookId ?? ""),
    );
  });

  it("inlines small bodies and leaves large ones to be read at delivery", async () => {
    const ports = fakePorts({ big: ["wh_1"], small: ["wh_1"] });
    await publish({ type: "small", data: { note: "hi" } }, ports.deps);
    await publish({ type: "big", data: { note: "x".repeat(INLINE_BODY_LIMIT_BYTES) } }, ports.deps);
    expect(ports.sent[0]?.[0]?.body).toBeDefined();
    expect(ports.sent[1]?.[0]?.body).toBeUndefined();
  });

  it("refuses an event above 256 KiB", async () => {
    const ports = fakePorts({});
    await expect(
      publish({ type: "big", data: { note: "x".repeat(262_144) } }, ports.deps),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(ports.events.size).toBe(0);
  });

  it("is idempotent on the id, 409s on a different payload, and finishes an interrupted fan-out on a retry", async () => {
    const ports = fakePorts({ "order.paid": ["wh_1", "wh_2"] });
    const request = { id: "evt_fixed", type: "order.paid", data: { n: 1 } };
    ports.failEnqueueOnce();
    await expect(publish(request, ports.deps)).rejects.toThrow("SQS unavailable");
    expect(ports.events.get("evt_fixed")?.fanout).toBeUndefined();

    const retried = await publish(request, ports.deps);
    expect(retried).toEqual({ eventId: "evt_fixed", deliveries: 2, duplicate: true });
    expect(ports.sent).toHaveLength(1);

    const repeated = await publish(request, ports.deps);
    expect(repeated.deliveries).toBe(2);
    expect(ports.sent).toHaveLength(1);
    await expect(publish({ ...request, data: { n: 2 } }, ports.deps)).rejects.toBeInstanceOf(ConflictError);
  });

  it("serializes the envelope once, in the contract's field order", async () => {
    const ports = fakePorts({ "a.b": ["wh_1"] });
    await publish(
      { id: "evt_1", type: "a.b", source: "svc", timestamp: "2026-11-28T13:00:00+01:00", data: { k: "v" } },
      ports.deps,
    );
    expect(ports.sent[0]?.[0]?.body).toBe(
      '{"id":"evt_1","type":"a.b","timestamp":"2026-11-28T12:00:00.000Z","version":"1.0","source":"svc","data":{"k":"v"}}',
    );
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
