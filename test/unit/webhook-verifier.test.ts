import { describe, expect, it } from "vitest";
import { signatureHeader } from "#core/signing/signing.ts";
import {
  DuplicateWebhookError,
  InvalidTimestampError,
  MissingHeaderError,
  NoMatchingSignatureError,
  standardWebhookSignature,
  TimestampTooNewError,
  TimestampTooOldError,
  verifyWebhook,
} from "#core/signing/webhook-verifier.ts";

// The Standard Webhooks specification's known-answer vector.
const KAT = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const atKatTime = KAT.timestamp * 1000;
const katHeaders = (overrides: Record<string, string | undefined> = {}) => ({
  "webhook-id": KAT.id,
  "webhook-timestamp": String(KAT.timestamp),
  "webhook-signature": KAT.signature,
  ...overrides,
});
const verifyKat = (headers: Record<string, string | undefined>, now = atKatTime) =>
  verifyWebhook({ headers, body: KAT.body, secrets: [KAT.secret], now });

describe("Standard Webhooks known-answer vector", () => {
  it("signs to the specification's signature", () => {
    expect(standardWebhookSignature(KAT.secret, KAT.id, KAT.timestamp, KAT.body)).toBe(KAT.signature);
  });

  it("verifies, returning id, timestamp and payload", () => {
    expect(verifyKat(katHeaders())).toEqual({ id: KAT.id, timestamp: KAT.timestamp, payload: KAT.body });
  });

  it("verifies the same bytes given as a Buffer and headers given as a Headers object", () => {
    const headers = new Headers(katHeaders() as Record<string, string>);
    const verified = verifyWebhook({
      headers,
      body: Buffer.from(KAT.body),
      secrets: [KAT.secret],
      now: atKatTime,
    });
    expect(verified.id).toBe(KAT.id);
  });

  it("finds headers case-insensitively, as API Gateway may pass them", () => {
    const headers = {
      "Webhook-Id": KAT.id,
      "WEBHOOK-TIMESTAMP": String(KAT.timestamp),
      "Webhook-Signature": KAT.signature,
    };
    expect(verifyKat(headers).id).toBe(KAT.id);
  });
});

describe("verifyWebhook rejects", () => {
  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"])("a request missing %s", (name) => {
    const error = (() => {
      try {
        verifyKat(katHeaders({ [name]: undefined }));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MissingHeaderError);
    expect((error as MissingHeaderError).header).toBe(name);
  });

  it.each([
    ["an empty v1 entry", "v1,"],
    ["a truncated signature", KAT.signature.slice(0, -4)],
    ["non-base64 characters", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O!="],
    ["a v2 entry only", KAT.signature.replace("v1,", "v2,")],
    [
      "a signature made with another secret",
      standardWebhookSignature("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KAT.id, KAT.timestamp, KAT.body),
    ],
    ["no comma", "v1g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
  ])("%s", (_label, signature) => {
    expect(() => verifyKat(katHeaders({ "webhook-signature": signature }))).toThrow(NoMatchingSignatureError);
  });

  it.each([
    ["abc"],
    [""],
    ["1e9"],
    ["1700000000junk"],
    ["-1"],
    ["12345678901234567890"],
    [" 1614265330x"],
    ["1614265330.5"],
  ])("the timestamp %j", (timestamp) => {
    const error = timestamp === "" ? MissingHeaderError : InvalidTimestampError;
    expect(() => verifyKat(katHeaders({ "webhook-timestamp": timestamp }))).toThrow(error);
  });

  it("a timestamp 301 s in the past or the future, and accepts 300 s", () => {
    const signedAt = (offset: number) => {
      const timestamp = KAT.timestamp + offset;
      return katHeaders({
        "webhook-timestamp": String(timestamp),
        "webhook-signature": standardWebhookSignature(KAT.secret, KAT.id, timestamp, KAT.body),
      });
    };
    expect(() => verifyKat(signedAt(-301))).toThrow(TimestampTooOldError);
    expect(() => verifyKat(signedAt(301))).toThrow(TimestampTooNewError);
    expect(verifyKat(signedAt(-300)).timestamp).toBe(KAT.timestamp - 300);
    expect(verifyKat(signedAt(300)).timestamp).toBe(KAT.timestamp + 300);
  });

  it("a signature whose last character differs only in base64 padding bits (non-canonical encoding)", () => {
    // "E" is 000100; "F" (000101) decodes to the same 32 bytes because the low two bits are padding.
    const altered = `${KAT.signature.slice(0, -2)}F=`;
    expect(Buffer.from(altered.slice(3), "base64")).toEqual(Buffer.from(KAT.signature.slice(3), "base64"));
    expect(() => verifyKat(katHeaders({ "webhook-signature": altered }))).toThrow(NoMatchingSignatureError);
  });

  it("a body changed by one character", () => {
    expect(() =>
      verifyWebhook({
        headers: katHeaders(),
        body: '{"test": 2432232315}',
        secrets: [KAT.secret],
        now: atKatTime,
      }),
    ).toThrow(NoMatchingSignatureError);
  });

  it("a replayed id when the dedupe hook has seen it", () => {
    const seen = new Set<string>();
    const isDuplicate = (id: string) => {
      const duplicate = seen.has(id);
      seen.add(id);
      return duplicate;
    };
    const verify = () =>
      verifyWebhook({
        headers: katHeaders(),
        body: KAT.body,
        secrets: [KAT.secret],
        now: atKatTime,
        isDuplicate,
      });
    expect(verify().id).toBe(KAT.id);
    expect(verify).toThrow(DuplicateWebhookError);
  });
});

describe("verifyWebhook with several signatures and secrets", () => {
  const other = (n: number) => `whsec_${Buffer.alloc(32, n).toString("base64")}`;

  it("accepts one valid signature among four", () => {
    const header = [other(1), other(2), KAT.secret, other(3)]
      .map((secret) => standardWebhookSignature(secret, KAT.id, KAT.timestamp, KAT.body))
      .join(" ");
    expect(verifyKat(katHeaders({ "webhook-signature": header })).id).toBe(KAT.id);
  });

  it("accepts when any of the receiver's candidate secrets matches (rotation on the receiver side)", () => {
    const verified = verifyWebhook({
      headers: katHeaders(),
      body: KAT.body,
      secrets: [other(9), KAT.secret],
      now: atKatTime,
    });
    expect(verified.id).toBe(KAT.id);
  });

  it("accepts a rotation header (new, old) with either secret alone", () => {
    const header = signatureHeader([other(5), KAT.secret], KAT.id, KAT.timestamp, KAT.body);
    expect(header.split(" ")).toHaveLength(2);
    for (const secret of [other(5), KAT.secret]) {
      const verified = verifyWebhook({
        headers: katHeaders({ "webhook-signature": header }),
        body: KAT.body,
        secrets: [secret],
        now: atKatTime,
      });
      expect(verified.id).toBe(KAT.id);
    }
  });

  it("never puts a secret in an error message", () => {
    try {
      verifyWebhook({
        headers: katHeaders({ "webhook-signature": "v1,x" }),
        body: KAT.body,
        secrets: [KAT.secret],
        now: atKatTime,
      });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(KAT.secret.slice(6));
      expect(JSON.stringify(error)).not.toContain(KAT.secret.slice(6));
    }
  });
});
