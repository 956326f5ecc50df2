/**
 * Webhook health records (`TENANT#<t> / HEALTH#<webhookId>`): the rate limiter's state, the circuit and the
 * failure clock. Read with the batch's deliveries (no call of their own) and by `GET …/webhooks/{id}`; counts are
 * added by one plain update per webhook after the batch's ledger transaction. The transitions are in
 * `health-controls.ts` (deliver only).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { HealthDelta } from "#core/delivery/deliver.ts";
import type { EndpointHealth } from "#core/health/endpoint-health.ts";
import { keys, withoutKeys } from "./table-keys.ts";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

export class DynamoHealthRepository {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#table = tableName;
  }

  async get(tenantId: string, webhookId: string): Promise<EndpointHealth | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: keys.health(tenantId, webhookId), ConsistentRead: true }),
    );
    return Item ? withoutKeys<EndpointHealth>(Item) : undefined;
  }

  /**
   * Adds one batch's counts for one webhook: an unconditional update, not part of the ledger transaction. Every
   * container delivering to a webhook updates its health record; inside the transactions, concurrent batches to
   * one busy webhook would cancel each other (TransactionConflict) and their deliveries be sent again. A plain
   * update also costs half the write units.
   */
  async addCounts(delta: HealthDelta): Promise<void> {
    await this.#documents.send(new UpdateCommand(this.countUpdate(delta)));
  }

  /**
   * The same counts as an item of the ledger transaction: for a batch whose success stops the failure clock, so
   * that the clock stops if and only if the success is recorded (a lost plain update would leave it running, and
   * the next failure could disable a webhook that had just delivered). Rare: once per recovery.
   */
  countItem(delta: HealthDelta): TransactItem {
    return { Update: this.countUpdate(delta) };
  }

  countUpdate(delta: HealthDelta) {
    const window = delta.windowCurrent
      ? "windowAttempts = if_not_exists(windowAttempts, :zero) + :attempts, windowFailures = if_not_exists(windowFailures, :zero) + :failures"
      : "windowStart = :at, windowAttempts = :attempts, windowFailures = :failures";
    const clock = delta.succeeded
      ? "lastSuccessAt = :at REMOVE failingSince"
      : "failingSince = if_not_exists(failingSince, :at)";
    return {
      TableName: this.#table,
      Key: keys.health(delta.tenantId, delta.webhookId),
      UpdateExpression: `SET tenantId = :tenant, webhookId = :webhook, ${window}, ${clock}`,
      ExpressionAttributeValues: {
        ":tenant": delta.tenantId,
        ":webhook": delta.webhookId,
        ":at": delta.at,
        ":attempts": delta.attempts,
        ":failures": delta.failures,
        ...(delta.windowCurrent ? { ":zero": 0 } : {}),
      },
    };
  }

  /** The health record's delete, for the webhook's delete transaction. */
  deleteItem(tenantId: string, webhookId: string): TransactItem {
    return { Delete: { TableName: this.#table, Key: keys.health(tenantId, webhookId) } };
  }
}
