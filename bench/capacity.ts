/**
 * Capacity units as DynamoDB reports them: a middleware asks every call for `ReturnConsumedCapacity: "INDEXES"`
 * and adds up what comes back, table and each index apart (DynamoDB Local reports both). What the cost model
 * prices, measured rather than assumed.
 */
import type { ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { webhooksTable } from "#core/shared/resource-definitions.ts";

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

/**
 * DynamoDB Local reports a TransactWriteItems of many items as if it were far fewer (1 unit per delivery where a
 * delivery writes two items and three index entries). With a replay, each action of a transaction is priced the way
 * AWS bills it instead: the same write, from the item's state before the transaction, into an identical shadow
 * table through an unmetered client, which DynamoDB Local prices per item size and per index entry (a new entry,
 * a moved key's delete and put); the table part doubled (a transactional write costs two units per KB) and the
 * index part not (indexes are updated after the transaction completes, as plain writes).
 */
export interface TransactionReplay {
  /** A document client without the meter, on the same endpoint. */
  readonly documents: DynamoDBDocumentClient;
  /** A table made from the same definition (`webhooksTable`), used only for pricing. */
  readonly shadowTable: string;
}

type Item = Record<string, unknown>;
type Action = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
const tableKey = (item: Item): Item =>
  Object.fromEntries(
    [webhooksTable.partitionKey, webhooksTable.sortKey].map(({ name }) => [name, item[name]]),
  );
const actionKey = (action: Action): Item =>
  action.Put ? tableKey(action.Put.Item ?? {}) : (action.Update?.Key ?? action.Delete?.Key ?? {});
const actionTable = (action: Action) =>
  action.Put?.TableName ?? action.Update?.TableName ?? action.Delete?.TableName;

/**
 * The actions of a document client's transaction (the meter runs before the document client marshals its input,
 * so keys are plain values here) if all are Puts, Updates or Deletes; undefined otherwise or for a low-level client.
 */
function documentActions(input: Record<string, unknown>): Action[] | undefined {
  const actions = (input.TransactItems ?? []) as Action[];
  const priceable = actions.every(
    (action) =>
      (action.Put ?? action.Update ?? action.Delete) !== undefined &&
      typeof actionKey(action)[webhooksTable.partitionKey.name] === "string",
  );
  return priceable ? actions : undefined;
}

/** The same action as a plain call on the shadow table, asking what it costs. */
function onShadow(action: Action, shadowTable: string) {
  const asked = { TableName: shadowTable, ReturnConsumedCapacity: "INDEXES" as const };
  if (action.Put) return new PutCommand({ ...action.Put, Item: action.Put.Item ?? {}, ...asked });
  if (action.Update) return new UpdateCommand({ ...action.Update, Key: action.Update.Key ?? {}, ...asked });
  return new DeleteCommand({ ...action.Delete, Key: action.Delete?.Key ?? {}, ...asked });
}

/** What AWS bills for each action of a successful transaction, given each item's state before it. */
async function replayTransaction(
  replay: TransactionReplay,
  actions: readonly Action[],
  before: readonly (Item | undefined)[],
): Promise<ConsumedCapacity[]> {
  const { documents, shadowTable } = replay;
  return Promise.all(
    actions.map(async (action, index) => {
      const key = actionKey(action);
      await documents.send(new DeleteCommand({ TableName: shadowTable, Key: key }));
      const previous = before[index];
      if (previous) await documents.send(new PutCommand({ TableName: shadowTable, Item: previous }));
      // Commands of different kinds: each sent on its own, only ConsumedCapacity read back.
      const priced = (await documents.send(onShadow(action, shadowTable) as PutCommand)) as {
        ConsumedCapacity?: ConsumedCapacity;
      };
      await documents.send(new DeleteCommand({ TableName: shadowTable, Key: key }));
      const consumed = splitUnits(priced.ConsumedCapacity ?? {}, true);
      const table = 2 * (consumed.Table?.WriteCapacityUnits ?? 0);
      const indexes = Object.values(consumed.GlobalSecondaryIndexes ?? {}).reduce(
        (sum, units) => sum + (units.WriteCapacityUnits ?? 0),
        0,
      );
      return {
        WriteCapacityUnits: table + indexes,
        Table: { WriteCapacityUnits: table },
        GlobalSecondaryIndexes: consumed.GlobalSecondaryIndexes ?? {},
      };
    }),
  );
}

/** Sends a document client's transaction and prices it by replay. */
async function sendPricedTransaction<R>(
  replay: TransactionReplay,
  actions: readonly Action[],
  send: () => Promise<R>,
  record: (consumed: ConsumedCapacity) => void,
): Promise<R> {
  const before = await Promise.all(
    actions.map(
      async (action) =>
        (
          await replay.documents.send(
            new GetCommand({ TableName: actionTable(action), Key: actionKey(action), ConsistentRead: true }),
          )
        ).Item,
    ),
  );
  const result = await send();
  for (const entry of await replayTransaction(replay, actions, before)) record(entry);
  return result;
}

const reported = (output: unknown): ConsumedCapacity[] => {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity;
  return Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
};

export function meterCapacity(client: DynamoDBClient, replay?: TransactionReplay): CapacityMeter {
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
      const input = (args as { input: Record<string, unknown> }).input;
      input.ReturnConsumedCapacity = "INDEXES";
      const actions = replay && name === "TransactWriteItemsCommand" ? documentActions(input) : undefined;
      if (replay && actions) return sendPricedTransaction(replay, actions, () => next(args), record);
      const result = await next(args);
      const writes = /Put|Update|Delete|Write/.test(name);
      for (const entry of reported(result.output)) record(splitUnits(entry, writes));
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
