/**
 * Events, stored once (conditional put on the id) with a TTL. The item keeps the exact body to deliver and not
 * a second copy of `data`, so a 256 KiB event stays well inside DynamoDB's 400 KB item limit. Until its fan-out
 * completes, the item holds a lease (who may fan it out, until when). It enters the sparse "due" index only when
 * a repeat of the publish was answered while another publisher held the lease: then nobody who could repeat it
 * is waiting for an error, and the reconciler must finish the fan-out if that publisher died. A publisher that
 * fails answers with an error its caller retries (EventBridge retries for 24 hours), so the first write of an
 * event costs no index write.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { EventSummary, FanOutLease, StoredEvent } from "#core/publishing/publish.ts";
import { TtlCache } from "#core/shared/ttl-cache.ts";
import { batchGetItems } from "./batch-get.ts";
import { backoffMs, expiresAt, keys, sleep, withoutKeys } from "./table-keys.ts";

type EventItem = Omit<StoredEvent, "data">;

function fromItem(item: Record<string, unknown>): StoredEvent {
  const stored = withoutKeys<EventItem & { fanoutLease?: unknown }>(item);
  const { fanoutLease: _lease, ...event } = stored;
  const envelope = JSON.parse(event.body) as { data: Record<string, unknown> };
  return { ...event, data: envelope.data };
}

export class DynamoEventRepository {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionDays: number;
  /** Bodies found, by event id: an event never changes, so a found body can be kept; absence never is. */
  readonly #bodies = new TtlCache<string | undefined>({
    ttlMs: 5 * 60_000,
    maxEntries: 200,
    keepIf: (body) => body !== undefined,
  });

  constructor(documents: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
    this.#documents = documents;
    this.#table = tableName;
    this.#retentionDays = retentionDays;
  }

  async createIfAbsent(event: StoredEvent, lease: FanOutLease): Promise<StoredEvent | undefined> {
    const { data: _data, ...stored } = event;
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...keys.event(event.tenantId, event.id),
            ...keys.eventListing(event.tenantId, event.createdAt, event.id),
            ...stored,
            fanoutLease: lease,
            expiresAt: expiresAt(new Date(event.createdAt), this.#retentionDays),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.get(event.tenantId, event.id)) ?? undefined;
    }
  }

  /**
   * Takes over an unfinished fan-out whose lease ran out (its publisher crashed or timed out); returns the new
   * lease's generation, or undefined while another publisher holds a valid lease or the fan-out is done.
   */
  async acquireFanOut(
    tenantId: string,
    eventId: string,
    now: string,
    until: string,
  ): Promise<number | undefined> {
    try {
      const { Attributes } = await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keys.event(tenantId, eventId),
          UpdateExpression:
            "SET fanoutLease.#until = :until, fanoutLease.generation = fanoutLease.generation + :one",
          ConditionExpression: "attribute_not_exists(fanout) AND fanoutLease.#until < :now",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: { ":until": until, ":now": now, ":one": 1 },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      const lease = Attributes?.fanoutLease as { generation?: unknown } | undefined;
      return typeof lease?.generation === "number" ? lease.generation : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async markDue(tenantId: string, eventId: string, until: string): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keys.event(tenantId, eventId),
          UpdateExpression: "SET gsi3pk = :pk, gsi3sk = :sk",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(fanout)",
          ExpressionAttributeValues: {
            ":pk": keys.due(`${tenantId}#${eventId}`, until).gsi3pk,
            ":sk": until,
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async releaseFanOut(tenantId: string, eventId: string, generation: number): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keys.event(tenantId, eventId),
          UpdateExpression: "SET fanoutLease.#until = :expired",
          ConditionExpression: "attribute_not_exists(fanout) AND fanoutLease.generation = :generation",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: { ":expired": new Date(0).toISOString(), ":generation": generation },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async markFannedOut(tenantId: string, eventId: string, deliveries: number, at: string): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keys.event(tenantId, eventId),
        UpdateExpression: "SET fanout = :fanout REMOVE fanoutLease, gsi3pk, gsi3sk",
        ExpressionAttributeValues: { ":fanout": { deliveries, completedAt: at } },
      }),
    );
  }

  async get(tenantId: string, eventId: string): Promise<StoredEvent | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: keys.event(tenantId, eventId), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  /** Several events of one tenant by id (strongly consistent BatchGetItem); missing ones are absent. */
  async getMany(tenantId: string, eventIds: readonly string[]): Promise<Map<string, StoredEvent>> {
    const items = await batchGetItems(
      this.#documents,
      this.#table,
      eventIds.map((id) => keys.event(tenantId, id)),
      true,
    );
    return new Map(items.map((item) => fromItem(item)).map((event) => [event.id, event]));
  }

  /** A tenant's events newest first (summaries: no `data`), optionally of one type (filtered per page). */
  async list(
    tenantId: string,
    limit: number,
    cursor?: Record<string, unknown>,
    type?: string,
  ): Promise<{ items: EventSummary[]; cursor?: Record<string, unknown> | undefined }> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: "gsi4",
        KeyConditionExpression: "gsi4pk = :pk",
        ...(type === undefined
          ? {}
          : { FilterExpression: "#type = :type", ExpressionAttributeNames: { "#type": "type" } }),
        ExpressionAttributeValues: {
          ":pk": keys.eventListing(tenantId, "", "").gsi4pk,
          ...(type === undefined ? {} : { ":type": type }),
        },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => withoutKeys<EventSummary>(item)),
      cursor: page.LastEvaluatedKey,
    };
  }

  /** Deletes up to `limit` of a tenant's events (found through its listing); answers how many. */
  async deleteSome(tenantId: string, limit: number): Promise<number> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: "gsi4",
        KeyConditionExpression: "gsi4pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.eventListing(tenantId, "", "").gsi4pk },
        ProjectionExpression: "pk, sk",
        Limit: limit,
      }),
    );
    const items = page.Items ?? [];
    for (let start = 0; start < items.length; start += 25) {
      let requests: { DeleteRequest: { Key: Record<string, unknown> } }[] = items
        .slice(start, start + 25)
        .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }));
      for (let round = 0; requests.length > 0; round += 1) {
        if (round >= 6) throw new Error("BatchWriteItem kept returning unprocessed deletes");
        if (round > 0) await sleep(backoffMs(round));
        const response = await this.#documents.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
        );
        requests = (response.UnprocessedItems?.[this.#table] ?? []).flatMap((request) =>
          request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
        );
      }
    }
    return items.length;
  }

  /**
   * The exact body to deliver, read strongly consistent (a delivery may follow its publish within
   * milliseconds) and kept per container once found: one large event fanned out to many webhooks is read once.
   */
  body(tenantId: string, eventId: string): Promise<string | undefined> {
    return this.#bodies.getOrLoad(`${tenantId}#${eventId}`, async () => {
      const { Item } = await this.#documents.send(
        new GetCommand({
          TableName: this.#table,
          Key: keys.event(tenantId, eventId),
          ProjectionExpression: "body",
          ConsistentRead: true,
        }),
      );
      return typeof Item?.body === "string" ? Item.body : undefined;
    });
  }
}
