/** Events, stored once (conditional put on the id) with a TTL, and their bodies for large-payload delivery. */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { EventStore, StoredEvent } from "#core/publish.ts";
import { TtlCache } from "#core/ttl-cache.ts";
import { expiresAt, keys, withoutKeys } from "./table-keys.ts";

export class DynamoEventRepository implements EventStore {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionDays: number;
  readonly #bodies = new TtlCache<string | undefined>({ ttlMs: 5 * 60_000, maxEntries: 200 });

  constructor(documents: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
    this.#documents = documents;
    this.#table = tableName;
    this.#retentionDays = retentionDays;
  }

  async createIfAbsent(event: StoredEvent): Promise<StoredEvent | undefined> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...keys.event(event.id),
            ...event,
            expiresAt: expiresAt(new Date(event.createdAt), this.#retentionDays),
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.get(event.id)) ?? undefined;
    }
  }

  async markFannedOut(eventId: string, deliveries: number, at: string): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keys.event(eventId),
        UpdateExpression: "SET fanout = :fanout",
        ExpressionAttributeValues: { ":fanout": { deliveries, completedAt: at } },
      }),
    );
  }

  async get(eventId: string): Promise<StoredEvent | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: keys.event(eventId), ConsistentRead: true }),
    );
    return Item ? withoutKeys<StoredEvent>(Item) : undefined;
  }

  /** The exact body to deliver, cached per container: one large event fanned out to many webhooks is read once. */
  body(eventId: string): Promise<string | undefined> {
    return this.#bodies.getOrLoad(eventId, async () => {
      const { Item } = await this.#documents.send(
        new GetCommand({ TableName: this.#table, Key: keys.event(eventId), ProjectionExpression: "body" }),
      );
      return typeof Item?.body === "string" ? Item.body : undefined;
    });
  }
}
