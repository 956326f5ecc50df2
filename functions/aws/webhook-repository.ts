/**
 * Webhooks and their subscription index. A webhook and its index items change in one transaction; the index
 * (`SUB#<pattern> / WEBHOOK#<id>`, carrying `active`) lets publishing find subscribers with one Query per pattern.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ConflictError, NotFoundError } from "#core/errors.ts";
import type { Webhook } from "#core/model.ts";
import { batchGetRecords } from "./batch-get.ts";
import { keys, withoutKeys } from "./table-keys.ts";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
const MAX_TRANSACTION_ITEMS = 100;

export interface WebhookPage {
  readonly webhooks: Webhook[];
  readonly cursor?: Record<string, unknown> | undefined;
}

export class DynamoWebhookRepository {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#table = tableName;
  }

  async get(id: string): Promise<Webhook | undefined> {
    const { Item } = await this.#documents.send(
      // Strongly consistent: a conditional write follows, and a record just created must be found.
      new GetCommand({ TableName: this.#table, Key: keys.webhook(id), ConsistentRead: true }),
    );
    return Item ? withoutKeys<Webhook>(Item) : undefined;
  }

  async require(id: string): Promise<Webhook> {
    const webhook = await this.get(id);
    if (!webhook) throw new NotFoundError(`webhook ${id}`);
    return webhook;
  }

  #webhookPut(
    webhook: Webhook,
    condition: { expression: string; values?: Record<string, unknown> },
  ): TransactItem {
    return {
      Put: {
        TableName: this.#table,
        Item: {
          ...keys.webhook(webhook.id),
          ...keys.webhookListing(webhook.createdAt, webhook.id),
          ...webhook,
        },
        ConditionExpression: condition.expression,
        ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}),
      },
    };
  }

  #subscriptionPut(webhook: Webhook, pattern: string): TransactItem {
    return {
      Put: {
        TableName: this.#table,
        Item: {
          ...keys.subscription(pattern, webhook.id),
          webhookId: webhook.id,
          pattern,
          active: webhook.active,
        },
      },
    };
  }

  #subscriptionDelete(pattern: string, webhookId: string): TransactItem {
    return { Delete: { TableName: this.#table, Key: keys.subscription(pattern, webhookId) } };
  }

  async #transact(items: TransactItem[], conflictMessage: string): Promise<void> {
    try {
      await this.#documents.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      const cancelled = error instanceof TransactionCanceledException;
      const conditionFailed =
        cancelled && error.CancellationReasons?.some((reason) => reason.Code === "ConditionalCheckFailed");
      if (conditionFailed || error instanceof ConditionalCheckFailedException)
        throw new ConflictError(conflictMessage);
      throw error;
    }
  }

  async create(webhook: Webhook): Promise<void> {
    await this.#transact(
      [
        this.#webhookPut(webhook, { expression: "attribute_not_exists(pk)" }),
        ...webhook.eventTypes.map((pattern) => this.#subscriptionPut(webhook, pattern)),
      ],
      `webhook ${webhook.id} already exists`,
    );
  }

  /**
   * Replaces `previous` with `next` if nobody changed it meanwhile (`version` check). Index items for removed
   * patterns are deleted, the others (re)written with the current `active` flag. Past DynamoDB's 100-item
   * transaction limit the removals go in a second transaction; a stale index item in between only costs a
   * delivery that is dropped, because delivery re-checks the webhook's patterns.
   */
  async replace(previous: Webhook, next: Webhook): Promise<void> {
    const removed = previous.eventTypes.filter((pattern) => !next.eventTypes.includes(pattern));
    const main = [
      this.#webhookPut(next, {
        expression: "version = :expected",
        values: { ":expected": previous.version },
      }),
      ...next.eventTypes.map((pattern) => this.#subscriptionPut(next, pattern)),
    ];
    const removals = removed.map((pattern) => this.#subscriptionDelete(pattern, next.id));
    const conflict = `webhook ${next.id} was changed by someone else (version ${previous.version} is stale)`;
    if (main.length + removals.length <= MAX_TRANSACTION_ITEMS)
      return this.#transact([...main, ...removals], conflict);
    await this.#transact(main, conflict);
    await this.#documents.send(new TransactWriteCommand({ TransactItems: removals }));
  }

  async delete(webhook: Webhook): Promise<void> {
    await this.#transact(
      [
        {
          Delete: {
            TableName: this.#table,
            Key: keys.webhook(webhook.id),
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": webhook.version },
          },
        },
        ...webhook.eventTypes.map((pattern) => this.#subscriptionDelete(pattern, webhook.id)),
      ],
      `webhook ${webhook.id} was changed by someone else`,
    );
  }

  /**
   * Turns a webhook off (e.g. after a 410), retrying if it changed concurrently. With `onlyIfUrl`, only while
   * the webhook still points there: a 410 from a URL the owner has since moved away from disables nothing.
   */
  async disable(
    id: string,
    reason: string,
    onlyIfUrl?: string,
    now: () => Date = () => new Date(),
  ): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      const current = await this.get(id);
      if (!current?.active) return;
      if (onlyIfUrl !== undefined && current.url !== onlyIfUrl) return;
      const at = now().toISOString();
      try {
        return await this.replace(current, {
          ...current,
          active: false,
          disabledReason: reason,
          updatedAt: at,
          version: current.version + 1,
        });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    throw new ConflictError(`webhook ${id} kept changing while being disabled`);
  }

  /** Webhooks by id (BatchGetItem), in the order asked; missing ones are skipped. */
  async getMany(ids: readonly string[]): Promise<Webhook[]> {
    const found = await batchGetRecords<Webhook>(
      this.#documents,
      this.#table,
      ids.map((id) => keys.webhook(id)),
    );
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  /** Ids of every webhook (active or not) subscribed with exactly `pattern`. */
  async subscribedWebhookIds(pattern: string): Promise<{ id: string; active: boolean }[]> {
    const found: { id: string; active: boolean }[] = [];
    let cursor: QueryCommandInput["ExclusiveStartKey"];
    do {
      const page = await this.#documents.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.subscriptionPartition(pattern) },
          ProjectionExpression: "webhookId, active",
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? [])
        found.push({ id: String(item.webhookId), active: item.active === true });
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return found;
  }

  /** Ids of the active webhooks subscribed with exactly `pattern` (one paginated Query). */
  async activeWebhookIds(pattern: string): Promise<string[]> {
    return (await this.subscribedWebhookIds(pattern))
      .filter((entry) => entry.active)
      .map((entry) => entry.id);
  }

  /** Newest first, `limit` per page; `cursor` is DynamoDB's LastEvaluatedKey (the API makes it opaque). */
  async list(limit: number, cursor?: Record<string, unknown>, active?: boolean): Promise<WebhookPage> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ...(active === undefined ? {} : { FilterExpression: "active = :active" }),
        ExpressionAttributeValues: {
          ":pk": "WEBHOOKS",
          ...(active === undefined ? {} : { ":active": active }),
        },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      webhooks: (page.Items ?? []).map((item) => withoutKeys<Webhook>(item)),
      cursor: page.LastEvaluatedKey,
    };
  }
}
