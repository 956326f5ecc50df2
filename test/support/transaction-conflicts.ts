/**
 * DynamoDB's transaction conflicts, which DynamoDB Local (one process, transactions one at a time) never produces:
 * a TransactWriteItems that touches an item another transaction in flight touches is cancelled with
 * `TransactionConflict` on those items, as AWS documents ("another transaction is in progress on the item").
 * A middleware on the client itself, so the code under test runs unchanged against the real engine.
 */
import { type DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";

type Action = Record<
  string,
  { TableName?: string; Item?: Record<string, unknown>; Key?: Record<string, unknown> }
>;

/** The table key of each action, as it is sent (`pk` and `sk`, in whatever form the input carries them). */
function keyOf(action: Action): string {
  const [body] = Object.values(action);
  const item = body?.Key ?? body?.Item ?? {};
  return JSON.stringify([body?.TableName, item.pk, item.sk]);
}

function conflictError(actions: readonly string[], inFlight: ReadonlyMap<string, number>) {
  return new TransactionCanceledException({
    message: "Transaction cancelled, please refer cancellation reasons for specific reasons",
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: actions.map((key) => ({ Code: inFlight.has(key) ? "TransactionConflict" : "None" })),
  });
}

export function withTransactionConflicts(client: DynamoDBClient): { readonly conflicts: () => number } {
  const inFlight = new Map<string, number>();
  let conflicts = 0;
  const leave = (actions: readonly string[]) => {
    for (const key of actions) {
      const left = (inFlight.get(key) ?? 1) - 1;
      if (left > 0) inFlight.set(key, left);
      else inFlight.delete(key);
    }
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "TransactWriteItemsCommand") return next(args);
      const actions = ((args.input as { TransactItems?: Action[] }).TransactItems ?? []).map(keyOf);
      if (actions.some((key) => inFlight.has(key))) {
        conflicts += 1;
        throw conflictError(actions, inFlight);
      }
      for (const key of actions) inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      try {
        return await next(args);
      } finally {
        leave(actions);
      }
    },
    { step: "initialize", name: "transactionConflicts", priority: "low" },
  );
  return { conflicts: () => conflicts };
}
