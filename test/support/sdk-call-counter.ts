/** Counts every command an SDK v3 client sends, by name, through a middleware on the client itself. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";

type CountableClient = DynamoDBClient | SQSClient | SecretsManagerClient;

export interface SdkCallCounter {
  readonly calls: string[];
  /** Each call's input, in order, for asserting on parameters (e.g. ChangeMessageVisibility timeouts). */
  readonly inputs: { readonly name: string; readonly input: Record<string, unknown> }[];
  count(commandName?: string): number;
  /** Calls per command name. */
  counts(): Record<string, number>;
  /** The partition key (`:pk`) of each Query, sorted. */
  queriedPartitions(): string[];
  reset(): void;
  /** Counts these clients' calls too (another container's clients, in the same log). */
  track(...clients: CountableClient[]): void;
}

export function countSdkCalls(...clients: CountableClient[]): SdkCallCounter {
  const calls: string[] = [];
  const inputs: { name: string; input: Record<string, unknown> }[] = [];
  const track = (...tracked: CountableClient[]) => {
    for (const client of tracked) {
      // The three clients share the middleware stack's shape; one cast keeps the overloads out of the way.
      (client as DynamoDBClient).middlewareStack.add(
        (next, context) => (args) => {
          const name = context.commandName ?? "unknown";
          calls.push(name);
          inputs.push({ name, input: (args as { input: Record<string, unknown> }).input });
          return next(args);
        },
        { step: "initialize", name: `sdkCallCounter${Math.random()}` },
      );
    }
  };
  track(...clients);
  return {
    calls,
    inputs,
    count: (commandName) =>
      commandName ? calls.filter((name) => name === commandName).length : calls.length,
    counts: () =>
      Object.fromEntries(calls.map((name) => [name, calls.filter((other) => other === name).length])),
    queriedPartitions: () =>
      inputs
        .filter((call) => call.name === "QueryCommand")
        .map((call) => String((call.input.ExpressionAttributeValues as Record<string, unknown>)[":pk"]))
        .sort(),
    reset: () => {
      calls.length = 0;
      inputs.length = 0;
    },
    track,
  };
}
