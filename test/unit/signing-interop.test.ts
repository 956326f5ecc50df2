import { verify as octokitVerify } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { signedRequestHeaders } from "#core/signing/signing.ts";
import { generateSigningSecret } from "#core/signing/signing-secrets.ts";

const body = JSON.stringify({
  id: "evt_01JDQ8V7Z6X2C3B4N5M6K7J8H9",
  type: "order.completed",
  timestamp: "2026-11-28T12:00:00.000Z",
  version: "1.0",
  source: "orders-service",
  data: { orderId: "ord_42", total: 1999, currency: "EUR", note: "crème brûlée ✓" },
});

function signedNow(secrets: string[], scheme: "standard" | "standard+github" = "standard") {
  return signedRequestHeaders({
    eventId: "evt_01JDQ8V7Z6X2C3B4N5M6K7J8H9",
    eventType: "order.completed",
    deliveryId: "dlv_1",
    attempt: 1,
    timestamp: Math.floor(Date.now() / 1000),
    body,
    secrets,
    scheme,
  });
}

describe("deliveries verify with libraries this project did not write", () => {
  const secret = generateSigningSecret();

  it("standardwebhooks: new Webhook(secret).verify", () => {
    const headers = signedNow([secret]);
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("svix: new Webhook(secret).verify", () => {
    const headers = signedNow([secret]);
    // svix 2 returns nothing and throws on a bad signature.
    expect(() => new SvixWebhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new SvixWebhook(generateSigningSecret()).verify(body, headers)).toThrow();
  });

  it("both libraries accept a rotation header with either the new or the old secret", () => {
    const previous = generateSigningSecret();
    const headers = signedNow([secret, previous]);
    for (const candidate of [secret, previous]) {
      expect(new StandardWebhook(candidate).verify(body, headers)).toEqual(JSON.parse(body));
      expect(() => new SvixWebhook(candidate).verify(body, headers)).not.toThrow();
    }
    expect(() => new StandardWebhook(generateSigningSecret()).verify(body, headers)).toThrow();
  });

  it("@octokit/webhooks-methods verify: the opt-in x-webhook-signature-256 header", async () => {
    const headers = signedNow([secret], "standard+github");
    const signature = headers["x-webhook-signature-256"] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await octokitVerify(secret, body, signature)).toBe(true);
    expect(await octokitVerify(secret, `${body} `, signature)).toBe(false);
  });

  it("the GitHub-style header is absent unless the webhook opts in", () => {
    expect(signedNow([secret])).not.toHaveProperty("x-webhook-signature-256");
  });
});
