/**
 * Publish failures on both ingest paths reach CloudWatch as `PublishFailures` (dimension `ingest`), the metric
 * the PublishFailures alarm adds up: an API caller gets a 5xx (the handler returns it, so Lambda's Errors metric
 * never sees it), an EventBridge invocation throws so that Lambda retries it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { InternalServerError } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { createRuntime, type Runtime } from "#aws/runtime.ts";
import { parseConfig } from "#core/config.ts";
import { createPublishHandler } from "#functions/publish/create-handler.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { apiEvent, fixture } from "#test/support/fixtures.ts";

const documents = mockClient(DynamoDBDocumentClient);
const previous = process.env.POWERTOOLS_METRICS_DISABLED;
let runtime: Runtime;

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  runtime = createRuntime(
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
  runtime.http.close();
});

const failuresIn = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => "PublishFailures" in line);

describe("PublishFailures", () => {
  const storageDown = () =>
    documents.on(PutCommand).rejects(new InternalServerError({ message: "down", $metadata: {} }));

  it("counts a POST /events that fails with 5xx, with ingest=api and the service dimension", async () => {
    storageDown();
    const handler = createPublishHandler(runtime);
    const { result, output } = await captureOutput(() =>
      handler(
        apiEvent("POST", "/events", { type: "order.paid", data: {} }) as APIGatewayProxyEvent,
        {} as never,
      ),
    );
    expect(result).toMatchObject({ statusCode: 500 });
    expect(failuresIn(output)).toEqual([
      expect.objectContaining({ PublishFailures: 1, ingest: "api", service: "serverless-webhooks" }),
    ]);
  });

  it("does not count a caller's 4xx", async () => {
    const handler = createPublishHandler(runtime);
    const { result, output } = await captureOutput(() =>
      handler(apiEvent("POST", "/events", { data: {} }) as APIGatewayProxyEvent, {} as never),
    );
    expect(result).toMatchObject({ statusCode: 400 });
    expect(failuresIn(output)).toEqual([]);
  });

  it("counts an EventBridge event that cannot be published, with ingest=eventbridge, and still throws", async () => {
    storageDown();
    const handler = createPublishHandler(runtime);
    const event = fixture("eventbridge/custom-order-completed.json");
    const { result, output } = await captureOutput(() =>
      handler(event as never, {} as never).then(
        () => "resolved",
        (error: unknown) => error,
      ),
    );
    expect(result).toBeInstanceOf(Error);
    expect(failuresIn(output)).toEqual([
      expect.objectContaining({ PublishFailures: 1, ingest: "eventbridge", service: "serverless-webhooks" }),
    ]);
  });
});
