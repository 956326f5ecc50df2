import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signatureHeader } from "#core/signing/signing.ts";
import { verifyWebhook, WebhookVerificationError } from "#core/signing/webhook-verifier.ts";

const secretArb = fc
  .uint8Array({ minLength: 24, maxLength: 64 })
  .map((bytes) => `whsec_${Buffer.from(bytes).toString("base64")}`);
const idArb = fc
  .string({ minLength: 1, maxLength: 64, unit: "grapheme-ascii" })
  .filter((id) => id.trim() === id && !/[\s]/.test(id));
const timestampArb = fc.integer({ min: 1, max: 9_999_999_999 });
const bodyArb = fc.string({ maxLength: 2048, unit: "binary" });

const headersFor = (id: string, timestamp: number, signature: string) => ({
  "webhook-id": id,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signature,
});

describe("signing and verifying (properties)", () => {
  it("verify(sign(x)) holds for arbitrary ids, timestamps, bodies and secrets", () => {
    fc.assert(
      fc.property(secretArb, idArb, timestampArb, bodyArb, (secret, id, timestamp, body) => {
        const headers = headersFor(id, timestamp, signatureHeader([secret], id, timestamp, body));
        const verified = verifyWebhook({ headers, body, secrets: [secret], now: timestamp * 1000 });
        expect(verified).toEqual({ id, timestamp, payload: body });
      }),
    );
  });

  it("agrees with the standardwebhooks library on arbitrary JSON bodies (it parses what it verifies)", () => {
    fc.assert(
      fc.property(secretArb, idArb, fc.json(), (secret, id, body) => {
        const timestamp = Math.floor(Date.now() / 1000);
        const headers = headersFor(id, timestamp, signatureHeader([secret], id, timestamp, body));
        expect(() => new StandardWebhook(secret).verify(body, headers)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it("rejects any single-byte change to the id, timestamp, body or signature", () => {
    const part = fc.constantFrom("id", "timestamp", "body", "signature");
    fc.assert(
      fc.property(
        secretArb,
        idArb,
        timestampArb,
        bodyArb.filter((body) => body.length > 0),
        part,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (secret, id, timestamp, body, which, position, delta) => {
          const signature = signatureHeader([secret], id, timestamp, body);
          const tamper = (text: string) => {
            const bytes = Buffer.from(text, "latin1");
            const index = position % bytes.length;
            bytes[index] = ((bytes[index] ?? 0) + delta) % 256;
            return bytes.toString("latin1");
          };
          const input = { id, timestamp: String(timestamp), body, signature };
          input[which] = tamper(input[which]);
          fc.pre(input[which] !== { id, timestamp: String(timestamp), body, signature }[which]);
          const attempt = () =>
            verifyWebhook({
              headers: {
                "webhook-id": input.id,
                "webhook-timestamp": input.timestamp,
                "webhook-signature": input.signature,
              },
              body: input.body,
              secrets: [secret],
              now: timestamp * 1000,
            });
          expect(attempt).toThrow(WebhookVerificationError);
        },
      ),
    );
  });

  it("never throws anything but a WebhookVerificationError on arbitrary header strings", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const text = fc.oneof(fc.string({ unit: "binary" }), fc.constant(undefined));
    fc.assert(
      fc.property(text, text, text, fc.string(), (id, timestamp, signature, body) => {
        try {
          verifyWebhook({
            headers: { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature },
            body,
            secrets: [secret],
          });
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookVerificationError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
