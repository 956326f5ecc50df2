import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLATFORM_VERSION, signedRequestHeaders } from "#core/signing/signing.ts";
import {
  generateSigningSecret,
  MAX_ROTATION_GRACE_SECONDS,
  rotatedVersions,
  signingVersions,
} from "#core/signing/signing-secrets.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";

const base = {
  eventId: "evt_1",
  eventType: "order.completed",
  deliveryId: "dlv_9",
  attempt: 3,
  timestamp: 1_800_000_000,
  body: '{"id":"evt_1"}',
  scheme: "standard" as const,
};

describe("signedRequestHeaders", () => {
  const secret = generateSigningSecret();

  it("produces the wire contract's header set", () => {
    const headers = signedRequestHeaders({ ...base, secrets: [secret] });
    expect(Object.keys(headers).sort()).toEqual(
      [
        "content-type",
        "user-agent",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
        "x-webhook-attempt",
        "x-webhook-delivery-id",
        "x-webhook-event-type",
        "x-webhook-timestamp",
      ].sort(),
    );
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": `serverless-webhooks/${PLATFORM_VERSION}`,
      "webhook-id": "evt_1",
      "webhook-timestamp": "1800000000",
      "x-webhook-timestamp": "1800000000",
      "x-webhook-event-type": "order.completed",
      "x-webhook-delivery-id": "dlv_9",
      "x-webhook-attempt": "3",
    });
    const verified = verifyWebhook({
      headers,
      body: base.body,
      secrets: [secret],
      now: base.timestamp * 1000,
    });
    expect(verified.id).toBe("evt_1");
  });

  it("adds custom headers but never lets them override a platform header, whatever their case", () => {
    const headers = signedRequestHeaders({
      ...base,
      secrets: [secret],
      customHeaders: {
        "X-Tenant": "acme",
        "Webhook-Id": "forged",
        "CONTENT-TYPE": "text/plain",
        "User-Agent": "x",
      },
    });
    expect(headers["x-tenant"]).toBe("acme");
    expect(headers["webhook-id"]).toBe("evt_1");
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["user-agent"]).toMatch(/^serverless-webhooks\//);
    expect(Object.keys(headers).filter((name) => name.toLowerCase() === "webhook-id")).toHaveLength(1);
  });

  it("signs with every secret given, newest first", () => {
    const older = generateSigningSecret();
    const headers = signedRequestHeaders({ ...base, secrets: [secret, older] });
    const [first, second] = (headers["webhook-signature"] ?? "").split(" ");
    const verifiesWith = (candidate: string, signature: string | undefined) =>
      verifyWebhook({
        headers: { ...headers, "webhook-signature": signature ?? "" },
        body: base.body,
        secrets: [candidate],
        now: base.timestamp * 1000,
      });
    expect(verifiesWith(secret, first).id).toBe("evt_1");
    expect(verifiesWith(older, second).id).toBe("evt_1");
    expect(() => verifiesWith(older, first)).toThrow();
  });

  it("keeps PLATFORM_VERSION equal to package.json's version", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(PLATFORM_VERSION).toBe(manifest.version);
  });
});

describe("signing secrets", () => {
  it("are whsec_ + base64 of 32 random bytes", () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSigningSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    }
  });
});

describe("rotation grace window", () => {
  const now = new Date("2026-11-28T12:00:00Z");

  it("signs with new and old secrets until the grace ends, then with the new one only", () => {
    const rotated = rotatedVersions({ secretVersion: "v1" }, "v2", 3600, now);
    expect(rotated).toEqual({
      secretVersion: "v2",
      previousSecretVersion: "v1",
      previousSecretValidUntil: "2026-11-28T13:00:00.000Z",
    });
    expect(signingVersions(rotated, new Date("2026-11-28T12:59:59Z"))).toEqual(["v2", "v1"]);
    expect(signingVersions(rotated, new Date("2026-11-28T13:00:00Z"))).toEqual(["v2"]);
  });

  it("drops the old secret at once with a zero grace, and the oldest on a second rotation", () => {
    expect(rotatedVersions({ secretVersion: "v1" }, "v2", 0, now)).toEqual({ secretVersion: "v2" });
    const twice = rotatedVersions(rotatedVersions({ secretVersion: "v1" }, "v2", 60, now), "v3", 60, now);
    expect(signingVersions(twice, now)).toEqual(["v3", "v2"]);
  });

  it.each([-1, 1.5, MAX_ROTATION_GRACE_SECONDS + 1, Number.NaN])("refuses a grace of %s seconds", (grace) => {
    expect(() => rotatedVersions({ secretVersion: "v1" }, "v2", grace, now)).toThrow(RangeError);
  });
});
