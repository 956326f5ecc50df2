/**
 * The health record's transitions (deliver only): the rate limiter's reservation and the circuit's moves, each one
 * conditional UpdateItem that only one caller can win.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import type { HealthControls, WebhookTarget } from "#core/delivery/deliver.ts";
import { planReservation } from "#core/health/endpoint-health.ts";
import { keys } from "./table-keys.ts";

/** Rounds of a rate reservation lost to other containers before its deliveries are simply held a second. */
const RESERVATION_ROUNDS = 4;

export class DynamoHealthControls implements HealthControls {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    this.#documents = documents;
    this.#table = tableName;
  }

  async reserveRate(
    target: WebhookTarget,
    limitPerSecond: number,
    readTat: number | undefined,
    now: Date,
    wanted: number,
  ): Promise<{ granted: number; tat: number }> {
    const at = now.getTime();
    let tat = readTat;
    for (let round = 0; round < RESERVATION_ROUNDS; round += 1) {
      const plan = planReservation(limitPerSecond, tat, at, wanted);
      if (plan.kind === "none") return { granted: 0, tat: tat ?? at };
      const update: Omit<UpdateCommandInput, "TableName" | "Key"> =
        plan.kind === "reset"
          ? {
              UpdateExpression: "SET rateTat = :tat, tenantId = :tenant, webhookId = :webhook",
              ConditionExpression: "attribute_not_exists(rateTat) OR rateTat < :now",
              ExpressionAttributeValues: {
                ":tat": plan.newTat,
                ":now": plan.now,
                ":tenant": target.tenantId,
                ":webhook": target.webhookId,
              },
            }
          : {
              UpdateExpression: "ADD rateTat :add",
              ConditionExpression: "rateTat <= :max",
              ExpressionAttributeValues: { ":add": plan.add, ":max": plan.maxTat },
            };
      try {
        const { Attributes } = await this.#documents.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: keys.health(target.tenantId, target.webhookId),
            ...update,
            ReturnValues: "UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { granted: plan.granted, tat: Number(Attributes?.rateTat) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Another container reserved meanwhile: plan again from the value that refused us (no extra read).
        const current = (error.Item?.rateTat as { N?: string } | undefined)?.N;
        tat = current === undefined ? undefined : Number(current);
      }
    }
    return { granted: 0, tat: tat ?? at };
  }

  takeProbe(target: WebhookTarget, now: Date, leaseUntil: string): Promise<boolean> {
    return this.#transition(target, {
      UpdateExpression: "SET circuit = :half, probeLeaseUntil = :lease",
      ConditionExpression:
        "circuit IN (:open, :half) AND (attribute_not_exists(probeLeaseUntil) OR probeLeaseUntil < :now) AND (attribute_not_exists(probeAt) OR probeAt <= :now)",
      ExpressionAttributeValues: {
        ":half": "half_open",
        ":open": "open",
        ":lease": leaseUntil,
        ":now": now.toISOString(),
      },
    });
  }

  settleProbe(
    target: WebhookTarget,
    lease: string,
    outcome: { readonly succeeded: boolean; readonly now: Date; readonly probeAt: string },
  ): Promise<boolean> {
    const condition = {
      ConditionExpression: "circuit = :half AND probeLeaseUntil = :lease",
    };
    return this.#transition(
      target,
      outcome.succeeded
        ? {
            ...condition,
            UpdateExpression:
              "SET circuit = :closed, windowStart = :now, windowAttempts = :zero, windowFailures = :zero REMOVE probeLeaseUntil, probeAt, openedAt",
            ExpressionAttributeValues: {
              ":half": "half_open",
              ":lease": lease,
              ":closed": "closed",
              ":now": outcome.now.toISOString(),
              ":zero": 0,
            },
          }
        : {
            ...condition,
            UpdateExpression: "SET circuit = :open, probeAt = :probeAt REMOVE probeLeaseUntil",
            ExpressionAttributeValues: {
              ":half": "half_open",
              ":lease": lease,
              ":open": "open",
              ":probeAt": outcome.probeAt,
            },
          },
    );
  }

  open(target: WebhookTarget, now: Date, probeAt: string): Promise<boolean> {
    return this.#transition(target, {
      UpdateExpression: "SET circuit = :open, openedAt = :now, probeAt = :probeAt REMOVE probeLeaseUntil",
      ConditionExpression: "attribute_not_exists(circuit) OR circuit = :closed",
      ExpressionAttributeValues: {
        ":open": "open",
        ":closed": "closed",
        ":now": now.toISOString(),
        ":probeAt": probeAt,
      },
    });
  }

  async reset(target: WebhookTarget): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keys.health(target.tenantId, target.webhookId),
        UpdateExpression:
          "REMOVE circuit, openedAt, probeAt, probeLeaseUntil, failingSince, windowStart, windowAttempts, windowFailures",
      }),
    );
  }

  async #transition(
    target: WebhookTarget,
    update: Omit<UpdateCommandInput, "TableName" | "Key">,
  ): Promise<boolean> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keys.health(target.tenantId, target.webhookId),
          ...update,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
