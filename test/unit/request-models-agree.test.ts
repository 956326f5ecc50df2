/**
 * Two schemas guard each request body: API Gateway's draft-04 model (functions/core/http/request-models.ts: shape
 * only, checked before the Lambda runs) and the handler's zod schema (the full rules, the source of the OpenAPI
 * document). They must never disagree the harmful way: a body the handler accepts must pass the gateway, or a valid
 * call would be refused with a vaguer 400 than the handler's. Checked over generated bodies near every limit.
 *
 * (The gateway models stay hand-written: zod's draft-04 output drops what API Gateway's subset cannot say, and
 * whether API Gateway accepts it can only be proven by deploying.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Operation, operations } from "#core/contract/api-contract.ts";
import { apiRoutes } from "#core/http/api-routes.ts";
import { bodyPassesGateway } from "#local/api-gateway.ts";

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
const text = (maxLength: number) => fc.string({ maxLength, unit: "grapheme-ascii" });
const longText = (around: number) =>
  fc.integer({ min: around - 3, max: around + 3 }).map((length) => "a".repeat(Math.max(0, length)));
const time = fc
  .date({ min: new Date("1999-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
  .map((date) => date.toISOString());
const pattern = fc.oneof(
  fc.constantFrom("order.created", "order.*", "*", "a-b.c_d"),
  text(10),
  longText(256),
);
const headerName = fc.oneof(fc.constantFrom("X-Env", "X-Team", "Authorization", "content-type"), text(12));
const url = fc.oneof(
  fc.webUrl({ validSchemes: ["https"] }),
  longText(2040).map((path) => `https://hooks.example.com/${path}`),
  fc.constantFrom("https://hooks.example.com/in", "http://hooks.example.com", "https://10.0.0.1/x"),
);
const webhookFields = {
  url,
  eventTypes: fc.array(pattern, { minLength: 0, maxLength: 52 }),
  headers: fc.dictionary(headerName, fc.oneof(text(20), longText(4096)), { maxKeys: 22 }),
  description: maybe(fc.oneof(text(30), longText(1024))),
  maxAttempts: maybe(fc.integer({ min: -1, max: 120 })),
  rateLimitPerSecond: maybe(fc.integer({ min: 0, max: 10_001 })),
  signatureScheme: fc.constantFrom("standard", "standard+github", "github"),
  active: fc.boolean(),
};

/** Bodies for each body-bearing route: mostly well formed, many at or just past a limit. */
const bodies: Readonly<Record<string, fc.Arbitrary<Record<string, unknown>>>> = {
  "PUT /tenants/{tenantId}": fc.record(
    {
      name: fc.oneof(text(20), longText(256), fc.constant("   ")),
      metadata: fc.dictionary(fc.oneof(text(10), longText(64)), fc.oneof(text(10), longText(1024)), {
        maxKeys: 22,
      }),
    },
    { requiredKeys: ["name"] },
  ),
  "POST /tenants/{tenantId}/webhooks": fc.record(
    {
      ...webhookFields,
      description: fc.oneof(text(30), longText(1024)),
      maxAttempts: fc.integer({ min: -1, max: 12 }),
    },
    { requiredKeys: ["url", "eventTypes"] },
  ),
  // Every field of a PATCH is optional, so a random record rarely has all its fields valid: half the bodies change
  // one field, at or near its limit, so the accepting side is always reached.
  "PATCH /tenants/{tenantId}/webhooks/{webhookId}": fc.oneof(
    fc.record(
      { ...webhookFields, version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) },
      { requiredKeys: [] },
    ),
    fc.oneof(
      ...Object.entries(webhookFields).map(([field, value]) => value.map((chosen) => ({ [field]: chosen }))),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((version) => ({ version, active: true })),
    ),
  ),
  "POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret": fc.record(
    { gracePeriodSeconds: fc.integer({ min: -1, max: 604_801 }) },
    { requiredKeys: [] },
  ),
  "POST /tenants/{tenantId}/webhooks/{webhookId}/recover": fc.record(
    { since: fc.oneof(time, text(30)), until: time },
    { requiredKeys: ["since"] },
  ),
  "POST /tenants/{tenantId}/events": fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/), longText(128)),
      type: fc.oneof(fc.constantFrom("order.created", "a"), text(10), longText(256)),
      source: fc.oneof(text(20), longText(256)),
      timestamp: fc.oneof(time, fc.constant("2026-12-01T10:00:00+02:00")),
      data: fc.dictionary(text(8), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
    },
    { requiredKeys: ["type", "data"] },
  ),
  "POST /dlq/redrive": fc.record(
    {
      tenantId: fc.oneof(text(10), longText(64)),
      webhookId: fc.oneof(text(10), longText(64)),
      limit: fc.integer({ min: -1, max: 1001 }),
    },
    { requiredKeys: [] },
  ),
};

const bodyRoutes = apiRoutes.filter((route) => route.body);

describe("the gateway's request models and the handlers' schemas", () => {
  it.each(bodyRoutes.map((route) => `${route.method} ${route.resource}`))(
    "%s: every body the handler accepts passes the gateway",
    (key) => {
      const route = bodyRoutes.find((candidate) => `${candidate.method} ${candidate.resource}` === key);
      const schema = (operations as Readonly<Record<string, Operation>>)[key]?.body;
      if (!route || !schema) throw new Error(`${key} has no body schema in the contract`);
      const arbitrary = bodies[key] ?? fc.dictionary(text(10), fc.jsonValue({ maxDepth: 2 }));
      let accepted = 0;
      fc.assert(
        fc.property(arbitrary, (body) => {
          if (!schema.safeParse(body).success) return true;
          accepted++;
          return bodyPassesGateway(route, JSON.stringify(body));
        }),
        { numRuns: 400 },
      );
      // The generators reach the accepting side too, or the property would hold vacuously.
      if (bodies[key]) expect(accepted).toBeGreaterThan(0);
    },
  );
});
