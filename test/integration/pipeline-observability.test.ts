import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureOutput } from "#test/support/capture-output.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

describe("logs and metrics of the pipeline", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;
  let output = "";
  let secret = "";
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    pipeline = await startPipeline({
      runtime: { logger: new Logger({ serviceName: "serverless-webhooks", logLevel: "DEBUG" }) },
    });
    receiver = await startReceiver((_, index) =>
      index === 0 ? { status: 500, body: "try again" } : { status: 200 },
    );
    ({ output } = await captureOutput(async () => {
      const created = await pipeline.createWebhook({
        url: receiver.url,
        eventTypes: ["audit.*"],
        signatureScheme: "standard+github",
      });
      secret = created.secret;
      await pipeline.publishApi({ type: "audit.logged", data: { user: "u1" } });
      await pipeline.drain();
    }));
  });
  afterAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = previous;
    pipeline.close();
    await receiver.close();
  });

  const lines = () =>
    output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("logs JSON lines carrying eventId, webhookId, deliveryId and attempt", () => {
    const retry = lines().find((line) => line.message === "retry scheduled");
    const delivered = lines().find((line) => line.message === "delivered");
    for (const line of [retry, delivered]) {
      expect(line).toMatchObject({
        level: "INFO",
        eventId: expect.stringMatching(/^evt_/),
        webhookId: expect.stringMatching(/^wh_/),
        deliveryId: expect.stringMatching(/^dlv_/),
      });
    }
    expect(retry?.attempt).toBe(1);
    expect(delivered?.attempt).toBe(2);
  });

  it("emits EMF metrics for attempts by outcome, latency and fan-out size", () => {
    const metrics = lines().filter((line) => "_aws" in line);
    expect(metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ outcome: "http_500", DeliveryAttempts: 1 }),
        expect.objectContaining({ outcome: "succeeded", DeliveryAttempts: 1 }),
        expect.objectContaining({ DeliveryLatency: expect.anything() }),
        expect.objectContaining({ FanOutSize: 1, EventsPublished: 1 }),
      ]),
    );
  });

  it("counts each attempt once in the totals the failure-rate alarm divides (their Sum)", () => {
    const sum = (name: string) =>
      lines()
        .filter((line) => "_aws" in line && name in line)
        .flatMap((line) => [line[name]].flat() as number[])
        .reduce((total, value) => total + value, 0);
    // One failed attempt (500), then one that succeeded.
    expect(receiver.requests).toHaveLength(2);
    expect(sum("DeliveryAttemptsTotal")).toBe(2);
    expect(sum("DeliveryAttemptFailures")).toBe(1);
  });

  it("never writes the secret, its key, or a signature to the output", () => {
    expect(secret).toMatch(/^whsec_/);
    expect(output).not.toContain(secret.slice("whsec_".length));
    for (const request of receiver.requests) {
      const signature = (request.headers["webhook-signature"] as string).split(",")[1] as string;
      expect(output).not.toContain(signature);
      expect(output).not.toContain(
        (request.headers["x-webhook-signature-256"] as string).slice("sha256=".length),
      );
    }
  });
});
