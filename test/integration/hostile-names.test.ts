/**
 * Found by an adversarial review: a filter naming a `__proto__` field (DynamoDB's marshalling drops the key, which
 * would make the filter match everything) and a portal token naming an inherited `kid` must be refused as bad input,
 * never answered with a 500.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { startPortal } from "#test/support/portal.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let receiver: Receiver;
beforeAll(async () => {
  pipeline = await startPipeline();
  receiver = await startReceiver();
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
});

describe("hostile names", () => {
  it("a filter naming a __proto__ field is a 400 naming its path (create, PATCH), never a 500", async () => {
    // JSON.parse makes __proto__ an own key, exactly as the Lambda's body parser does.
    const filters = [
      JSON.parse('{"data":{"__proto__":["x"]}}'),
      JSON.parse('{"data":{"a":{"__proto__":{"b":["x"]}}}}'),
    ];
    const existing = await pipeline.api("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["p.q"],
    });
    for (const filter of filters) {
      const created = await pipeline.api("POST", pipeline.under("/webhooks"), {
        url: receiver.url,
        eventTypes: ["p.q"],
        filter,
      });
      expect(created.status).toBe(400);
      expect(JSON.stringify(created.json.errors)).toContain("__proto__");
      const patched = await pipeline.api("PATCH", pipeline.under(`/webhooks/${existing.json.id}`), {
        filter,
      });
      expect(patched.status).toBe(400);
    }
  });
  it('a portal token naming the kid "constructor" is a 401, not a 500', async () => {
    const portal = await startPortal(pipeline);
    const forged = await new SignJWT({ scope: "endpoints:read" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: "constructor" })
      .setSubject(pipeline.tenantId)
      .setIssuer("serverless-webhooks")
      .setAudience("serverless-webhooks-portal")
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti("forged")
      .sign(new TextEncoder().encode("attacker-chosen-key-of-32-chars!!"));
    const answer = await portal.call(forged, "GET", "/webhooks");
    expect(answer.status).toBe(401);
  });
});
