/**
 * The event-type catalogue in the table: `EVENT_TYPES / TYPE#<name>` per type and `EVENT_TYPES / COUNT`, which the
 * create transaction keeps exact so that the catalogue never grows past its limit. Reads that decide (strict mode,
 * replace) are strongly consistent.
 */
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  CATALOGUE_LIMITS,
  type EventTypeDefinition,
  type EventTypePage,
  type EventTypeStore,
  type PublishCatalogue,
} from "#core/routing/catalogue.ts";
import { ConflictError } from "#core/shared/errors.ts";
import { batchGetItems } from "./batch-get.ts";
import { keys, withoutKeys } from "./table-keys.ts";

export class DynamoEventTypeRepository implements EventTypeStore, PublishCatalogue {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#table = tableName;
  }

  async get(name: string): Promise<EventTypeDefinition | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: keys.eventType(name), ConsistentRead: true }),
    );
    return Item ? withoutKeys<EventTypeDefinition>(Item) : undefined;
  }

  /** Publish's read: whether and how the type validates (strongly consistent, so the cache bounds freshness). */
  async validationOf(name: string) {
    const { Item } = await this.#documents.send(
      new GetCommand({
        TableName: this.#table,
        Key: keys.eventType(name),
        ConsistentRead: true,
        ProjectionExpression: "#schema, #validate, version",
        ExpressionAttributeNames: { "#schema": "schema", "#validate": "validate" },
      }),
    );
    if (!Item) return undefined;
    return {
      schema: Item.schema as Record<string, unknown> | undefined,
      validate: Item.validate === true,
      version: Number(Item.version),
    };
  }

  async create(definition: EventTypeDefinition): Promise<void> {
    try {
      await this.#documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#table,
                Key: keys.eventTypeCount(),
                UpdateExpression: "ADD #count :one",
                ConditionExpression: "attribute_not_exists(#count) OR #count < :max",
                ExpressionAttributeNames: { "#count": "count" },
                ExpressionAttributeValues: { ":one": 1, ":max": CATALOGUE_LIMITS.maxTypes },
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { ...keys.eventType(definition.name), ...definition },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const [count, put] = (error.CancellationReasons ?? []).map((reason) => reason.Code);
        if (count === "ConditionalCheckFailed")
          throw new ConflictError(
            `the catalogue already holds ${CATALOGUE_LIMITS.maxTypes} event types, the most allowed (archived ones count)`,
          );
        if (put === "ConditionalCheckFailed")
          throw new ConflictError(`event type ${definition.name} was created meanwhile; repeat the PUT`);
      }
      throw error;
    }
  }

  async replace(previous: EventTypeDefinition, next: EventTypeDefinition): Promise<void> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...keys.eventType(next.name), ...next },
          ConditionExpression: "version = :expected",
          ExpressionAttributeValues: { ":expected": previous.version },
        }),
      );
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException")
        throw new ConflictError(`event type ${next.name} was changed meanwhile; repeat the request`);
      throw error;
    }
  }

  async list(limit: number, cursor?: Record<string, unknown>): Promise<EventTypePage> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :types)",
        ExpressionAttributeValues: { ":pk": keys.eventType("").pk, ":types": "TYPE#" },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => withoutKeys<EventTypeDefinition>(item)),
      cursor: page.LastEvaluatedKey,
    };
  }

  async isLive(name: string): Promise<boolean> {
    const { Item } = await this.#documents.send(
      new GetCommand({
        TableName: this.#table,
        Key: keys.eventType(name),
        ConsistentRead: true,
        ProjectionExpression: "archivedAt, sk",
      }),
    );
    return Item !== undefined && Item.archivedAt === undefined;
  }

  async anyLiveWithPrefix(prefix: string): Promise<boolean> {
    let cursor: QueryCommandInput["ExclusiveStartKey"];
    do {
      const page = await this.#documents.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          FilterExpression: "attribute_not_exists(archivedAt)",
          ExpressionAttributeValues: { ":pk": keys.eventType("").pk, ":prefix": `TYPE#${prefix}` },
          ProjectionExpression: "sk",
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      if ((page.Items ?? []).length > 0) return true;
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return false;
  }

  async getMany(names: readonly string[]): Promise<Map<string, EventTypeDefinition>> {
    const items = await batchGetItems(
      this.#documents,
      this.#table,
      names.map((name) => keys.eventType(name)),
    );
    const found = items.map((item) => withoutKeys<EventTypeDefinition>(item));
    return new Map(found.map((definition) => [definition.name, definition]));
  }
}
