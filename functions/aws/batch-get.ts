/** BatchGetItem over any number of keys: 100 per request, unprocessed keys retried with backoff, bounded rounds. */
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { backoffMs, sleep, withoutKeys } from "./table-keys.ts";

const MAX_KEYS_PER_REQUEST = 100;
const MAX_ROUNDS = 6;

/** The items found for `keys`, with their key attributes; missing ones are simply absent. */
export async function batchGetItems(
  documents: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, string>[],
  consistentRead = false,
): Promise<Record<string, unknown>[]> {
  const chunks = Array.from({ length: Math.ceil(keys.length / MAX_KEYS_PER_REQUEST) }, (_, index) =>
    keys.slice(index * MAX_KEYS_PER_REQUEST, (index + 1) * MAX_KEYS_PER_REQUEST),
  );
  // A large batch's chunks are read at once: its latency is one request's, not one per hundred keys.
  const found = await Promise.all(chunks.map((chunk) => readChunk(documents, table, chunk, consistentRead)));
  return found.flat();
}

async function readChunk(
  documents: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, string>[],
  consistentRead: boolean,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let request: BatchGetCommandInput["RequestItems"] = {
    [table]: { Keys: [...keys], ConsistentRead: consistentRead },
  };
  for (let round = 0; request && Object.keys(request).length > 0; round += 1) {
    if (round >= MAX_ROUNDS) throw new Error("BatchGetItem kept returning unprocessed keys");
    if (round > 0) await sleep(backoffMs(round));
    const response: BatchGetCommandOutput = await documents.send(
      new BatchGetCommand({ RequestItems: request }),
    );
    found.push(...(response.Responses?.[table] ?? []));
    request = response.UnprocessedKeys;
  }
  return found;
}

/** The records found for `keys`, by their `id`; missing ones are simply absent. */
export async function batchGetRecords<T extends { id: string }>(
  documents: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, string>[],
  consistentRead = false,
): Promise<Map<string, T>> {
  const items = await batchGetItems(documents, table, keys, consistentRead);
  return new Map(items.map((item) => withoutKeys<T>(item)).map((record) => [record.id, record]));
}
