/**
 * The portal API and its tokens, through the local gateway shims to the real portal function and the local
 * engines: every route scoped to the token's tenant (another tenant's ids are 404), every kind of bad token 401,
 * every withheld capability 403, revocation, key rotation, the per-tenant limit, and no token in any log line.
 */

import { Logger } from "@aws-lambda-powertools/logger";
import { generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretsManagerPortalKeyStore } from "#aws/portal-key-store.ts";
import { portalRoutes } from "#core/http/portal-routes.ts";
import { type Capability, PORTAL_CAPABILITIES } from "#core/portal/capabilities.ts";
import { verifyToken } from "#core/portal/portal-tokens.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { newKey, PORTAL_URL, type Portal, startPortal } from "#test/support/portal.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let portal: Portal;
let receiver: Receiver;
/** Tenant B's ids, which tenant A's token must never reach. */
const foreign = { webhookId: "", eventId: "", deliveryId: "" };
let ownWebhookId = "";
const A = "t_portal-a";
const B = "t_portal-b";
let logs = "";

const ISSUER = "serverless-webhooks";
const AUDIENCE = "serverless-webhooks-portal";

beforeAll(async () => {
  // A logger at DEBUG, captured: the last test checks no token ever reached it.
  const captured = await captureOutput(async () => {
    pipeline = await startPipeline({
      schedule: "1",
      runtime: { logger: new Logger({ serviceName: "portal-test", logLevel: "DEBUG" }) },
    });
    portal = await startPortal(pipeline, { PORTAL_RATE_PER_SECOND: "1000", PORTAL_BURST: "1000" });
  });
  logs += captured.output;
  receiver = await startReceiver();
  for (const tenant of [A, B])
    expect((await pipeline.api("PUT", `/tenants/${tenant}`, { name: tenant })).status).toBe(201);
  const own = await pipeline.api("POST", `/tenants/${A}/webhooks`, {
    url: receiver.url,
    eventTypes: ["order.*"],
  });
  ownWebhookId = own.json.id as string;
  const theirs = await pipeline.api("POST", `/tenants/${B}/webhooks`, {
    url: receiver.url,
    eventTypes: ["*"],
  });
  foreign.webhookId = theirs.json.id as string;
  const published = await pipeline.api("POST", `/tenants/${B}/events`, {
    type: "order.completed",
    data: { n: 1 },
  });
  foreign.eventId = published.json.eventId as string;
  await logged(() => pipeline.drain());
  const event = await pipeline.api("GET", `/tenants/${B}/events/${foreign.eventId}`);
  foreign.deliveryId = (event.json.deliveries as { id: string }[])[0]?.id ?? "";
  expect(foreign.deliveryId).not.toBe("");
  // The operator's catalogue, which every tenant's portal may read (its event-type picker shows it).
  const catalogued = await pipeline.api("PUT", `/event-types/${CATALOGUED.name}`, {
    description: CATALOGUED.description,
    example: CATALOGUED.example,
  });
  expect(catalogued.status).toBe(201);
});

const CATALOGUED = {
  name: "order.placed",
  description: "An order was placed",
  example: { orderId: "ord_1", total: 42 },
};
afterAll(async () => {
  pipeline?.close();
  await receiver?.close();
});

/** Runs `body` with the process output captured into `logs`. */
async function logged<T>(body: () => Promise<T>): Promise<T> {
  const { result, output } = await captureOutput(body);
  logs += output;
  return result;
}

const pathWith = (resource: string, ids: typeof foreign) =>
  resource
    .replace("/api", "")
    .replace("{webhookId}", ids.webhookId)
    .replace("{eventId}", ids.eventId)
    .replace("{deliveryId}", ids.deliveryId)
    .replace("{name}", CATALOGUED.name);

const bodyFor = (method: string, resource: string) =>
  resource.endsWith("/filter-test")
    ? { event: { type: "order.placed", data: { n: 1 } } }
    : resource.endsWith("/recover")
      ? { since: "2000-01-01T00:00:00Z" }
      : resource.endsWith("/rotate-secret")
        ? {}
        : method === "PATCH"
          ? { description: "taken over" }
          : method === "POST" && resource === "/api/webhooks"
            ? { url: receiver.url, eventTypes: ["order.*"] }
            : undefined;

describe("POST /tenants/{tenantId}/portal-sessions", () => {
  it("answers 201 with a token, the portal link with the token in the fragment, and the expiry", async () => {
    const before = Date.now();
    const minted = await logged(() => portal.mint(A, { expiresInSeconds: 600 }));
    expect(minted.status, minted.body).toBe(201);
    expect(minted.headers["cache-control"]).toBe("no-store");
    const token = minted.json.token as string;
    expect(minted.json.url).toBe(`${PORTAL_URL}#token=${token}`);
    const expiresAt = Date.parse(minted.json.expiresAt as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 599_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    const [header, payload] = token
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header).toEqual({ alg: "HS256", typ: "JWT", kid: "k1" });
    expect(payload).toMatchObject({
      sub: A,
      iss: ISSUER,
      aud: AUDIENCE,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      scope: PORTAL_CAPABILITIES.join(" "),
      exp: Math.floor(expiresAt / 1000),
    });
    // At most a second ahead: a tenant created in this very second gets tokens issued from the next one, so that
    // a tenant created again under its id in that second does not inherit them (unit/portal-token-edges).
    expect(payload.iat).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  });

  it("refuses bad bodies naming the field, and unknown tenants with 404", async () => {
    const short = await portal.mint(A, { expiresInSeconds: 299 });
    expect(short.status).toBe(400);
    const long = await portal.mint(A, { expiresInSeconds: 604_801 });
    expect(long.status).toBe(400);
    // Past the gateway's model, the function itself names the field.
    const handlerOnly = await portal.mint(A, { capabilities: [] });
    expect(handlerOnly.status).toBe(400);
    expect((await portal.mint("t_portal-nobody")).status).toBe(404);
  });
});

describe("the portal API, with tenant A's token", () => {
  it("reaches every route on A's own data", async () => {
    const token = await portal.token(A);
    const own = { webhookId: ownWebhookId, eventId: "", deliveryId: "" };
    const published = await pipeline.api("POST", `/tenants/${A}/events`, { type: "order.placed", data: {} });
    own.eventId = published.json.eventId as string;
    await logged(() => pipeline.drain());
    const event = await pipeline.api("GET", `/tenants/${A}/events/${own.eventId}`);
    own.deliveryId = (event.json.deliveries as { id: string }[])[0]?.id ?? "";
    for (const route of portalRoutes.filter((candidate) => candidate.method !== "DELETE")) {
      const response = await logged(() =>
        portal.call(
          token,
          route.method,
          pathWith(route.resource, own),
          bodyFor(route.method, route.resource),
        ),
      );
      expect(response.status, `${route.method} ${route.resource}: ${response.body}`).toBeLessThan(300);
      expect(response.headers["cache-control"]).toBe("no-store");
    }
    const listed = await portal.call(token, "GET", "/webhooks");
    expect(listed.json.data?.map((webhook) => webhook.id)).toContain(ownWebhookId);
    expect(listed.json.data?.map((webhook) => webhook.id)).not.toContain(foreign.webhookId);
    const events = await portal.call(token, "GET", "/events");
    expect(events.json.data?.map((item) => item.id)).not.toContain(foreign.eventId);
  });

  it("answers 404 for every route on tenant B's ids, and changes nothing of B's", async () => {
    const token = await portal.token(A);
    // Every route naming a webhook, event or delivery (the catalogue is the operator's, the same for all).
    const idRoutes = portalRoutes.filter((route) =>
      /\{(webhookId|eventId|deliveryId)\}/.test(route.resource),
    );
    expect(idRoutes.length).toBe(13);
    for (const route of idRoutes) {
      const response = await logged(() =>
        portal.call(
          token,
          route.method,
          pathWith(route.resource, foreign),
          bodyFor(route.method, route.resource),
        ),
      );
      expect(response.status, `${route.method} ${route.resource}: ${response.body}`).toBe(404);
    }
    const theirs = await pipeline.api("GET", `/tenants/${B}/webhooks/${foreign.webhookId}`);
    expect(theirs.status).toBe(200);
    expect(theirs.json).toMatchObject({ description: null, version: 1 });
  });

  it("reads the operator's event-type catalogue, with each type's description and example", async () => {
    const token = await portal.token(A, { capabilities: ["endpoints:read"] });
    const listed = await portal.call(token, "GET", "/event-types");
    expect(listed.status).toBe(200);
    expect(listed.json.data).toEqual([
      expect.objectContaining({ ...CATALOGUED, deprecated: false, archived: false }),
    ]);
    const one = await portal.call(token, "GET", `/event-types/${CATALOGUED.name}`);
    expect(one.json).toMatchObject(CATALOGUED);
    expect((await portal.call(token, "GET", "/event-types/no.such.type")).status).toBe(404);
    // Reading it is all: the operator's catalogue routes that change it are not on the portal API.
    const put = await portal.call(token, "PUT", `/event-types/${CATALOGUED.name}`, {
      description: "mine now",
    });
    expect([404, 405]).toContain(put.status);
  });

  it("tests a payload filter and lists a webhook's deliveries, on its own webhooks only", async () => {
    const token = await portal.token(A);
    const tested = await portal.call(token, "POST", `/webhooks/${ownWebhookId}/filter-test`, {
      event: { type: "order.placed", data: { n: 1 } },
      filter: { data: { n: [{ numeric: [">", 5] }] } },
    });
    expect(tested.status).toBe(200);
    expect(tested.json).toMatchObject({ matches: false, failedClause: { path: "data.n" } });
    const deliveries = await portal.call(token, "GET", `/webhooks/${ownWebhookId}/deliveries`);
    expect(deliveries.status).toBe(200);
    expect(Array.isArray(deliveries.json.data)).toBe(true);
  });

  it("offers no route to publish, mint tokens, read the DLQ or the tenant", async () => {
    const token = await portal.token(A);
    for (const [method, path] of [
      ["POST", "/events"],
      ["POST", "/portal-sessions"],
      ["GET", "/dlq"],
      ["POST", "/dlq/redrive"],
      ["GET", ""],
      ["GET", `/tenants/${A}`],
      ["DELETE", `/tenants/${A}`],
    ] as const) {
      const response = await portal.call(token, method, path, method === "POST" ? {} : undefined);
      expect([404, 405], `${method} ${path}`).toContain(response.status);
    }
  });
});

describe("tokens the portal refuses with 401", () => {
  const secretOf = (kid = "k1") => new TextEncoder().encode(portal.keys[kid]);
  const claims = (overrides: Record<string, unknown> = {}) => ({
    scope: PORTAL_CAPABILITIES.join(" "),
    ...overrides,
  });
  const signed = async (
    options: {
      kid?: string;
      alg?: string;
      key?: Uint8Array;
      iss?: string;
      aud?: string;
      exp?: number;
      iat?: number;
      sub?: string;
    } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims())
      .setProtectedHeader({ alg: options.alg ?? "HS256", kid: options.kid ?? "k1" })
      .setSubject(options.sub ?? A)
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
      .setIssuedAt(options.iat ?? now)
      .setExpirationTime(options.exp ?? now + 600)
      .setJti("f0e1d2c3-b4a5-4697-8899-aabbccddeeff")
      .sign(options.key ?? secretOf());
  };
  const expectUnauthorized = async (authorization: string | undefined, label: string) => {
    const response = await logged(() => portal.call(authorization, "GET", "/webhooks"));
    expect(response.status, `${label}: ${response.body}`).toBe(401);
    expect(response.json).toMatchObject({ status: 401, title: "Unauthorized" });
  };

  it("accepts a well-formed token signed with the current key (the forgeries below differ in one thing)", async () => {
    expect((await portal.call(await signed(), "GET", "/webhooks")).status).toBe(200);
  });

  it("missing, malformed, tampered, expired, wrong audience or issuer, unknown kid", async () => {
    await expectUnauthorized(undefined, "no header");
    await expectUnauthorized("Basic dXNlcjpwYXNz", "another scheme");
    await expectUnauthorized("not-a-jwt", "garbage");
    const good = await signed();
    const [header, payload, signature] = good.split(".") as [string, string, string];
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: B }),
    ).toString("base64url");
    await expectUnauthorized(`${header}.${forgedPayload}.${signature}`, "tenant swapped in the payload");
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    await expectUnauthorized(`${header}.${payload}.${flipped}`, "signature changed");
    const now = Math.floor(Date.now() / 1000);
    await expectUnauthorized(await signed({ iat: now - 7200, exp: now - 60 }), "expired");
    await expectUnauthorized(await signed({ aud: "someone-else" }), "wrong audience");
    await expectUnauthorized(await signed({ iss: "someone-else" }), "wrong issuer");
    await expectUnauthorized(
      await signed({ kid: "k9", key: new TextEncoder().encode(newKey()) }),
      "unknown kid",
    );
    await expectUnauthorized(
      await signed({ key: new TextEncoder().encode(newKey()) }),
      "another key, same kid",
    );
  });

  it("alg none, another HMAC strength with the right key, and RS256 (algorithm confusion)", async () => {
    const unsecured = new UnsecuredJWT(claims())
      .setSubject(A)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti("f0e1d2c3-b4a5-4697-8899-aabbccddeeff")
      .encode();
    await expectUnauthorized(unsecured, "alg none");
    const [, body] = unsecured.split(".");
    const noneWithKid = `${Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url")}.${body}.`;
    await expectUnauthorized(noneWithKid, "alg none naming the kid");
    await expectUnauthorized(await signed({ alg: "HS512" }), "HS512 with the right key");
    const { privateKey } = await generateKeyPair("RS256");
    const rs = await new SignJWT(claims())
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setSubject(A)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti("f0e1d2c3-b4a5-4697-8899-aabbccddeeff")
      .sign(privateKey);
    await expectUnauthorized(rs, "RS256");
  });

  it("revoked: every token minted before the revoke, not one minted after it", async () => {
    const earlier = await portal.token(A);
    const forged = await signed();
    expect((await portal.call(earlier, "GET", "/webhooks")).status).toBe(200);
    const revoked = await portal.revoke(A);
    expect(revoked.status, revoked.body).toBe(200);
    await expectUnauthorized(earlier, "minted before the revoke");
    await expectUnauthorized(forged, "signed before the revoke");
    const later = await portal.token(A);
    expect((await portal.call(later, "GET", "/webhooks")).status).toBe(200);
    expect((await portal.revoke("t_portal-nobody")).status).toBe(404);
  });

  it("the tenant deleted (and created again under the same id): its earlier tokens stay dead", async () => {
    const tenant = "t_portal-leaving";
    await pipeline.api("PUT", `/tenants/${tenant}`, { name: "Leaving" });
    const token = await portal.token(tenant);
    expect((await portal.call(token, "GET", "/webhooks")).status).toBe(200);
    expect((await pipeline.api("DELETE", `/tenants/${tenant}`)).status).toBe(204);
    await expectUnauthorized(token, "tenant deleted");
    // A token's iat is in whole seconds: let the new tenant's createdAt be in a later one.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await pipeline.api("PUT", `/tenants/${tenant}`, { name: "Back" });
    await expectUnauthorized(token, "tenant created again");
  });
});

describe("capabilities", () => {
  for (const withheld of PORTAL_CAPABILITIES) {
    it(`without ${withheld}: 403 on the routes needing it, the others still answer`, async () => {
      const granted = PORTAL_CAPABILITIES.filter((capability) => capability !== withheld);
      const token = await portal.token(A, { capabilities: granted });
      const own = { webhookId: ownWebhookId, eventId: "evt_none", deliveryId: "none" };
      for (const route of portalRoutes.filter((candidate) => candidate.method !== "DELETE")) {
        const response = await portal.call(
          token,
          route.method,
          pathWith(route.resource, own),
          bodyFor(route.method, route.resource),
        );
        if (route.capability === withheld) {
          expect(response.status, `${route.method} ${route.resource}`).toBe(403);
          expect(response.json.detail).toContain(withheld);
        } else expect(response.status, `${route.method} ${route.resource}`).not.toBe(403);
      }
    });
  }

  it("every capability guards at least one route", () => {
    const guarded = new Set<Capability>(portalRoutes.map((route) => route.capability));
    expect([...guarded].sort()).toEqual([...PORTAL_CAPABILITIES].sort());
  });
});

describe("key rotation", () => {
  it("a new current key signs new tokens; the previous key's tokens keep working; a container picks the new key up", async () => {
    const before = await portal.token(A);
    let clock = Date.now();
    const store = new SecretsManagerPortalKeyStore(pipeline.clients.secretsManager, {
      secretId: portal.secretId,
      now: () => clock,
    });
    await store.keySet();
    await portal.rotateKey("k2");
    // The function under test still holds k1 as current (cached): new tokens use k1 until its cache expires…
    const after = await portal.token(A);
    expect((await portal.call(before, "GET", "/webhooks")).status).toBe(200);
    expect((await portal.call(after, "GET", "/webhooks")).status).toBe(200);
    // …and a container that meets a k2 token reads the set again (once its refresh floor has passed).
    const k2Token = await new SignJWT({ scope: "endpoints:read" })
      .setProtectedHeader({ alg: "HS256", kid: "k2" })
      .setSubject(A)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti("f0e1d2c3-b4a5-4697-8899-aabbccddeeff")
      .sign(new TextEncoder().encode(portal.keys.k2));
    const tenants = (id: string) => pipeline.runtime.tenants.get(id);
    const settings = { issuer: ISSUER, audience: AUDIENCE };
    await expect(verifyToken(k2Token, store, settings, tenants, new Date())).rejects.toThrow(/not valid/);
    clock += 11_000;
    await expect(verifyToken(k2Token, store, settings, tenants, new Date())).resolves.toMatchObject({
      tenantId: A,
    });
    await expect(verifyToken(before, store, settings, tenants, new Date())).resolves.toMatchObject({
      tenantId: A,
    });
  });
});

describe("per-tenant limit", () => {
  it("answers 429 with Retry-After past the burst, for that tenant only", async () => {
    const strict = await startPortal(pipeline, { PORTAL_RATE_PER_SECOND: "1", PORTAL_BURST: "3" });
    const a = await strict.token(A);
    const b = await strict.token(B);
    const statuses = [];
    for (let index = 0; index < 5; index += 1)
      statuses.push((await strict.call(a, "GET", "/webhooks")).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
    const limited = await strict.call(a, "GET", "/webhooks");
    expect(limited.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
    expect((await strict.call(b, "GET", "/webhooks")).status).toBe(200);
  });
});

describe("logs", () => {
  it("never hold a token, nor its signature, across all the sessions above", async () => {
    // Provoke an internal-error log line with a token in the request too.
    const token = await portal.token(A);
    await logged(() => portal.call(token, "GET", "/webhooks?limit=abc"));
    expect(logs.length).toBeGreaterThan(0);
    const tokens = [...logs.matchAll(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g)];
    expect(tokens).toEqual([]);
    expect(logs).not.toContain(token.split(".")[2]);
  });
});
