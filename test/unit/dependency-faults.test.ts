/**
 * Failures of our own dependencies that the emulators cannot produce (throttling, 5xx, partial batch failures),
 * through the real adapters over mocked SDK clients. Each must end in a retry that consumes no customer attempt,
 * or a failed publish that is safe to repeat — never in a lost delivery.
 */
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  GetSecretValueCommand,
  InternalServiceError,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { EnqueueError, SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import { DynamoDeliveryRepository } from "#aws/delivery-repository.ts";
import { DynamoEventRepository } from "#aws/event-repository.ts";
import { SecretsManagerSigningSecretStore } from "#aws/signing-secret-store.ts";
import { keys } from "#aws/table-keys.ts";
import { DynamoTenantRepository } from "#aws/tenant-repository.ts";
import { DynamoWebhookRepository } from "#aws/webhook-repository.ts";
import { type DeliverDeps, deliverBatch, type QueueRecord } from "#core/delivery/deliver.ts";
import { publish } from "#core/publishing/publish.ts";
import { sampleWebhook } from "#test/support/sample-webhook.ts";

const documents = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
afterEach(() => {
  documents.reset();
  sqs.reset();
  secrets.reset();
});

const now = new Date("2026-11-28T12:00:00Z");
const webhook = sampleWebhook();
const tenant = {
  id: webhook.tenantId,
  name: "Acme",
  metadata: {},
  webhookCount: 1,
  createdAt: webhook.createdAt,
  updatedAt: webhook.createdAt,
};
const records: QueueRecord[] = [1, 2].map((n) => ({
  messageId: `m${n}`,
  receiptHandle: `r${n}`,
  body: JSON.stringify({
    tenantId: webhook.tenantId,
    deliveryId: `dlv_${n}`,
    eventId: `evt_${n}`,
    webhookId: "wh_1",
    eventType: "order.paid",
    body: "{}",
  }),
}));
const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: "Rate exceeded",
    $metadata: { httpStatusCode: 400 },
  });
const serverError = () =>
  Object.assign(new Error("Internal server error"), {
    name: "InternalServerError",
    $fault: "server",
    $metadata: { httpStatusCode: 500 },
  });

/** The batch read finds the webhook and its (live) tenant, and no delivery record yet. */
const webhookOnly = () => ({
  Responses: {
    t: [
      { ...keys.webhook(webhook.tenantId, webhook.id), ...webhook },
      { ...keys.tenant(tenant.id), ...tenant },
    ],
  },
});

function adapters() {
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
  const deliveries = new DynamoDeliveryRepository(documentClient, "t", 30);
  const queue = new SqsDeliveryQueue(
    new SQSClient({ region: "us-east-1" }),
    { deliveryQueueUrl: "q", deadLetterQueueUrl: "dlq" },
    () => now,
  );
  const store = new SecretsManagerSigningSecretStore(new SecretsManagerClient({ region: "us-east-1" }), {
    namePrefix: "p/",
  });
  const posts: string[] = [];
  const deps: DeliverDeps = {
    webhooks: { disable: async () => undefined },
    secrets: store,
    events: new DynamoEventRepository(documentClient, "t", 30),
    ledger: deliveries,
    queue,
    http: {
      post: async (url) => {
        posts.push(url);
        return { result: { kind: "response", status: 200 }, durationMs: 1 };
      },
    },
    retryPolicy: { scheduleSeconds: [10], jitterRatio: 0 },
    dependencyBackoffSeconds: 7,
    deadLetterAfterReceives: 28,
    now: () => now,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: {
      attempt: () => undefined,
      deadLettered: () => undefined,
      dropped: () => undefined,
      dependencyBackoff: () => undefined,
    },
  };
  return { deps, posts };
}

const visibilityChanges = () =>
  sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input.VisibilityTimeout);
const failed = (result: { batchItemFailures: { itemIdentifier: string }[] }) =>
  result.batchItemFailures.map((item) => item.itemIdentifier).sort();

describe("the deliver Lambda when its dependencies fail", () => {
  it("DynamoDB throttling on the ledger read: every record retried after the dependency backoff, nothing sent", async () => {
    documents.on(BatchGetCommand).rejects(throttled());
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const { deps, posts } = adapters();
    expect(failed(await deliverBatch(records, deps))).toEqual(["m1", "m2"]);
    expect(posts).toEqual([]);
    expect(visibilityChanges()).toEqual([7, 7]);
  });

  it("DynamoDB 5xx on every write: records retried (the POST is repeated later with the same webhook-id), no attempt counted", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    documents.on(TransactWriteCommand).rejects(serverError());
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    const { deps, posts } = adapters();
    expect(failed(await deliverBatch(records, deps))).toEqual(["m1", "m2"]);
    expect(posts).toHaveLength(2);
    expect(visibilityChanges()).toEqual([7, 7]);
  });

  it("a transaction conflict (another writer on the same items) is retried until written", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    let round = 0;
    documents.on(TransactWriteCommand).callsFake(() => {
      round += 1;
      if (round > 1) return {};
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "None" }],
      });
    });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    const { deps } = adapters();
    expect(failed(await deliverBatch(records, deps))).toEqual([]);
    expect(documents.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it("a message whose series was reset by a redrive after it read the record records on top of the reset", async () => {
    // The batch read finds no record; by the time the outcome is written, the redrive's reset (pending, the same
    // series and copy as the message, no attempt) is there: the write is retried on top of it, not dropped.
    const reset = {
      pk: "DELIVERY#dlv_1",
      sk: "META",
      id: "dlv_1",
      tenantId: webhook.tenantId,
      eventId: "evt_1",
      webhookId: "wh_1",
      eventType: "order.paid",
      status: "pending",
      attempts: 0,
      series: 0,
      copy: 0,
      createdAt: now.toISOString(),
      updatedAt: "2026-11-28T12:00:00.500Z",
    };
    documents
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => {
        const keys = input.RequestItems.t?.Keys ?? [];
        return keys.length === 1 && keys[0]?.pk === "DELIVERY#dlv_1"
          ? { Responses: { t: [reset] } }
          : webhookOnly();
      });
    const conditions: (string | undefined)[][] = [];
    documents
      .on(TransactWriteCommand)
      .callsFake(
        (input: { TransactItems: { Put?: { ExpressionAttributeValues?: Record<string, string> } }[] }) => {
          conditions.push(
            input.TransactItems.map((item) => item.Put?.ExpressionAttributeValues?.[":expected"]),
          );
          if (conditions.length > 1) return {};
          throw new TransactionCanceledException({
            message: "Transaction cancelled",
            $metadata: {},
            CancellationReasons: input.TransactItems.map((_, index) => ({
              Code: index === 0 ? "ConditionalCheckFailed" : "None",
            })),
          });
        },
      );
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    const { deps } = adapters();
    expect(failed(await deliverBatch([records[0] as QueueRecord], deps))).toEqual([]);
    // First try: no record expected; second: on top of the reset, the attempt with it.
    expect(conditions).toEqual([
      [undefined, undefined],
      [reset.updatedAt, undefined],
    ]);
  });

  it("a copy whose record moved on meanwhile is superseded: its write refused, its message deleted, no DLQ, no retry", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    documents.on(TransactWriteCommand).callsFake((input: { TransactItems: unknown[] }) => {
      if (input.TransactItems.length <= 2) return {};
      // The first delivery's condition fails (another copy recorded first); everything else would hold.
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: input.TransactItems.map((_, index) => ({
          Code: index === 0 ? "ConditionalCheckFailed" : "None",
        })),
      });
    });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    const { deps } = adapters();
    deps.http.post = async () => ({ result: { kind: "response", status: 503 }, durationMs: 1 });
    const result = await deliverBatch(records, deps);
    // m1 lost the race: deleted (not reported failed, no visibility change); m2's write landed and it retries.
    expect(failed(result)).toEqual(["m2"]);
    expect(visibilityChanges()).toHaveLength(1);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    const written = documents
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems?.length);
    expect(written).toEqual([4, 2]);
  });

  it("Secrets Manager errors: retried without consuming an attempt", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    secrets.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: "boom", $metadata: {} }));
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const { deps, posts } = adapters();
    expect(failed(await deliverBatch(records, deps))).toEqual(["m1", "m2"]);
    expect(posts).toEqual([]);
    expect(documents.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("ChangeMessageVisibility failing: the record is still reported failed, so it comes back", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    documents.on(TransactWriteCommand).resolves({});
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    sqs.on(ChangeMessageVisibilityCommand).rejects(serverError());
    const { deps } = adapters();
    deps.http.post = async () => ({ result: { kind: "response", status: 503 }, durationMs: 1 });
    expect(failed(await deliverBatch(records, deps))).toEqual(["m1", "m2"]);
  });

  it("a DLQ send that keeps failing leaves the message in the queue (reported failed), never dropped", async () => {
    documents.on(BatchGetCommand).resolves(webhookOnly());
    documents.on(TransactWriteCommand).resolves({});
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    sqs.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: "0", Code: "InternalError", SenderFault: false }],
      Successful: [{ Id: "1", MessageId: "x", MD5OfMessageBody: "" }],
    });
    const { deps } = adapters();
    deps.http.post = async () => ({
      result: { kind: "transport_error", errorClass: "destination_blocked" },
      durationMs: 1,
    });
    const result = await deliverBatch(records, deps);
    expect(failed(result)).toHaveLength(1);
  }, 20_000);
});

describe("the publish Lambda when its dependencies fail", () => {
  /** The tenant exists: every publish below gets past the tenant check to the failing dependency. */
  const tenantExists = () =>
    documents.on(GetCommand).resolves({ Item: { ...keys.tenant(tenant.id), ...tenant } });
  const publishDeps = () => {
    const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
    return {
      tenants: new DynamoTenantRepository(documentClient, "t"),
      events: new DynamoEventRepository(documentClient, "t", 30),
      subscriptions: new DynamoWebhookRepository(documentClient, "t"),
      queue: new SqsDeliveryQueue(new SQSClient({ region: "us-east-1" }), {
        deliveryQueueUrl: "q",
        deadLetterQueueUrl: "dlq",
      }),
      deliveries: new DynamoDeliveryRepository(documentClient, "t", 30),
      now: () => now,
    };
  };

  it("partial SendMessageBatch failures are retried until every entry is accepted", async () => {
    tenantExists();
    documents.on(PutCommand).resolves({});
    documents.on(UpdateCommand).resolves({});
    documents
      .on(QueryCommand)
      .resolves({ Items: Array.from({ length: 12 }, (_, n) => ({ webhookId: `wh_${n}`, active: true })) });
    let calls = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      calls += 1;
      return calls === 1
        ? {
            Failed: [{ Id: input.Entries[0]?.Id, Code: "ServiceUnavailable", SenderFault: false }],
            Successful: [],
          }
        : { Failed: [] };
    });
    const result = await publish(
      tenant.id,
      { id: "evt_partial", type: "order.paid", data: {} },
      publishDeps(),
    );
    expect(result.deliveries).toBe(12);
    const sent = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(sent.length).toBe(13);
    expect(documents.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it("a queue that stays down fails the publish without marking the fan-out done, so a repeat finishes it", async () => {
    tenantExists();
    documents.on(PutCommand).resolves({});
    documents.on(QueryCommand).resolves({ Items: [{ webhookId: "wh_1", active: true }] });
    sqs.on(SendMessageBatchCommand).rejects(serverError());
    await expect(
      publish(tenant.id, { id: "evt_down", type: "order.paid", data: {} }, publishDeps()),
    ).rejects.toBeInstanceOf(EnqueueError);
    // The lease is given up (one conditional update) so a repeat need not wait; the fan-out is not marked done.
    const updates = documents.commandCalls(UpdateCommand).map((call) => call.args[0].input.UpdateExpression);
    expect(updates).toEqual(["SET fanoutLease.#until = :expired"]);
  }, 20_000);

  it("DynamoDB throttling on the event write fails the publish before anything is sent", async () => {
    tenantExists();
    documents.on(PutCommand).rejects(throttled());
    await expect(publish(tenant.id, { type: "order.paid", data: {} }, publishDeps())).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});
