/**
 * Publish failures on both ingest paths reach CloudWatch as `PublishFailures` (dimension `ingest`), the metric
 * the PublishFailures alarm adds up: an API caller gets a 5xx (the handler returns it, so Lambda's Errors metric
 * never sees it), an EventBridge event's record is reported in `batchItemFailures` so that SQS hands it over again.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { InternalServerError } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { parseConfig } from "#core/shared/config.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { createPublishRuntime, type PublishRuntime } from "#functions/publish/runtime.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { apiEvent, fixture } from "#test/support/fixtures.ts";

const documents = mockClient(DynamoDBDocumentClient);
const previous = process.env.POWERTOOLS_METRICS_DISABLED;
let runtime: PublishRuntime;

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  runtime = createPublishRuntime(
    parseConfig({
      AWS_REGION: "eu-west-1",
      TABLE_NAME: "t",
      DELIVERY_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q",
      DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/d",
      SECRET_NAME_PREFIX: "p/",
    }),
    {
      clients: createAwsClients({
        region: "eu-west-1",
        credentials: { accessKeyId: "a", secretAccessKey: "s" },
      }),
      logger: new Logger({ serviceName: "serverless-webhooks", logLevel: "SILENT" }),
    },
  );
});
afterEach(() => documents.reset());
afterAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = previous;
});

const failuresIn = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => "PublishFailures" in line);

/** `POST /tenants/t_1/events` as API Gateway hands it to the publish function. */
const postEvents = (body: unknown) =>
  apiEvent("POST", "/tenants/t_1/events", body, {
    resource: "/tenants/{tenantId}/events",
    pathParameters: { tenantId: "t_1" },
  }) as APIGatewayProxyEvent;

describe("PublishFailures", () => {
  /** The tenant exists (so the publish goes as far as storing the event), and the event write fails. */
  const storageDown = () => {
    documents.on(GetCommand).resolves({
      Item: {
        pk: "TENANT#t_1",
        sk: "META",
        id: "t_1",
        name: "Acme",
        metadata: {},
        webhookCount: 1,
        createdAt: "2026-11-28T12:00:00.000Z",
        updatedAt: "2026-11-28T12:00:00.000Z",
      },
    });
    documents.on(PutCommand).rejects(new InternalServerError({ message: "down", $metadata: {} }));
  };

  it("counts a POST /events that fails with 5xx, with ingest=api and the service dimension", async () => {
    storageDown();
    const handler = createPublishHandler(runtime);
    const { result, output } = await captureOutput(() =>
      handler(postEvents({ type: "order.paid", data: {} }), {} as never),
    );
    expect(result).toMatchObject({ statusCode: 500 });
    expect(documents.commandCalls(PutCommand)).toHaveLength(1);
    expect(failuresIn(output)).toEqual([
      expect.objectContaining({ PublishFailures: 1, ingest: "api", service: "serverless-webhooks" }),
    ]);
  });

  it("does not count a caller's 4xx (an invalid body, an unknown tenant)", async () => {
    const handler = createPublishHandler(runtime);
    const { result, output } = await captureOutput(() => handler(postEvents({ data: {} }), {} as never));
    expect(result).toMatchObject({ statusCode: 400 });
    expect(failuresIn(output)).toEqual([]);
    // A tenant that does not exist (the table has no such item) is the caller's 404, not a failure either.
    documents.on(GetCommand).resolves({});
    const unknown = await captureOutput(() =>
      handler(postEvents({ type: "order.paid", data: {} }), {} as never),
    );
    expect(unknown.result).toMatchObject({ statusCode: 404 });
    expect(failuresIn(unknown.output)).toEqual([]);
  });

  it("counts an EventBridge event that cannot be published, with ingest=eventbridge, and reports its record for SQS to retry", async () => {
    storageDown();
    const handler = createPublishHandler(runtime);
    const sample = fixture<{ detail: Record<string, unknown> }>("eventbridge/custom-order-completed.json");
    const event = { ...sample, detail: { ...sample.detail, tenantId: "t_1" } };
    const record = {
      messageId: "m-1",
      receiptHandle: "r-1",
      body: JSON.stringify(event),
      attributes: {},
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-west-1:1:ingest",
      awsRegion: "eu-west-1",
    } as unknown as SQSRecord;
    const { result, output } = await captureOutput(() => handler({ Records: [record] }, {} as never));
    // The storage failure itself, reported for SQS to hand the record over again (not kept aside as unroutable).
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m-1" }] });
    expect(documents.commandCalls(PutCommand)).toHaveLength(1);
    expect(failuresIn(output)).toEqual([
      expect.objectContaining({ PublishFailures: 1, ingest: "eventbridge", service: "serverless-webhooks" }),
    ]);
  });
});
