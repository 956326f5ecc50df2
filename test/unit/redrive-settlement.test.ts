/** What a redrive does with each DLQ letter, decided against the delivery's current record (`settleLetters`). */
import { describe, expect, it } from "vitest";
import { recoverFailures, settleLetters } from "#core/delivery/recovery.ts";
import type { Delivery, DeliveryMessage } from "#core/shared/model.ts";

const NOW = new Date("2026-12-01T12:00:00.000Z");

const letter = (changes: Partial<DeliveryMessage> = {}): DeliveryMessage => ({
  tenantId: "t_1",
  deliveryId: "dlv_1",
  eventId: "evt_1",
  webhookId: "wh_1",
  eventType: "order.paid",
  series: 0,
  copy: 0,
  ...changes,
});

const record = (changes: Partial<Delivery> = {}): Delivery => ({
  id: "dlv_1",
  tenantId: "t_1",
  eventId: "evt_1",
  webhookId: "wh_1",
  eventType: "order.paid",
  status: "failed",
  attempts: 8,
  series: 0,
  copy: 0,
  reason: "exhausted:http_500",
  createdAt: "2026-12-01T00:00:00.000Z",
  updatedAt: "2026-12-01T01:00:00.000Z",
  ...changes,
});

function settle(letters: DeliveryMessage[], current: Delivery | undefined) {
  return settleLetters(letters, {
    deliveries: {
      getDelivery: async () => current,
      getDeliveries: async () => new Map(current ? [[current.id, current]] : []),
      replaceIfUnchanged: async () => true,
      saveAll: async () => new Set(),
      failedDeliveriesOfWebhook: async () => [],
    },
    now: () => NOW,
    random: () => 0.5,
  });
}

describe("a redrive settles each letter against the delivery's current record", () => {
  it("moves a failed delivery's letter as a new series, the reset conditional on the record read", async () => {
    const [settlement] = await settle([letter()], record());
    expect(settlement).toMatchObject({
      action: "move",
      message: { series: 1 },
      next: {
        delivery: { status: "pending", attempts: 0, series: 1 },
        expectedUpdatedAt: record().updatedAt,
      },
    });
  });

  it("discards a letter whose delivery was since delivered, or dropped", async () => {
    for (const status of ["delivered", "dropped"] as const)
      expect(await settle([letter()], record({ status }))).toMatchObject([{ action: "discard" }]);
  });

  it("discards a letter that a newer series or a higher copy has taken over", async () => {
    expect(await settle([letter()], record({ series: 1, status: "retrying" }))).toMatchObject([
      { action: "discard" },
    ]);
    expect(await settle([letter({ copy: 0 })], record({ copy: 2, status: "retrying" }))).toMatchObject([
      { action: "discard" },
    ]);
  });

  it("moves a letter whose chain is still live (moved by maxReceiveCount or a dependency failure)", async () => {
    expect(await settle([letter()], record({ status: "retrying", attempts: 3 }))).toMatchObject([
      { action: "move", message: { series: 1 } },
    ]);
  });

  it("moves one of two letters of the same delivery, and discards the other", async () => {
    const settlements = await settle([letter(), letter()], record());
    expect(settlements.map((settlement) => settlement.action)).toEqual(["move", "discard"]);
  });

  it("moves a letter with no record as it is (never attempted)", async () => {
    expect(await settle([letter()], undefined)).toEqual([{ action: "move", message: letter() }]);
  });
});

describe("recover enqueues before it records", () => {
  it("an enqueue that fails writes nothing: the deliveries stay failed, and the call fails", async () => {
    const saved: unknown[] = [];
    const deps = {
      deliveries: {
        getDelivery: async () => undefined,
        getDeliveries: async () => new Map(),
        replaceIfUnchanged: async () => true,
        saveAll: async (restarts: readonly unknown[]) => {
          saved.push(...restarts);
          return new Set<string>();
        },
        failedDeliveriesOfWebhook: async () => [record()],
      },
      events: {
        get: async () => undefined,
        getMany: async () =>
          new Map([
            [
              "evt_1",
              {
                id: "evt_1",
                tenantId: "t_1",
                type: "order.paid",
                timestamp: "",
                version: "1.0",
                source: "api",
                data: {},
                body: "{}",
                fingerprint: "",
                createdAt: "",
              },
            ],
          ]),
      },
      queue: {
        enqueue: async (): Promise<void> => {
          throw new Error("SQS unavailable");
        },
      },
      now: () => NOW,
    };
    const window = { since: "2026-12-01T00:00:00.000Z", until: "2026-12-01T12:00:00.000Z" };
    await expect(recoverFailures("t_1", "wh_1", window, deps)).rejects.toThrow("SQS unavailable");
    expect(saved).toEqual([]);
    deps.queue.enqueue = async () => undefined;
    expect(await recoverFailures("t_1", "wh_1", window, deps)).toEqual({ recovered: 1, truncated: false });
    expect(saved).toMatchObject([
      { delivery: { series: 1, status: "pending" }, expectedUpdatedAt: record().updatedAt },
    ]);
  });
});
