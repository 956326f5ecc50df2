/**
 * "Events up to 256 KiB": through the API and through EventBridge, stored once (the body, not a second copy of
 * `data`), read back at delivery and delivered byte for byte; one byte more is a 413 and nothing is stored.
 */
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_EVENT_BYTES, serializeEnvelope } from "#core/shared/model.ts";
import { startPipeline } from "#test/support/pipeline.ts";
import { startReceiver } from "#test/support/receivers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp() {
  const pipeline = await startPipeline();
  const receiver = await startReceiver();
  cleanups.push(
    () => pipeline.close(),
    () => receiver.close(),
  );
  await pipeline.createWebhook({ url: receiver.url, eventTypes: ["big.*"] });
  return { pipeline, receiver };
}

/** `data` whose envelope serializes to exactly `bytes` for this id, type, source and timestamp. */
function dataOfEnvelopeSize(
  bytes: number,
  id: string,
  source: string,
  fields: Readonly<Record<string, string>> = {},
) {
  const envelope = { id, type: "big.one", timestamp: "2026-12-01T00:00:00.000Z", version: "1.0", source };
  const frame = Buffer.byteLength(serializeEnvelope({ ...envelope, data: { ...fields, blob: "" } }));
  return {
    envelope,
    data: { ...fields, blob: "é".repeat(Math.floor((bytes - frame) / 2)) + "x".repeat((bytes - frame) % 2) },
  };
}

describe("events up to 256 KiB", () => {
  it("a 255 KiB event through the API is stored once and delivered byte for byte; 257 KiB answers 413", async () => {
    const { pipeline, receiver } = await setUp();
    const { envelope, data } = dataOfEnvelopeSize(255 * 1024, "evt_big_api", "api");
    const published = await pipeline.publishApi({
      id: envelope.id,
      type: envelope.type,
      timestamp: envelope.timestamp,
      data,
    });
    expect(published.statusCode).toBe(202);
    await pipeline.drain();
    const expected = serializeEnvelope({ ...envelope, data });
    expect(Buffer.byteLength(expected)).toBe(255 * 1024);
    expect(receiver.requests.map((request) => request.body)).toEqual([expected]);

    const { Items = [] } = await pipeline.clients.documents.send(
      new ScanCommand({ TableName: pipeline.resources.tableName }),
    );
    const stored = Items.find((item) => item.pk === `TENANT#${pipeline.tenantId}#EVENT#evt_big_api`);
    expect(stored?.body).toBe(expected);
    expect(stored && "data" in stored).toBe(false);

    const tooBig = dataOfEnvelopeSize(MAX_EVENT_BYTES + 1024, "evt_too_big", "api");
    const refused = await pipeline.publishApi({ id: "evt_too_big", type: "big.one", data: tooBig.data });
    expect(refused.statusCode).toBe(413);
    expect(refused.headers["content-type"]).toBe("application/problem+json");
    expect((await pipeline.api("GET", pipeline.under("/events/evt_too_big"))).status).toBe(404);
  });

  it("a 255 KiB event from EventBridge is delivered byte for byte", async () => {
    const { pipeline, receiver } = await setUp();
    const id = "0d6f1c9a-3b8e-4f2a-9c1d-big000000001";
    // A custom app's event names its tenant in the detail, which becomes the delivered `data`.
    const { envelope, data } = dataOfEnvelopeSize(255 * 1024, `evt_${id}`, "com.example.orders", {
      tenantId: pipeline.tenantId,
    });
    await pipeline.publishEventBridge({
      version: "0",
      id,
      "detail-type": envelope.type,
      source: envelope.source,
      account: "000000000000",
      time: "2026-12-01T00:00:00Z",
      region: "us-east-1",
      resources: [],
      detail: data,
    });
    await pipeline.drain();
    expect(receiver.requests).toHaveLength(1);
    const body = receiver.requests[0]?.body ?? "";
    expect(Buffer.byteLength(body)).toBe(255 * 1024);
    expect(JSON.parse(body)).toMatchObject({ id: `evt_${id}`, data });
    const event = await pipeline.api("GET", pipeline.under(`/events/evt_${id}`));
    expect(event.json).toMatchObject({ data, fanout: { deliveries: 1 } });
  });
});
