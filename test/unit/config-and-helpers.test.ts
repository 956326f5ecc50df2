import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "#core/shared/config.ts";
import { deliveryIdFor, newEventId, ulid } from "#core/shared/ids.ts";
import { TtlCache } from "#core/shared/ttl-cache.ts";

const valid = {
  AWS_REGION: "eu-west-1",
  TABLE_NAME: "t",
  DELIVERY_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/q",
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/dlq",
  SECRET_NAME_PREFIX: "serverless-webhooks/prod/",
};

describe("parseConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseConfig(valid);
    expect(config.retryPolicy.scheduleSeconds).toHaveLength(7);
    expect(config.destinationPolicy).toEqual({
      allowHttp: false,
      allowedPorts: [[443, 443]],
      allowPrivate: "none",
    });
    expect(config).toMatchObject({
      deliveryTimeoutMs: 15_000,
      retentionDays: 30,
      reconcileGraceSeconds: 1200,
      deadLetterAfterReceives: 28,
    });
  });

  it("fails fast naming every bad variable", () => {
    const attempt = () =>
      parseConfig({
        ...valid,
        TABLE_NAME: undefined,
        DELIVERY_QUEUE_URL: "nope",
        RETRY_SCHEDULE_SECONDS: "1,x",
        ALLOW_PRIVATE_DESTINATIONS: "all",
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /TABLE_NAME.*DELIVERY_QUEUE_URL.*RETRY_SCHEDULE_SECONDS.*ALLOW_PRIVATE_DESTINATIONS/,
    );
  });
});

describe("ids", () => {
  it("ULIDs are 26 Crockford characters and sort by time", () => {
    const early = ulid(1_000_000);
    const late = ulid(2_000_000);
    expect(early).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(early < late).toBe(true);
    expect(newEventId()).toMatch(/^evt_[0-9A-Z]{26}$/);
  });

  it("a delivery id is stable for (event, webhook) and differs otherwise", () => {
    expect(deliveryIdFor("evt_1", "wh_1")).toBe(deliveryIdFor("evt_1", "wh_1"));
    expect(deliveryIdFor("evt_1", "wh_1")).not.toBe(deliveryIdFor("evt_1", "wh_2"));
    expect(deliveryIdFor("evt_1a", "wh_1")).not.toBe(deliveryIdFor("evt_1", "awh_1"));
  });
});

describe("TtlCache", () => {
  it("shares one in-flight load, expires after the TTL, evicts the oldest, and forgets failures", async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 2, now: () => now });
    const load = async () => ++loads;
    expect(await Promise.all([cache.getOrLoad("a", load), cache.getOrLoad("a", load)])).toEqual([1, 1]);
    now = 99;
    expect(await cache.getOrLoad("a", load)).toBe(1);
    now = 100;
    expect(await cache.getOrLoad("a", load)).toBe(2);
    await cache.getOrLoad("b", load);
    await cache.getOrLoad("c", load);
    expect(cache.size).toBe(2);
    await expect(cache.getOrLoad("d", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await cache.getOrLoad("d", load)).toBe(5);
  });
});
