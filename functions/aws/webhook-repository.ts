/**
 * Webhooks, in their tenant's partition (`TENANT#<t> / WEBHOOK#<id>`), and their subscription index
 * (`SUB#<t>#<pattern> / WEBHOOK#<id>`, carrying `active`), which lets publishing find one tenant's subscribers with
 * one Query per pattern. A webhook, its index items and its tenant's webhook count change in one transaction, so
 * the per-tenant limit is exact under concurrent creates.
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
import type { Subscription } from "#core/publishing/publish.ts";
import type { Filter } from "#core/routing/filter.ts";
import { ConflictError, NotFoundError, WebhookLimitError } from "#core/shared/errors.ts";
import type { Webhook } from "#core/shared/model.ts";
import { batchGetRecords } from "./batch-get.ts";
import { keys, withoutKeys } from "./table-keys.ts";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
const MAX_TRANSACTION_ITEMS = 100;

export interface IndexedSubscription {
  readonly id: string;
  readonly active: boolean;
  readonly filter?: Filter | undefined;
}

export interface WebhookPage {
  readonly webhooks: Webhook[];
  readonly cursor?: Record<string, unknown> | undefined;
}

export class DynamoWebhookRepository {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #maxPerTenant: number;

  constructor(documents: DynamoDBDocumentClient, tableName: string, maxPerTenant = Number.MAX_SAFE_INTEGER) {
    this.#documents = documents;
    this.#table = tableName;
    this.#maxPerTenant = maxPerTenant;
  }

  async get(tenantId: string, id: string): Promise<Webhook | undefined> {
    const { Item } = await this.#documents.send(
      // Strongly consistent: a conditional write follows, and a record just created must be found.
      new GetCommand({ TableName: this.#table, Key: keys.webhook(tenantId, id), ConsistentRead: true }),
    );
    return Item ? withoutKeys<Webhook>(Item) : undefined;
  }

  async require(tenantId: string, id: string): Promise<Webhook> {
    const webhook = await this.get(tenantId, id);
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
        Item: { ...keys.webhook(webhook.tenantId, webhook.id), ...webhook },
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
          ...keys.subscription(webhook.tenantId, pattern, webhook.id),
          webhookId: webhook.id,
          pattern,
          active: webhook.active,
          // Publish reads the filter with the subscription, in the same Query (no second read per webhook).
          ...(webhook.filter ? { filter: webhook.filter } : {}),
        },
      },
    };
  }

  #subscriptionDelete(webhook: Webhook, pattern: string): TransactItem {
    return {
      Delete: { TableName: this.#table, Key: keys.subscription(webhook.tenantId, pattern, webhook.id) },
    };
  }

  #countChange(tenantId: string, delta: 1 | -1): TransactItem {
    return {
      Update: {
        TableName: this.#table,
        Key: keys.tenant(tenantId),
        UpdateExpression: "ADD webhookCount :delta",
        // A new webhook needs a live tenant below its limit; a removal only a tenant that still exists.
        ConditionExpression:
          delta > 0
            ? "attribute_exists(pk) AND attribute_not_exists(deleting) AND webhookCount < :max"
            : "attribute_exists(pk)",
        ExpressionAttributeValues: { ":delta": delta, ...(delta > 0 ? { ":max": this.#maxPerTenant } : {}) },
      },
    };
  }

  async #transact(
    items: TransactItem[],
    onConditionFailed: (reasons: (string | undefined)[]) => Error,
  ): Promise<void> {
    try {
      await this.#documents.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = (error.CancellationReasons ?? []).map((reason) => reason.Code);
        if (reasons.includes("ConditionalCheckFailed")) throw onConditionFailed(reasons);
      }
      if (error instanceof ConditionalCheckFailedException) throw onConditionFailed([]);
      throw error;
    }
  }

  /** Creates the webhook if its tenant exists and has room for one more (else a 404 or a 409 naming the limit). */
  async create(webhook: Webhook): Promise<void> {
    await this.#transact(
      [
        this.#countChange(webhook.tenantId, 1),
        this.#webhookPut(webhook, { expression: "attribute_not_exists(pk)" }),
        ...webhook.eventTypes.map((pattern) => this.#subscriptionPut(webhook, pattern)),
      ],
      (reasons) => {
        if (reasons[0] !== "ConditionalCheckFailed")
          return new ConflictError(`webhook ${webhook.id} already exists`);
        return new WebhookLimitError(this.#maxPerTenant);
      },
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
    const removals = removed.map((pattern) => this.#subscriptionDelete(next, pattern));
    const conflict = () =>
      new ConflictError(
        `webhook ${next.id} was changed by someone else (version ${previous.version} is stale)`,
      );
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
            Key: keys.webhook(webhook.tenantId, webhook.id),
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": webhook.version },
          },
        },
        ...webhook.eventTypes.map((pattern) => this.#subscriptionDelete(webhook, pattern)),
        { Delete: { TableName: this.#table, Key: keys.health(webhook.tenantId, webhook.id) } },
        this.#countChange(webhook.tenantId, -1),
      ],
      () => new ConflictError(`webhook ${webhook.id} was changed by someone else`),
    );
  }

  /**
   * Turns a webhook off (e.g. after a 410), retrying if it changed concurrently. With `onlyIfUrl`, only while
   * the webhook still points there: a 410 from a URL the owner has since moved away from disables nothing.
   * True only for the call whose write turned it off (the version check lets exactly one win).
   */
  async disable(
    tenantId: string,
    id: string,
    reason: string,
    onlyIfUrl?: string,
    now: () => Date = () => new Date(),
  ): Promise<boolean> {
    for (let round = 0; round < 3; round += 1) {
      const current = await this.get(tenantId, id);
      if (!current?.active) return false;
      if (onlyIfUrl !== undefined && current.url !== onlyIfUrl) return false;
      const at = now().toISOString();
      try {
        await this.replace(current, {
          ...current,
          active: false,
          disabledReason: reason,
          updatedAt: at,
          version: current.version + 1,
        });
        return true;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    throw new ConflictError(`webhook ${id} kept changing while being disabled`);
  }

  /** One tenant's webhooks by id (BatchGetItem), in the order asked; missing ones are skipped. */
  async getMany(tenantId: string, ids: readonly string[]): Promise<Webhook[]> {
    const found = await batchGetRecords<Webhook>(
      this.#documents,
      this.#table,
      ids.map((id) => keys.webhook(tenantId, id)),
    );
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  /** Every webhook of the tenant (active or not) subscribed with exactly `pattern`, with its filter. */
  async subscribedWebhookIds(tenantId: string, pattern: string): Promise<IndexedSubscription[]> {
    const found: IndexedSubscription[] = [];
    let cursor: QueryCommandInput["ExclusiveStartKey"];
    do {
      const page = await this.#documents.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.subscriptionPartition(tenantId, pattern) },
          ProjectionExpression: "webhookId, active, #filter",
          ExpressionAttributeNames: { "#filter": "filter" },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? [])
        found.push({
          id: String(item.webhookId),
          active: item.active === true,
          ...(item.filter ? { filter: item.filter as Filter } : {}),
        });
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return found;
  }

  /** The tenant's webhooks subscribed with exactly `pattern`, active or not, with their filters (one paginated Query). */
  async subscriptions(tenantId: string, pattern: string): Promise<Subscription[]> {
    return (await this.subscribedWebhookIds(tenantId, pattern)).map((entry) => ({
      webhookId: entry.id,
      ...(entry.filter ? { filter: entry.filter } : {}),
    }));
  }

  /** Ids of the tenant's active webhooks subscribed with exactly `pattern` (one paginated Query). */
  async activeWebhookIds(tenantId: string, pattern: string): Promise<string[]> {
    return (await this.subscribedWebhookIds(tenantId, pattern))
      .filter((entry) => entry.active)
      .map((entry) => entry.id);
  }

  /** A tenant's webhooks newest first, `limit` per page; `cursor` is DynamoDB's LastEvaluatedKey. */
  async list(
    tenantId: string,
    limit: number,
    cursor?: Record<string, unknown>,
    active?: boolean,
  ): Promise<WebhookPage> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :webhooks)",
        ...(active === undefined ? {} : { FilterExpression: "active = :active" }),
        ExpressionAttributeValues: {
          ":pk": keys.webhook(tenantId, "").pk,
          ":webhooks": "WEBHOOK#",
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

  /** Up to `limit` ids of a tenant's webhooks, read strongly consistent (for deleting the tenant page by page). */
  async idsOfTenant(tenantId: string, limit: number): Promise<string[]> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :webhooks)",
        ExpressionAttributeValues: { ":pk": keys.webhook(tenantId, "").pk, ":webhooks": "WEBHOOK#" },
        ProjectionExpression: "id",
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => String(item.id));
  }
}
