import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "#core/api-routes.ts";
import { checkWebhookUrl } from "#core/destination-policy.ts";
import { webhookSchemas } from "#core/webhook-schemas.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

describe("every route, fed arbitrary input", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;
  const realIds: string[] = [];

  beforeAll(async () => {
    pipeline = await startPipeline({ strictDestinations: true, schedule: "1" });
    receiver = await startReceiver();
    // Real ids let random input reach past the lookups into validation and the use cases.
    const webhook = await pipeline.createWebhook({
      url: "https://hooks.example.com/in",
      eventTypes: ["prop.*"],
    });
    const published = await pipeline.publishApi({ type: "prop.test", data: {} });
    realIds.push(webhook.webhook.id, published.json.eventId as string);
  });
  afterAll(async () => {
    pipeline.close();
    await receiver.close();
  });

  const validCreate = fc.record({
    url: fc.constantFrom("https://hooks.example.com/a", "https://api.example.org/in?x=1", "https://1.1.1.1/"),
    eventTypes: fc.uniqueArray(fc.constantFrom("a.b", "a.*", "*", "prop.test", "x-y.z_1"), { minLength: 1 }),
    headers: fc.dictionary(
      fc.constantFrom("X-Tenant", "X-Env", "Accept-Language"),
      fc.string({ maxLength: 20 }).filter((v) => !/[\r\n\0]/.test(v)),
    ),
  });
  const body = fc.oneof(
    validCreate,
    fc.json(),
    fc.string(),
    fc.jsonValue(),
    fc.record(
      {
        url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()),
        eventTypes: fc.array(fc.oneof(fc.constantFrom("a.b", "a.*", "*", "x"), fc.string()), {
          maxLength: 60,
        }),
        headers: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 25 }),
        description: fc.string(),
        maxAttempts: fc.oneof(fc.integer(), fc.double()),
        active: fc.oneof(fc.boolean(), fc.string()),
        gracePeriodSeconds: fc.oneof(fc.integer(), fc.string()),
        since: fc.oneof(
          fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
          fc.string(),
        ),
        webhookId: fc.string(),
        limit: fc.integer(),
        version: fc.integer(),
      },
      { requiredKeys: [] },
    ),
  );
  const id = fc.oneof(
    fc.string({ minLength: 1 }),
    fc.constantFrom(...["wh_x", "dlv_x", "evt_x"]),
    fc.constant("__real__"),
  );
  const query = fc.dictionary(
    fc.oneof(
      fc.constantFrom("limit", "cursor", "event_type", "active", "status", "webhook_id"),
      fc.string({ maxLength: 10 }),
    ),
    fc.string({ maxLength: 30 }),
    { maxKeys: 4 },
  );

  it("answers 2xx or a 4xx problem document, never a 5xx or a throw (the Lambda, without the gateway's models)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...apiRoutes),
        body,
        id,
        query,
        fc.nat(),
        async (route, payload, rawId, params, pick) => {
          const value = rawId === "__real__" ? (realIds[pick % realIds.length] as string) : rawId;
          const path = route.resource.replace("{id}", encodeURIComponent(value));
          const search = new URLSearchParams(params).toString();
          // Past the gateway's body models, so arbitrary bodies reach the Lambda's own validation.
          const response = await pipeline.lambdaApi(
            route.method,
            `${path}${search ? `?${search}` : ""}`,
            payload,
          );
          expect(response.status, `${route.method} ${path} → ${response.body}`).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.headers["content-type"]).toBe("application/problem+json");
            expect(response.json.status).toBe(response.status);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("stored nothing invalid: every webhook still satisfies the creation rules", async () => {
    // Creations from valid bodies and from valid bodies with one field replaced by arbitrary JSON.
    const mutated = fc
      .tuple(
        validCreate,
        fc.constantFrom("url", "eventTypes", "headers", "description", "maxAttempts"),
        fc.jsonValue(),
      )
      .map(([body, field, value]) => ({ ...body, [field]: value }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(validCreate, mutated), async (payload) => {
        const response = await pipeline.api("POST", "/webhooks", payload);
        expect([201, 400]).toContain(response.status);
      }),
      { numRuns: 100 },
    );
    const schemas = webhookSchemas({
      policy: pipeline.config.destinationPolicy,
      maxAttempts: 2,
      allowAuthorizationHeader: false,
    });
    const { webhooks } = await pipeline.runtime.webhooks.list(100);
    expect(webhooks.length).toBeGreaterThan(0);
    for (const webhook of webhooks) {
      expect(() => checkWebhookUrl(webhook.url, pipeline.config.destinationPolicy)).not.toThrow();
      const reparsed = schemas.create.safeParse({
        url: webhook.url,
        eventTypes: webhook.eventTypes,
        headers: webhook.headers,
        ...(webhook.description === undefined ? {} : { description: webhook.description }),
        ...(webhook.maxAttempts === undefined ? {} : { maxAttempts: webhook.maxAttempts }),
      });
      expect(reparsed.success, JSON.stringify(webhook)).toBe(true);
    }
  });
});

describe("hostile keys", () => {
  it("treat __proto__, constructor and valueOf as plain names in queries and headers", async () => {
    const pipeline = await startPipeline({ strictDestinations: true });
    for (const name of ["__proto__", "constructor", "valueOf", "toString", "hasOwnProperty"]) {
      const response = await pipeline.api("GET", `/webhooks?${name}=1&${name}=2`);
      expect(response.status, name).toBe(400);
      expect(response.json.errors).toBeDefined();
    }
    const polluted = await pipeline.api(
      "POST",
      "/webhooks",
      '{"url":"https://example.com/","eventTypes":["a"],"headers":{"__proto__":"x"}}',
    );
    // zod's record parsing drops the key without touching any prototype: nothing odd is stored or answered.
    expect(polluted.status).toBe(201);
    expect(Object.hasOwn(polluted.json.headers as object, "__proto__")).toBe(false);
    expect(Object.getPrototypeOf(polluted.json.headers)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    pipeline.close();
  });
});
