/**
 * The ledger's conditional write against DynamoDB Local: one transaction per batch, each delivery put conditional
 * on the record its batch read, the attempt landing with it or not at all. This is what keeps two copies of one
 * delivery processed at once from both recording (docs/delivery.md, "One live chain of attempts per delivery").
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDeliveryRepository } from "#aws/delivery-repository.ts";
import { DynamoHealthRepository } from "#aws/health-repository.ts";
import type { Attempt, Delivery } from "#core/shared/model.ts";
import { isolatedResources, localClients } from "#test/support/local-aws.ts";
import { countSdkCalls, type SdkCallCounter } from "#test/support/sdk-call-counter.ts";
import { withTransactionConflicts } from "#test/support/transaction-conflicts.ts";

let ledger: DynamoDeliveryRepository;
let healthRecords: DynamoHealthRepository;
let calls: SdkCallCounter;
let transactionConflicts: () => number;

beforeAll(async () => {
  const clients = localClients();
  calls = countSdkCalls(clients.dynamodb);
  transactionConflicts = withTransactionConflicts(clients.dynamodb).conflicts;
  const resources = await isolatedResources(clients);
  ledger = new DynamoDeliveryRepository(clients.documents, resources.tableName, 30);
  healthRecords = new DynamoHealthRepository(clients.documents, resources.tableName);
});

const delivery = (id: string, changes: Partial<Delivery> = {}): Delivery => ({
  id,
  tenantId: "t_ledger",
  eventId: `evt_${id}`,
  webhookId: "wh_ledger",
  eventType: "order.paid",
  status: "retrying",
  attempts: 1,
  series: 0,
  copy: 0,
  createdAt: "2026-12-01T00:00:00.000Z",
  updatedAt: "2026-12-01T00:00:01.000Z",
  ...changes,
});

const attempt = (of: Delivery, status: Attempt["status"]): Attempt => ({
  deliveryId: of.id,
  tenantId: of.tenantId,
  webhookId: of.webhookId,
  eventId: of.eventId,
  eventType: of.eventType,
  attempt: of.attempts,
  series: of.series ?? 0,
  status,
  durationMs: 1,
  timestamp: of.updatedAt,
});

describe("the ledger's conditional write (DynamoDB Local)", () => {
  it("of two copies that read no record, the second to write is superseded and its attempt never lands", async () => {
    const first = delivery("dlv_race_1", { status: "retrying", attempts: 1 });
    const second = delivery("dlv_race_1", {
      status: "delivered",
      attempts: 1,
      updatedAt: "2026-12-01T00:00:02.000Z",
    });
    const one = await ledger.record([
      { delivery: first, attempt: attempt(first, "failed"), expectedUpdatedAt: null },
    ]);
    const two = await ledger.record([
      { delivery: second, attempt: attempt(second, "succeeded"), expectedUpdatedAt: null },
    ]);
    expect([...one.superseded, ...one.failed]).toEqual([]);
    expect([...two.superseded]).toEqual(["dlv_race_1"]);
    expect(await ledger.getDelivery("dlv_race_1")).toMatchObject({ status: "retrying", attempts: 1 });
    const log = await ledger.attemptsOfDelivery("dlv_race_1");
    expect(log.items.map((item) => item.status)).toEqual(["failed"]);
  });

  it("a write against a record that moved on since it was read is superseded; against the one read, it lands", async () => {
    const read = delivery("dlv_race_2");
    await ledger.record([{ delivery: read, expectedUpdatedAt: null }]);
    const moved = delivery("dlv_race_2", { attempts: 2, updatedAt: "2026-12-01T00:00:05.000Z" });
    expect(
      (await ledger.record([{ delivery: moved, expectedUpdatedAt: read.updatedAt }])).superseded.size,
    ).toBe(0);
    const stale = delivery("dlv_race_2", {
      status: "delivered",
      attempts: 2,
      updatedAt: "2026-12-01T00:00:06.000Z",
    });
    const outcome = await ledger.record([{ delivery: stale, expectedUpdatedAt: read.updatedAt }]);
    expect([...outcome.superseded]).toEqual(["dlv_race_2"]);
    expect(await ledger.getDelivery("dlv_race_2")).toMatchObject({ status: "retrying", attempts: 2 });
  });

  it("a write that meets the reset of its own new series (recorded after it read) lands on top of it", async () => {
    const failed = delivery("dlv_race_3", { status: "failed", attempts: 8, reason: "exhausted:http_500" });
    await ledger.record([{ delivery: failed, expectedUpdatedAt: null }]);
    // The redriven message (series 1, copy 7) read the failed record; the redrive's reset landed after that read.
    const reset = delivery("dlv_race_3", {
      status: "pending",
      attempts: 0,
      series: 1,
      copy: 7,
      updatedAt: "2026-12-01T00:00:09.000Z",
    });
    await ledger.saveAll([{ delivery: reset, expectedUpdatedAt: failed.updatedAt }]);
    const outcome = delivery("dlv_race_3", {
      status: "delivered",
      attempts: 1,
      series: 1,
      copy: 7,
      updatedAt: "2026-12-01T00:00:10.000Z",
    });
    const written = await ledger.record([
      { delivery: outcome, attempt: attempt(outcome, "succeeded"), expectedUpdatedAt: failed.updatedAt },
    ]);
    expect([...written.superseded, ...written.failed]).toEqual([]);
    expect(await ledger.getDelivery("dlv_race_3")).toMatchObject({
      status: "delivered",
      series: 1,
      attempts: 1,
    });
  });

  it("a restart's reset lands only over the record it read (an attempt recorded first is kept)", async () => {
    const failed = delivery("dlv_race_4", { status: "failed", attempts: 8 });
    await ledger.record([{ delivery: failed, expectedUpdatedAt: null }]);
    const attempted = delivery("dlv_race_4", { status: "delivered", attempts: 1, series: 1, copy: 3 });
    await ledger.record([{ delivery: { ...attempted, updatedAt: "2026-12-01T00:00:11.000Z" } }]);
    const reset = delivery("dlv_race_4", { status: "pending", attempts: 0, series: 1, copy: 3 });
    expect([...(await ledger.saveAll([{ delivery: reset, expectedUpdatedAt: failed.updatedAt }]))]).toEqual([
      "dlv_race_4",
    ]);
    expect(await ledger.getDelivery("dlv_race_4")).toMatchObject({ status: "delivered", attempts: 1 });
  });
});

describe("health counts beside the ledger (DynamoDB Local)", () => {
  it("concurrent batches to one webhook all record at once, and every batch's counts are added", async () => {
    const batches = 12;
    const delta = (n: number) => ({
      tenantId: "t_ledger",
      webhookId: "wh_busy",
      at: `2026-12-01T00:00:${String(n).padStart(2, "0")}.000Z`,
      attempts: 10,
      failures: 0,
      windowCurrent: true,
      succeeded: true,
    });
    calls.reset();
    const outcomes = await Promise.all(
      Array.from({ length: batches }, (_, n) => {
        const records = Array.from({ length: 10 }, (_, index) => {
          const record = delivery(`dlv_busy_${n}_${index}`, {
            webhookId: "wh_busy",
            status: "delivered",
          });
          return { delivery: record, attempt: attempt(record, "succeeded"), expectedUpdatedAt: null };
        });
        return ledger.record(records, [delta(n)]);
      }),
    );
    // With AWS's transaction conflicts: one transaction per batch, none cancelled and tried again for another
    // batch's update of the same health record, and every batch's deliveries landed.
    expect(transactionConflicts()).toBe(0);
    expect(calls.count("TransactWriteItemsCommand")).toBe(batches);
    for (const outcome of outcomes) {
      expect(outcome.failed.size).toBe(0);
      expect(outcome.superseded.size).toBe(0);
      expect(outcome.healthCountsLost).toBeUndefined();
    }
    const recorded = await ledger.getDeliveries(
      Array.from({ length: batches * 10 }, (_, n) => `dlv_busy_${Math.floor(n / 10)}_${n % 10}`),
    );
    expect(recorded.size).toBe(batches * 10);
    expect(await healthRecords.get("t_ledger", "wh_busy")).toMatchObject({ windowAttempts: batches * 10 });
  });
});

describe("a success that stops the failure clock (DynamoDB Local)", () => {
  it("lands with its records in the ledger transaction, even when plain health updates fail", async () => {
    const clients = localClients();
    const resources = await isolatedResources(clients);
    const repository = new DynamoDeliveryRepository(clients.documents, resources.tableName, 30);
    const health = new DynamoHealthRepository(clients.documents, resources.tableName);
    const failing = {
      tenantId: "t_ledger",
      webhookId: "wh_recovering",
      at: "2026-11-25T00:00:00.000Z",
      attempts: 1,
      failures: 1,
      windowCurrent: false,
      succeeded: false,
    };
    await repository.record([], [failing]);
    expect(await health.get("t_ledger", "wh_recovering")).toMatchObject({ failingSince: failing.at });
    // From here on every plain UpdateItem fails (throttling, say): only what rides in the transaction lands.
    clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateItemCommand") throw new Error("ProvisionedThroughputExceeded");
        return next(args);
      },
      { step: "initialize", name: "failPlainUpdates" },
    );
    const success = delivery("dlv_recovered", { webhookId: "wh_recovering", status: "delivered" });
    const outcome = await repository.record(
      [{ delivery: success, attempt: attempt(success, "succeeded"), expectedUpdatedAt: null }],
      [{ ...failing, at: "2026-12-01T00:00:00.000Z", failures: 0, succeeded: true, stopsFailureClock: true }],
    );
    expect(outcome.failed.size).toBe(0);
    const record = await health.get("t_ledger", "wh_recovering");
    expect(record?.failingSince).toBeUndefined();
    expect(record?.lastSuccessAt).toBe("2026-12-01T00:00:00.000Z");
  });
});
