/**
 * Capacity units as DynamoDB reports them: a middleware asks every call for `ReturnConsumedCapacity: "INDEXES"`
 * and adds up what comes back, table and each index apart (DynamoDB Local reports both). What the cost model
 * prices, measured rather than assumed.
 */
import type { ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface CapacityTotals {
  readUnits: number;
  writeUnits: number;
  /** Units by where they were spent: `table` or the index name, then `read`/`write`. */
  readonly byTarget: Record<string, { read: number; write: number }>;
}

export interface CapacityMeter {
  readonly totals: CapacityTotals;
  reset(): void;
}

const CAPACITY_COMMANDS = new Set([
  "GetItemCommand",
  "PutItemCommand",
  "UpdateItemCommand",
  "DeleteItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "BatchWriteItemCommand",
  "TransactWriteItemsCommand",
  "TransactGetItemsCommand",
]);

/** Some calls report only `CapacityUnits`: count them as reads or writes by the operation's kind. */
function splitUnits(entry: ConsumedCapacity, writes: boolean): ConsumedCapacity {
  if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) return entry;
  const split = (units: number | undefined) => ({
    ReadCapacityUnits: writes ? 0 : (units ?? 0),
    WriteCapacityUnits: writes ? (units ?? 0) : 0,
  });
  return {
    ...entry,
    ...split(entry.CapacityUnits),
    ...(entry.Table ? { Table: split(entry.Table.CapacityUnits) } : {}),
    GlobalSecondaryIndexes: Object.fromEntries(
      Object.entries(entry.GlobalSecondaryIndexes ?? {}).map(([index, units]) => [
        index,
        split(units.CapacityUnits),
      ]),
    ),
  };
}

export function meterCapacity(client: DynamoDBClient): CapacityMeter {
  const totals: CapacityTotals = { readUnits: 0, writeUnits: 0, byTarget: {} };
  const add = (target: string, read: number, write: number) => {
    const entry = totals.byTarget[target] ?? { read: 0, write: 0 };
    entry.read += read;
    entry.write += write;
    totals.byTarget[target] = entry;
  };
  const record = (consumed: ConsumedCapacity) => {
    const table = consumed.Table;
    add("table", table?.ReadCapacityUnits ?? 0, table?.WriteCapacityUnits ?? 0);
    for (const [name, units] of Object.entries(consumed.GlobalSecondaryIndexes ?? {}))
      add(name, units.ReadCapacityUnits ?? 0, units.WriteCapacityUnits ?? 0);
    totals.readUnits += consumed.ReadCapacityUnits ?? 0;
    totals.writeUnits += consumed.WriteCapacityUnits ?? 0;
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "";
      if (!CAPACITY_COMMANDS.has(name)) return next(args);
      (args as { input: Record<string, unknown> }).input.ReturnConsumedCapacity = "INDEXES";
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
      const consumed = output.ConsumedCapacity;
      const writes = /Put|Update|Delete|Write/.test(name);
      for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : [])
        record(splitUnits(entry, writes));
      return result;
    },
    { step: "initialize", name: `capacityMeter${Math.random()}` },
  );
  return {
    totals,
    reset() {
      totals.readUnits = 0;
      totals.writeUnits = 0;
      for (const key of Object.keys(totals.byTarget)) delete totals.byTarget[key];
    },
  };
}
