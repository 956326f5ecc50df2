/**
 * Deliveries and attempts. The deliver Lambda reads a batch's deliveries, webhooks, health records and tenants with
 * BatchGetItem (100 keys per request) and writes every delivery and attempt of the batch in TransactWriteItems of up
 * to 100 items (one for a batch of up to 50), then each webhook's health counts with one UpdateItem.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import {
  type BatchState,
  type DeliveryLedger,
  type DeliveryRecord,
  type HealthDelta,
  type RecordOutcome,
  webhookKey,
} from "#core/delivery/deliver.ts";
import { isLive, isResetFor } from "#core/delivery/delivery-copies.ts";
import type { Restart } from "#core/delivery/recovery.ts";
import type { EndpointHealth } from "#core/health/endpoint-health.ts";
import type { Attempt, Delivery, Webhook } from "#core/shared/model.ts";
import type { Tenant } from "#core/tenants/tenants.ts";
import { batchGetItems, batchGetRecords } from "./batch-get.ts";
import { DynamoHealthRepository } from "./health-repository.ts";
import { backoffMs, expiresAt, keys, sleep, withoutKeys } from "./table-keys.ts";

/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
const MAX_ROUNDS = 6;

/** The items one record writes: its delivery, and its attempt when it has one. */
const itemsOf = (record: DeliveryRecord) => (record.attempt ? 2 : 1);

/**
 * The records packed into as few transactions as DynamoDB's item limit allows, a record's two items always in the
 * same one: 50 deliveries with their attempts, or 100 restarted records, per transaction.
 */
function transactionGroups(records: readonly DeliveryRecord[], reserved = 0): DeliveryRecord[][] {
  const groups: { records: DeliveryRecord[]; size: number }[] = [{ records: [], size: reserved }];
  for (const record of records) {
    let group = groups.at(-1);
    if (!group || group.size + itemsOf(record) > MAX_TRANSACTION_ITEMS) {
      group = { records: [], size: 0 };
      groups.push(group);
    }
    group.records.push(record);
    group.size += itemsOf(record);
  }
  return groups.filter((group) => group.records.length > 0).map((group) => group.records);
}

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: Record<string, unknown> | undefined;
}

export class DynamoDeliveryRepository implements DeliveryLedger {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionDays: number;
  readonly #health: DynamoHealthRepository;

  constructor(documents: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
    this.#documents = documents;
    this.#table = tableName;
    this.#retentionDays = retentionDays;
    this.#health = new DynamoHealthRepository(documents, tableName);
  }

  deliveryItem(delivery: Delivery): Record<string, unknown> {
    return {
      ...keys.delivery(delivery.id),
      ...keys.deliveryByEvent(delivery.tenantId, delivery.eventId, delivery.id),
      ...keys.deliveryByWebhook(delivery.webhookId, delivery.updatedAt, delivery.id),
      // Live deliveries are in the sparse "due" index, so the reconciler finds any that nothing will come for.
      ...(isLive(delivery) ? keys.due(delivery.id, delivery.nextAttemptAt ?? delivery.updatedAt) : {}),
      ...delivery,
      expiresAt: expiresAt(new Date(delivery.updatedAt), this.#retentionDays),
    };
  }

  attemptItem(attempt: Attempt): Record<string, unknown> {
    return {
      ...keys.attempt(attempt.deliveryId, attempt.attempt, attempt.series ?? 0),
      ...keys.attemptByWebhook(attempt.webhookId, attempt.timestamp, attempt.deliveryId, attempt.attempt),
      ...attempt,
      expiresAt: expiresAt(new Date(attempt.timestamp), this.#retentionDays),
    };
  }

  async getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    return (await this.getDeliveries([deliveryId])).get(deliveryId);
  }

  async save(delivery: Delivery): Promise<void> {
    await this.#documents.send(new PutCommand({ TableName: this.#table, Item: this.deliveryItem(delivery) }));
  }

  /**
   * Writes `next` only if the record is still at `expected`'s series and copy (nobody started another series
   * or copy meanwhile); false when it moved on.
   */
  async replaceIfUnchanged(expected: Delivery, next: Delivery): Promise<boolean> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.deliveryItem(next),
          ConditionExpression:
            "attribute_exists(pk) AND updatedAt = :updatedAt AND #status = :status AND attempts = :attempts",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":updatedAt": expected.updatedAt,
            ":status": expected.status,
            ":attempts": expected.attempts,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Ids of live deliveries and unfinished fan-outs due before `before`, in one shard of the "due" index. */
  async dueBefore(shard: number, before: string, limit: number): Promise<{ pk: string }[]> {
    const found: { pk: string }[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.#documents.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: "gsi3",
          KeyConditionExpression: "gsi3pk = :pk AND gsi3sk < :before",
          ExpressionAttributeValues: { ":pk": keys.duePartition(shard), ":before": before },
          Limit: Math.min(100, limit - found.length),
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) found.push({ pk: String(item.pk) });
      cursor = page.LastEvaluatedKey;
    } while (cursor && found.length < limit);
    return found;
  }

  /** The deliveries of one event that have been attempted at least once. */
  async deliveriesOfEvent(
    tenantId: string,
    eventId: string,
    limit = 100,
    cursor?: Record<string, unknown>,
  ): Promise<Page<Delivery>> {
    return this.#page(
      {
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.deliveryByEvent(tenantId, eventId, "").gsi1pk },
      },
      limit,
      cursor,
    );
  }

  /**
   * A webhook's deliveries that `recover` starts again, last updated within [since, until): those that ended
   * failed (in the DLQ), and those dropped because the webhook was disabled when they arrived.
   */
  async failedDeliveriesOfWebhook(
    webhookId: string,
    since: string,
    until: string,
    limit: number,
  ): Promise<Delivery[]> {
    const found: Delivery[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.#page<Delivery>(
        {
          IndexName: "gsi2",
          KeyConditionExpression: "gsi2pk = :pk AND gsi2sk BETWEEN :since AND :until",
          FilterExpression: "#status = :failed OR (#status = :dropped AND reason = :disabled)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":pk": keys.deliveryByWebhook(webhookId, "", "").gsi2pk,
            ":since": since,
            ":until": `${until}\uffff`,
            ":failed": "failed",
            ":dropped": "dropped",
            ":disabled": "webhook_disabled",
          },
        },
        100,
        cursor,
      );
      found.push(...page.items);
      cursor = page.cursor;
    } while (cursor && found.length < limit);
    return found.slice(0, limit);
  }

  /** A webhook's deliveries, most recently updated first (gsi2), optionally only those in one status. */
  deliveriesOfWebhook(
    webhookId: string,
    limit = 50,
    cursor?: Record<string, unknown>,
    status?: string,
  ): Promise<Page<Delivery>> {
    const pk = keys.deliveryByWebhook(webhookId, "", "").gsi2pk;
    return this.#indexPage("gsi2", pk, limit, cursor, status);
  }

  /** One delivery's attempts, newest first (all series). */
  async attemptsOfDelivery(
    deliveryId: string,
    limit = 100,
    cursor?: Record<string, unknown>,
  ): Promise<Page<Attempt>> {
    return this.#page(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :attempt)",
        ExpressionAttributeValues: { ":pk": keys.delivery(deliveryId).pk, ":attempt": "ATTEMPT#" },
      },
      limit,
      cursor,
    );
  }

  /** A webhook's attempts across deliveries, newest first. */
  attemptsOfWebhook(
    webhookId: string,
    limit = 50,
    cursor?: Record<string, unknown>,
    status?: string,
  ): Promise<Page<Attempt>> {
    const pk = keys.attemptByWebhook(webhookId, "", "", 0).gsi1pk;
    return this.#indexPage("gsi1", pk, limit, cursor, status);
  }

  /** One partition of an index, newest first, optionally only the items in one `status`. */
  #indexPage<T>(
    index: "gsi1" | "gsi2",
    pk: string,
    limit: number,
    cursor: Record<string, unknown> | undefined,
    status: string | undefined,
  ): Promise<Page<T>> {
    return this.#page(
      {
        IndexName: index,
        KeyConditionExpression: `${index}pk = :pk`,
        ...(status
          ? { FilterExpression: "#status = :status", ExpressionAttributeNames: { "#status": "status" } }
          : {}),
        ExpressionAttributeValues: { ":pk": pk, ...(status ? { ":status": status } : {}) },
      },
      limit,
      cursor,
    );
  }

  async #page<T>(
    query: Omit<QueryCommandInput, "TableName">,
    limit: number,
    cursor?: Record<string, unknown>,
  ): Promise<Page<T>> {
    const response = await this.#documents.send(
      new QueryCommand({
        ...query,
        TableName: this.#table,
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      items: (response.Items ?? []).map((item) => withoutKeys<T>(item)),
      cursor: response.LastEvaluatedKey,
    };
  }

  getDeliveries(deliveryIds: readonly string[]): Promise<Map<string, Delivery>> {
    return batchGetRecords<Delivery>(
      this.#documents,
      this.#table,
      deliveryIds.map((id) => keys.delivery(id)),
      true,
    );
  }

  async readState(
    deliveryIds: readonly string[],
    webhooks: readonly { tenantId: string; webhookId: string }[],
  ): Promise<BatchState> {
    const tenantIds = [...new Set(webhooks.map(({ tenantId }) => tenantId))];
    const items = await batchGetItems(
      this.#documents,
      this.#table,
      [
        ...deliveryIds.map((id) => keys.delivery(id)),
        ...webhooks.map(({ tenantId, webhookId }) => keys.webhook(tenantId, webhookId)),
        ...webhooks.map(({ tenantId, webhookId }) => keys.health(tenantId, webhookId)),
        ...tenantIds.map((tenantId) => keys.tenant(tenantId)),
      ],
      true,
    );
    const healthRecords = new Map<string, EndpointHealth>();
    const state: BatchState = {
      deliveries: new Map(),
      webhooks: new Map(),
      liveTenants: new Set(),
      health: healthRecords,
    };
    for (const item of items) {
      const sk = String(item.sk);
      if (sk.startsWith("HEALTH#")) {
        const health = withoutKeys<EndpointHealth>(item);
        healthRecords.set(
          webhookKey(String(item.pk).slice("TENANT#".length), sk.slice("HEALTH#".length)),
          health,
        );
      } else if (sk.startsWith("WEBHOOK#")) {
        const webhook = withoutKeys<Webhook>(item);
        state.webhooks.set(webhookKey(webhook.tenantId, webhook.id), webhook);
      } else if (String(item.pk).startsWith("TENANT#")) {
        const tenant = withoutKeys<Tenant>(item);
        if (!tenant.deleting) state.liveTenants.add(tenant.id);
      } else {
        const delivery = withoutKeys<Delivery>(item);
        state.deliveries.set(delivery.id, delivery);
      }
    }
    return state;
  }

  /** Writes restarted records, each conditional on the record it replaces; returns the ids not written. */
  async saveAll(restarts: readonly Restart[]): Promise<Set<string>> {
    const outcome = await this.record(restarts);
    return new Set([...outcome.failed, ...outcome.superseded]);
  }

  /**
   * As few TransactWriteItems as DynamoDB's 100-item limit allows (one for a batch of up to 50 deliveries with
   * their attempts): each delivery put is conditional on the
   * record its batch read (`expectedUpdatedAt`), and its attempt lands with it or not at all. Two copies of one
   * delivery processed at once therefore cannot both record: the later one is refused (superseded) instead of
   * overwriting the newer state — without a conditional call per delivery. Transactional writes cost twice the
   * write units of plain ones (see BENCHMARKS.md). Then each webhook's health counts, one plain update each (the
   * requests were made whatever became of their records).
   */
  async record(
    records: readonly DeliveryRecord[],
    health: readonly HealthDelta[] = [],
  ): Promise<RecordOutcome> {
    // One write per delivery: a batch may carry the same delivery twice (SQS delivers at least once).
    const byDelivery = new Map(records.map((record) => [record.delivery.id, record]));
    const failed = new Set<string>();
    const superseded = new Set<string>();
    // A success that stops a failure clock is counted in the first transaction, with the records; the rest after.
    const clockStops = health.filter((delta) => delta.stopsFailureClock);
    const counts = clockStops.map((delta) => ({ deliveryId: "", item: this.#health.countItem(delta) }));
    await Promise.all(
      transactionGroups([...byDelivery.values()], counts.length).map(async (group, index) => {
        let pending = group;
        for (let round = 0; pending.length > 0 && round < MAX_ROUNDS; round += 1) {
          if (round > 0) await sleep(backoffMs(round));
          pending = await this.#transactOnce(pending, superseded, index === 0 ? counts : []);
        }
        for (const record of pending) failed.add(record.delivery.id);
      }),
    );
    const plain = health.filter((delta) => !delta.stopsFailureClock);
    const counted = await Promise.allSettled(plain.map((delta) => this.#health.addCounts(delta)));
    const healthCountsLost = counted.filter((result) => result.status === "rejected").length;
    return { failed, superseded, ...(healthCountsLost > 0 ? { healthCountsLost } : {}) };
  }

  /** One try: the records still to write afterwards (none on success; those not refused after a cancellation). */
  async #transactOnce(
    pending: readonly DeliveryRecord[],
    superseded: Set<string>,
    counts: readonly { deliveryId: string; item: TransactItem }[] = [],
  ): Promise<DeliveryRecord[]> {
    const items = [...pending.flatMap((record) => this.#transactItems(record)), ...counts];
    try {
      await this.#documents.send(new TransactWriteCommand({ TransactItems: items.map(({ item }) => item) }));
      return [];
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) return [...pending];
      const refused = new Set(
        (error.CancellationReasons ?? []).flatMap((reason, index) =>
          reason.Code === "ConditionalCheckFailed" ? [items[index]?.deliveryId ?? ""] : [],
        ),
      );
      if (refused.size === 0) return [...pending];
      // A restart of this very series recorded after the message read the older record: write on top of it.
      const current = await this.getDeliveries([...refused]);
      const rebased = new Map<string, DeliveryRecord>();
      for (const record of pending) {
        if (!refused.has(record.delivery.id)) continue;
        const now = current.get(record.delivery.id);
        if (record.expectedUpdatedAt !== undefined && now && isResetFor(now, record.delivery))
          rebased.set(record.delivery.id, { ...record, expectedUpdatedAt: now.updatedAt });
        else superseded.add(record.delivery.id);
      }
      return pending.flatMap((record) =>
        refused.has(record.delivery.id) ? (rebased.get(record.delivery.id) ?? []) : [record],
      );
    }
  }

  #transactItems(record: DeliveryRecord): { deliveryId: string; item: TransactItem }[] {
    const expected = record.expectedUpdatedAt;
    const condition =
      expected === undefined
        ? {}
        : expected === null
          ? { ConditionExpression: "attribute_not_exists(pk)" }
          : {
              ConditionExpression: "updatedAt = :expected",
              ExpressionAttributeValues: { ":expected": expected },
            };
    const deliveryId = record.delivery.id;
    return [
      {
        deliveryId,
        item: { Put: { TableName: this.#table, Item: this.deliveryItem(record.delivery), ...condition } },
      },
      ...(record.attempt
        ? [{ deliveryId, item: { Put: { TableName: this.#table, Item: this.attemptItem(record.attempt) } } }]
        : []),
    ];
  }
}
