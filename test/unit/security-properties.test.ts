import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { type DeliverDeps, deliverBatch, type QueueRecord, webhookKey } from "#core/delivery/deliver.ts";
import {
  checkWebhookUrl,
  type DestinationPolicy,
  DestinationRefusedError,
  isAllowedAddress,
  strictDestinationPolicy,
} from "#core/delivery/destination-policy.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  defaultRetryPolicy,
  MAX_RETRY_DELAY_SECONDS,
  retryDelaySeconds,
} from "#core/delivery/retry-policy.ts";
import { reservedHeaderReason, webhookSchemas } from "#core/management/webhook-schemas.ts";
import { type Delivery, publishRequestSchema, type Webhook } from "#core/shared/model.ts";
import { deadLetterQueue, deliveryQueue } from "#core/shared/resource-definitions.ts";

const httpPolicy: DestinationPolicy = { allowHttp: true, allowedPorts: [[1, 65_535]], allowPrivate: "none" };

describe("the URL validator (properties)", () => {
  it("never throws anything but a refusal, and whatever it accepts is https, public, credential-free and on 443", () => {
    const url = fc.webUrl({
      validSchemes: ["http", "https", "ftp"],
      withQueryParameters: true,
      withFragments: true,
      authoritySettings: {
        withIPv4: true,
        withIPv4Extended: true,
        withIPv6: true,
        withUserInfo: true,
        withPort: true,
      },
    });
    fc.assert(
      fc.property(fc.oneof(url, fc.string()), (candidate) => {
        let accepted: URL | undefined;
        try {
          accepted = checkWebhookUrl(candidate, strictDestinationPolicy);
        } catch (error) {
          expect(error).toBeInstanceOf(DestinationRefusedError);
          return;
        }
        expect(accepted.protocol).toBe("https:");
        expect(accepted.username + accepted.password).toBe("");
        expect(["", "443"]).toContain(accepted.port);
        // A literal address must be public; a name is checked again against every resolved address at send time.
        const host = accepted.hostname.replace(/^\[|\]$/g, "");
        if (ipaddr.isValid(host)) expect(isAllowedAddress(host)).toBe(true);
        else expect(host.toLowerCase()).not.toMatch(/(^|\.)localhost\.?$/);
      }),
      { numRuns: 3000 },
    );
  });

  // Blocked IPv4 space (first octets and prefix lengths), and every way a URL can spell an address in it.
  const blockedRanges: [number, number, number][] = [
    [0, 0, 8],
    [10, 0, 8],
    [100, 64, 10],
    [127, 0, 8],
    [169, 254, 16],
    [172, 16, 12],
    [192, 168, 16],
    [224, 0, 4],
    [240, 0, 4],
  ];
  const blockedAddress = fc
    .tuple(fc.constantFrom(...blockedRanges), fc.nat({ max: 2 ** 32 - 1 }))
    .map(([[a, b, bits], noise]) => {
      const base = ((a << 24) | (b << 16)) >>> 0;
      const hostBits = 32 - bits;
      return (base + (noise % 2 ** hostBits)) >>> 0;
    });
  const encodings: ((n: number) => string)[] = [
    (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."),
    (n) => String(n),
    (n) => `0x${n.toString(16)}`,
    (n) =>
      [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((part) => `0${part.toString(8)}`).join("."),
    (n) => `${n >>> 24}.${n & 0xffffff}`,
    (n) => `${n >>> 24}.${(n >>> 16) & 255}.${n & 0xffff}`,
    (n) => `[::ffff:${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")}]`,
    (n) => `[::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
    (n) => `[0:0:0:0:0:ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
    (n) => `[64:ff9b::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
    (n) => `[2002:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::]`,
  ];

  it("refuses every encoding of every blocked range", () => {
    fc.assert(
      fc.property(
        blockedAddress,
        fc.constantFrom(...encodings),
        fc.constantFrom("http", "https"),
        (address, encode, scheme) => {
          expect(() => checkWebhookUrl(`${scheme}://${encode(address)}/hook`, httpPolicy)).toThrow(
            DestinationRefusedError,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("the header validator (properties)", () => {
  const schemas = webhookSchemas({
    policy: strictDestinationPolicy,
    maxAttempts: 8,
    allowAuthorizationHeader: false,
  });
  const name = fc.oneof(
    fc.string({ minLength: 1, maxLength: 30 }),
    fc.constantFrom(
      "Host",
      "content-type",
      "X-Webhook-Attempt",
      "x-amz-date",
      "Webhook-Id",
      "X-Tenant",
      "Accept-Language",
    ),
  );
  const value = fc.oneof(fc.string({ maxLength: 50 }), fc.string({ unit: "binary", maxLength: 20 }));

  it("accepts only what new Headers().set() accepts, and never a reserved name", () => {
    fc.assert(
      fc.property(name, value, (headerName, headerValue) => {
        const parsed = schemas.create.safeParse({
          url: "https://example.com/",
          eventTypes: ["a"],
          headers: { [headerName]: headerValue },
        });
        if (!parsed.success) return;
        // What the validator keeps is what gets stored and sent.
        for (const [kept, keptValue] of Object.entries(parsed.data.headers ?? {})) {
          expect(() => new Headers().set(kept, keptValue)).not.toThrow();
          expect(reservedHeaderReason(kept, false)).toBeUndefined();
          expect(keptValue).not.toMatch(/[\r\n\0]/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("the retry schedule (properties)", () => {
  it("is non-decreasing, each jittered step stays under 12 h, and the longest total fits the queue's retention", () => {
    const steps = [...DEFAULT_RETRY_SCHEDULE_SECONDS];
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), {
          minLength: steps.length,
          maxLength: steps.length,
        }),
        (draws) => {
          const delays = steps.map((_, index) =>
            retryDelaySeconds(defaultRetryPolicy, index + 1, undefined, () => draws[index] as number),
          );
          for (const delay of delays) expect(delay).toBeLessThanOrEqual(MAX_RETRY_DELAY_SECONDS);
          expect(delays.reduce((sum, delay) => sum + delay, 0)).toBeLessThan(
            deliveryQueue.retentionPeriodSeconds,
          );
        },
      ),
    );
    expect(deadLetterQueue.retentionPeriodSeconds).toBeGreaterThan(deliveryQueue.retentionPeriodSeconds);
  });
});

describe("batchItemFailures (properties)", () => {
  type Fate =
    | "succeed"
    | "retry"
    | "rejected"
    | "refused"
    | "gone"
    | "dependency"
    | "malformed"
    | "duplicate"
    /** Its tenant was deleted: dropped without a request, never retried. */
    | "tenant_gone";
  // A 4xx ("rejected") is retried like a 5xx; only our own refusals and a 410 leave the queue at once.
  const retried: readonly Fate[] = ["retry", "rejected", "dependency"];

  it("equals exactly the messages that must come back, for any batch and any mix of outcomes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.constantFrom<Fate>(
            "succeed",
            "retry",
            "rejected",
            "refused",
            "gone",
            "dependency",
            "malformed",
            "duplicate",
            "tenant_gone",
          ),
          { minLength: 1, maxLength: 10 },
        ),
        async (fates) => {
          const records: QueueRecord[] = fates.map((fate, index) => ({
            messageId: `m${index}`,
            receiptHandle: `r${index}`,
            body:
              fate === "malformed"
                ? "{not json"
                : JSON.stringify({
                    tenantId: fate === "tenant_gone" ? "t_gone" : "t_1",
                    deliveryId: `d${index}`,
                    eventId: `e${index}`,
                    webhookId: `w${index}`,
                    eventType: "a.b",
                    body: "{}",
                  }),
          }));
          const fateOf = (id: string) => fates[Number(id.slice(1))] as Fate;
          const posted: Fate[] = [];
          const deps: DeliverDeps = {
            webhooks: { disable: async () => undefined },
            secrets: {
              // The owner is `<tenant>/<webhook>`, and webhook `w<n>` belongs to record n.
              get: async (owner) => {
                if (fateOf(owner.slice(owner.indexOf("/") + 1)) === "dependency")
                  throw new Error("throttled");
                return ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"];
              },
            },
            events: { body: async () => undefined },
            ledger: {
              readState: async (ids, webhookKeys) => ({
                deliveries: new Map(
                  ids
                    .filter((id) => fateOf(id) === "duplicate")
                    .map((id) => [id, { id, status: "delivered", attempts: 1 } as Delivery]),
                ),
                webhooks: new Map(
                  webhookKeys.map(({ tenantId, webhookId: id }): [string, Webhook] => [
                    webhookKey(tenantId, id),
                    {
                      id,
                      tenantId,
                      url: "https://hooks.example.com/",
                      eventTypes: ["a.*"],
                      headers: {},
                      active: true,
                      signatureScheme: "standard",
                      secretVersion: "v",
                      createdAt: "",
                      updatedAt: "",
                      version: 1,
                    },
                  ]),
                ),
                liveTenants: new Set(
                  webhookKeys.map(({ tenantId }) => tenantId).filter((tenantId) => tenantId !== "t_gone"),
                ),
              }),
              record: async () => ({ failed: new Set(), superseded: new Set() }),
            },
            queue: {
              retryLater: async () => undefined,
              requeue: async () => undefined,
              deadLetter: async () => new Set(),
            },
            http: {
              post: async (url, headers) => {
                const fate = fateOf(`x${headers["x-webhook-delivery-id"]?.slice(1)}`);
                posted.push(fate);
                if (fate === "refused")
                  return {
                    result: { kind: "transport_error", errorClass: "invalid_request" },
                    durationMs: url.length,
                  };
                const status =
                  fate === "retry" ? 503 : fate === "rejected" ? 404 : fate === "gone" ? 410 : 200;
                return { result: { kind: "response", status }, durationMs: url.length };
              },
            },
            retryPolicy: { scheduleSeconds: [1, 2], jitterRatio: 0 },
            dependencyBackoffSeconds: 1,
            deadLetterAfterReceives: 28,
            now: () => new Date(),
            log: { info: () => undefined, warn: () => undefined, error: () => undefined },
            metrics: {
              attempt: () => undefined,
              deadLettered: () => undefined,
              dropped: () => undefined,
              dependencyBackoff: () => undefined,
            },
          };
          const result = await deliverBatch(records, deps);
          const expected = fates.flatMap((fate, index) => (retried.includes(fate) ? [`m${index}`] : []));
          expect(result.batchItemFailures.map((item) => item.itemIdentifier).sort()).toEqual(expected.sort());
          expect(posted).not.toContain("tenant_gone");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("an event's data with a key named __proto__", () => {
  // JSON.parse keeps such a key as an own property; any copy by assignment (zod's record, a spread) drops it, so it
  // could be neither stored nor delivered as sent, and two payloads differing only there would share a fingerprint.
  const segment = fc
    .string({ minLength: 1, maxLength: 8 })
    .filter((key) => key !== "__proto__" && !key.includes("."));

  it("is refused at any depth, naming data and where the key is", () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.jsonValue(), (path, inner) => {
        const nested = path.reduceRight<string>(
          (json, key) => `{${JSON.stringify(key)}:${json}}`,
          `{"__proto__":${JSON.stringify(inner)}}`,
        );
        const parsed = publishRequestSchema.safeParse(JSON.parse(`{"type":"a.b","data":${nested}}`));
        expect(parsed.success).toBe(false);
        if (parsed.success) return;
        expect(parsed.error.issues[0]?.path).toEqual(["data"]);
        expect(parsed.error.issues[0]?.message).toContain(`data.${[...path, "__proto__"].join(".")}`);
      }),
    );
  });

  it("is a different thing from a key merely containing the word", () => {
    const parsed = publishRequestSchema.safeParse(
      JSON.parse('{"type":"a.b","data":{"proto":1,"__proto":2,"x__proto__":{"constructor":3}}}'),
    );
    expect(parsed.success && parsed.data.data).toEqual({
      proto: 1,
      __proto: 2,
      x__proto__: { constructor: 3 },
    });
  });
});
