import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { webhooksTable } from "#core/shared/resource-definitions.ts";
import type { ProvisionedResources } from "#local/provision.ts";
import { isolatedResources, localClients } from "#test/support/local-aws.ts";

describe("DynamoDB Local with the shared table definition", () => {
  const clients = localClients();
  let resources: ProvisionedResources;

  beforeAll(async () => {
    resources = await isolatedResources(clients);
  });

  it("creates the table with the definition's keys, indexes and TTL attribute", async () => {
    const { Table } = await clients.dynamodb.send(
      new DescribeTableCommand({ TableName: resources.tableName }),
    );
    expect(Table?.KeySchema).toEqual([
      { AttributeName: webhooksTable.partitionKey.name, KeyType: "HASH" },
      { AttributeName: webhooksTable.sortKey.name, KeyType: "RANGE" },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(
      webhooksTable.globalSecondaryIndexes.map((index) => index.indexName).sort(),
    );
    const ttl = await clients.dynamodb.send(
      new DescribeTimeToLiveCommand({ TableName: resources.tableName }),
    );
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(webhooksTable.timeToLiveAttribute);
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe("ENABLED");
  });

  it("puts, gets, and queries items on the table and on a secondary index", async () => {
    const items = [1, 2, 3].map((n) => ({
      pk: "WEBHOOK#wh_1",
      sk: `ATTEMPT#${n}`,
      gsi1pk: "ATTEMPTS#wh_1",
      gsi1sk: `2026-11-28T12:00:0${n}Z`,
      status: n === 3 ? "succeeded" : "failed",
    }));
    for (const item of items) {
      await clients.documents.send(new PutCommand({ TableName: resources.tableName, Item: item }));
    }

    const got = await clients.documents.send(
      new GetCommand({ TableName: resources.tableName, Key: { pk: "WEBHOOK#wh_1", sk: "ATTEMPT#2" } }),
    );
    expect(got.Item).toEqual(items[1]);

    const newestFirst = await clients.documents.send(
      new QueryCommand({
        TableName: resources.tableName,
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": "ATTEMPTS#wh_1" },
        ScanIndexForward: false,
      }),
    );
    expect(newestFirst.Items?.map((item) => item.sk)).toEqual(["ATTEMPT#3", "ATTEMPT#2", "ATTEMPT#1"]);
  });

  it("provisioning twice is harmless (a second local start reuses the table)", async () => {
    const { provisionResources } = await import("#local/provision.ts");
    const prefix = resources.tableName.replace(`-${webhooksTable.logicalName}`, "");
    const again = await provisionResources(clients, prefix);
    expect(again).toEqual(resources);
  });
});
