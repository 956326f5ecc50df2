/** Tenants: `TENANT#<id> / META`, listed by id through gsi1 (`TENANTS`), with their webhook count. */

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { PutTenantInput, Tenant, TenantPage, TenantStore } from "#core/tenants/tenants.ts";
import { keys, withoutKeys } from "./table-keys.ts";

export class DynamoTenantRepository implements TenantStore {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#table = tableName;
  }

  async put(id: string, input: PutTenantInput, now: string): Promise<{ tenant: Tenant; created: boolean }> {
    const listing = keys.tenantListing(id);
    const { Attributes } = await this.#documents.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keys.tenant(id),
        UpdateExpression:
          "SET #id = :id, #name = :name, metadata = :metadata, updatedAt = :now, createdAt = if_not_exists(createdAt, :now), webhookCount = if_not_exists(webhookCount, :zero), gsi1pk = :listing, gsi1sk = :position REMOVE deleting",
        ExpressionAttributeNames: { "#id": "id", "#name": "name" },
        ExpressionAttributeValues: {
          ":id": id,
          ":name": input.name,
          ":metadata": input.metadata ?? {},
          ":now": now,
          ":zero": 0,
          ":listing": listing.gsi1pk,
          ":position": listing.gsi1sk,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    const tenant = withoutKeys<Tenant>(Attributes ?? {});
    return { tenant, created: tenant.createdAt === now && tenant.updatedAt === now };
  }

  async get(id: string): Promise<Tenant | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: keys.tenant(id), ConsistentRead: true }),
    );
    return Item ? withoutKeys<Tenant>(Item) : undefined;
  }

  async list(limit: number, cursor?: Record<string, unknown>): Promise<TenantPage> {
    const page = await this.#documents.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.tenantListing("").gsi1pk },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      tenants: (page.Items ?? []).map((item) => withoutKeys<Tenant>(item)),
      cursor: page.LastEvaluatedKey,
    };
  }

  async markDeleting(id: string, now: string): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keys.tenant(id),
        UpdateExpression: "SET deleting = :yes, updatedAt = :now",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":yes": true, ":now": now },
      }),
    );
  }

  async remove(id: string): Promise<void> {
    await this.#documents.send(new DeleteCommand({ TableName: this.#table, Key: keys.tenant(id) }));
  }
}
