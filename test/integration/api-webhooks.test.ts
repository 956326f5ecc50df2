import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretOwner } from "#core/signing/signing-secrets.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";

/** What API Gateway's request model answers for a body it refuses: a problem document naming `body`. */
const GATEWAY_REFUSAL = {
  type: "about:blank",
  title: "Invalid request",
  status: 400,
  detail: "Invalid request body",
  errors: [{ field: "body", message: "Invalid request body" }],
};

import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
/** Production destination rules (https, port 443, public addresses only). */
let strict: Pipeline;
let receiver: Receiver;
const valid = () => ({ url: receiver.url, eventTypes: ["order.*"] });

beforeAll(async () => {
  pipeline = await startPipeline();
  strict = await startPipeline({ strictDestinations: true });
  receiver = await startReceiver();
});
afterAll(async () => {
  pipeline.close();
  strict.close();
  await receiver.close();
});

const create = (body: unknown) => pipeline.api("POST", pipeline.under("/webhooks"), body);
const countWebhooks = async (target: Pipeline) => {
  let total = 0;
  let cursor: string | null = null;
  do {
    const page = await target.api(
      "GET",
      target.under(`/webhooks?limit=100${cursor ? `&cursor=${cursor}` : ""}`),
    );
    total += (page.json.data as unknown[]).length;
    cursor = page.json.nextCursor as string | null;
  } while (cursor);
  return total;
};

describe("POST /tenants/{tenantId}/webhooks", () => {
  it("creates a webhook: 201, the secret once, Location and ETag", async () => {
    const response = await create({
      ...valid(),
      headers: { "X-Tenant": "acme" },
      description: "orders",
      maxAttempts: 3,
      signatureScheme: "standard+github",
    });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      id: expect.stringMatching(/^wh_[0-9A-Z]{26}$/),
      url: receiver.url,
      eventTypes: ["order.*"],
      headers: { "X-Tenant": "acme" },
      description: "orders",
      active: true,
      maxAttempts: 3,
      signatureScheme: "standard+github",
      version: 1,
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(response.headers.location).toBe(`/tenants/${pipeline.tenantId}/webhooks/${response.json.id}`);
    expect(response.headers.etag).toBe('"1"');
    expect(response.json).not.toHaveProperty("secretVersion");
  });

  const invalid: [string, unknown, string][] = [
    ["https only", { url: "http://example.com/", eventTypes: ["a"] }, "url"],
    ["no userinfo", { url: "https://u:p@example.com/", eventTypes: ["a"] }, "url"],
    ["no control characters", { url: "https://exa\nmple.com/", eventTypes: ["a"] }, "url"],
    ["allowed port", { url: "https://example.com:8443/", eventTypes: ["a"] }, "url"],
    ["length limit", { url: `https://example.com/${"a".repeat(2100)}`, eventTypes: ["a"] }, "url"],
    ["no private literal", { url: "https://10.0.0.1/", eventTypes: ["a"] }, "url"],
    ["no metadata address", { url: "https://169.254.169.254/", eventTypes: ["a"] }, "url"],
    ["pattern syntax", { url: "https://example.com/", eventTypes: ["order.*.x"] }, "eventTypes.0"],
    ["pattern characters", { url: "https://example.com/", eventTypes: ["order completed"] }, "eventTypes.0"],
    ["pattern length", { url: "https://example.com/", eventTypes: ["a".repeat(257)] }, "eventTypes.0"],
    [
      "at most 50 patterns",
      { url: "https://example.com/", eventTypes: Array.from({ length: 51 }, (_, n) => `t${n}`) },
      "eventTypes",
    ],
    ["at least one pattern", { url: "https://example.com/", eventTypes: [] }, "eventTypes"],
    [
      "header name token",
      { ...{ url: "https://example.com/", eventTypes: ["a"] }, headers: { "Bad Name": "x" } },
      "headers.Bad Name",
    ],
    [
      "no CR/LF in a value",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "X-A": "a\r\nInjected: 1" } },
      "headers.X-A",
    ],
    [
      "no NUL in a value",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "X-A": "a\u0000" } },
      "headers.X-A",
    ],
    [
      "value ≤ 4 KiB",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "X-A": "x".repeat(4097) } },
      "headers.X-A",
    ],
    [
      "≤ 20 headers",
      {
        url: "https://example.com/",
        eventTypes: ["a"],
        headers: Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`X-H${n}`, "v"])),
      },
      "headers",
    ],
    [
      "reserved: host",
      { url: "https://example.com/", eventTypes: ["a"], headers: { Host: "evil" } },
      "headers.Host",
    ],
    [
      "reserved: content-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "Content-Length": "1" } },
      "headers.Content-Length",
    ],
    [
      "reserved: webhook-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "WEBHOOK-SIGNATURE": "v1,x" } },
      "headers.WEBHOOK-SIGNATURE",
    ],
    [
      "reserved: x-webhook-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "x-webhook-attempt": "9" } },
      "headers.x-webhook-attempt",
    ],
    [
      "reserved: x-amz-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "X-Amz-Date": "x" } },
      "headers.X-Amz-Date",
    ],
    [
      "reserved: authorization",
      { url: "https://example.com/", eventTypes: ["a"], headers: { Authorization: "Bearer x" } },
      "headers.Authorization",
    ],
    [
      "reserved: x-forwarded-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "X-Forwarded-For": "1.2.3.4" } },
      "headers.X-Forwarded-For",
    ],
    [
      "reserved: proxy-*",
      { url: "https://example.com/", eventTypes: ["a"], headers: { "Proxy-Authorization": "x" } },
      "headers.Proxy-Authorization",
    ],
    [
      "description length",
      { url: "https://example.com/", eventTypes: ["a"], description: "d".repeat(1025) },
      "description",
    ],
    ["maxAttempts range", { url: "https://example.com/", eventTypes: ["a"], maxAttempts: 0 }, "maxAttempts"],
    [
      "maxAttempts not above the schedule",
      { url: "https://example.com/", eventTypes: ["a"], maxAttempts: 99 },
      "maxAttempts",
    ],
    [
      "signature scheme",
      { url: "https://example.com/", eventTypes: ["a"], signatureScheme: "md5" },
      "signatureScheme",
    ],
    ["unknown field", { url: "https://example.com/", eventTypes: ["a"], secret: "whsec_mine" }, "body"],
    ["url required", { eventTypes: ["a"] }, "url"],
  ];

  it.each(invalid)("refuses with 400 naming the field, storing nothing: %s", async (_rule, body, field) => {
    const before = await countWebhooks(strict);
    // Through the gateway: refused there (its request model) or by the Lambda; either way a 400.
    expect((await strict.api("POST", strict.under("/webhooks"), body)).status).toBe(400);
    // The Lambda's own validation, for bodies the gateway's shape check lets through or would have stopped.
    const response = await strict.lambdaApi("POST", strict.under("/webhooks"), body);
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(response.json).toMatchObject({ status: 400, title: "Invalid request" });
    const fields = (response.json.errors as { field: string }[]).map((issue) => issue.field);
    expect(fields).toContain(field);
    expect(await countWebhooks(strict)).toBe(before);
  });

  it("refuses malformed JSON and an empty body with 400", async () => {
    for (const bad of ["{not json", "", [1, 2]]) {
      expect((await create(bad)).json, String(bad)).toEqual(GATEWAY_REFUSAL);
      expect((await pipeline.lambdaApi("POST", pipeline.under("/webhooks"), bad)).status, String(bad)).toBe(
        400,
      );
    }
    expect((await pipeline.lambdaApi("POST", pipeline.under("/webhooks"), "{not json")).json).toMatchObject({
      status: 400,
      errors: [{ field: "body", message: "not valid JSON" }],
    });
  });
});

describe("GET /tenants/{tenantId}/webhooks and …/webhooks/{webhookId}", () => {
  it("never shows the secret, and 404s an unknown id", async () => {
    const created = await create(valid());
    const got = await pipeline.api("GET", pipeline.under(`/webhooks/${created.json.id}`));
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: created.json.id, url: receiver.url });
    expect(got.body).not.toContain(created.json.secret as string);
    expect(got.json).not.toHaveProperty("secret");
    const missing = await pipeline.api("GET", pipeline.under("/webhooks/wh_00000000000000000000000000"));
    expect(missing).toMatchObject({ status: 404, json: { status: 404, title: "Not found" } });
    expect((await pipeline.api("GET", pipeline.under("/webhooks/..%2F..%2Fetc"))).status).toBe(404);
  });

  it("paginates with an opaque cursor and refuses a forged one", async () => {
    const fresh = await startPipeline();
    for (let n = 0; n < 5; n += 1)
      await fresh.api("POST", fresh.under("/webhooks"), { url: receiver.url, eventTypes: [`p${n}`] });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await fresh.api(
        "GET",
        fresh.under(`/webhooks?limit=2${cursor ? `&cursor=${cursor}` : ""}`),
      );
      expect(page.status).toBe(200);
      seen.push(...(page.json.data as { id: string }[]).map((webhook) => webhook.id));
      cursor = page.json.nextCursor as string | null;
      pages += 1;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect(pages).toBe(3);
    const forged = Buffer.from(JSON.stringify({ gsi1pk: "SUB#x", pk: "a", sk: "b", gsi1sk: "c" })).toString(
      "base64url",
    );
    expect((await fresh.api("GET", fresh.under(`/webhooks?cursor=${forged}`))).json).toMatchObject({
      status: 400,
      errors: [{ field: "cursor" }],
    });
    expect((await fresh.api("GET", fresh.under("/webhooks?cursor=%%%"))).status).toBe(400);
    for (const limit of ["0", "101", "abc", "-1"]) {
      expect((await fresh.api("GET", fresh.under(`/webhooks?limit=${limit}`))).json, limit).toMatchObject({
        status: 400,
        errors: [{ field: "query.limit" }],
      });
    }
    expect((await fresh.api("GET", fresh.under("/webhooks?colour=blue"))).status).toBe(400);
    fresh.close();
  });

  it("filters by event_type (who would receive it) and by active", async () => {
    const fresh = await startPipeline();
    const make = async (eventTypes: string[], active = true) =>
      (await fresh.api("POST", fresh.under("/webhooks"), { url: receiver.url, eventTypes, active })).json
        .id as string;
    const exact = await make(["invoice.paid"]);
    const prefix = await make(["invoice.*"]);
    const all = await make(["*"]);
    const inactive = await make(["invoice.paid"], false);
    await make(["user.created"]);
    const ids = async (query: string) =>
      ((await fresh.api("GET", fresh.under(`/webhooks?${query}`))).json.data as { id: string }[])
        .map((webhook) => webhook.id)
        .sort();
    expect(await ids("event_type=invoice.paid")).toEqual([exact, prefix, all, inactive].sort());
    expect(await ids("event_type=invoice.paid&active=true")).toEqual([exact, prefix, all].sort());
    expect(await ids("active=false")).toEqual([inactive]);
    const first = await fresh.api("GET", fresh.under("/webhooks?event_type=invoice.paid&limit=2"));
    const second = await fresh.api(
      "GET",
      fresh.under(`/webhooks?event_type=invoice.paid&limit=2&cursor=${first.json.nextCursor}`),
    );
    expect(
      [...(first.json.data as { id: string }[]), ...(second.json.data as { id: string }[])]
        .map((webhook) => webhook.id)
        .sort(),
    ).toEqual([exact, prefix, all, inactive].sort());
    expect(second.json.nextCursor).toBeNull();
    expect((await fresh.api("GET", fresh.under("/webhooks?event_type=bad%20type"))).json).toMatchObject({
      errors: [{ field: "query.event_type" }],
    });
    fresh.close();
  });
});

describe("PATCH /tenants/{tenantId}/webhooks/{webhookId}", () => {
  it("updates partially with the same validation, bumping the version", async () => {
    const created = await create(valid());
    const id = created.json.id as string;
    const patched = await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), {
      eventTypes: ["order.created", "order.paid"],
      description: "narrowed",
    });
    expect(patched).toMatchObject({
      status: 200,
      json: {
        eventTypes: ["order.created", "order.paid"],
        description: "narrowed",
        url: receiver.url,
        version: 2,
      },
    });
    expect(patched.headers.etag).toBe('"2"');
    const bad = await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { url: "https://10.0.0.1/" });
    expect(bad.json).toMatchObject({ status: 400, errors: [{ field: "url" }] });
    expect((await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), {})).status).toBe(400);
    expect((await pipeline.api("GET", pipeline.under(`/webhooks/${id}`))).json.version).toBe(2);
    expect(await pipeline.runtime.webhooks.activeWebhookIds(pipeline.tenantId, "order.*")).not.toContain(id);
    expect(await pipeline.runtime.webhooks.activeWebhookIds(pipeline.tenantId, "order.paid")).toContain(id);
  });

  it("enforces optimistic concurrency: 412 on a stale If-Match, 409 on a stale body version", async () => {
    const id = (await create(valid())).json.id as string;
    expect(
      (
        await pipeline.api(
          "PATCH",
          pipeline.under(`/webhooks/${id}`),
          { description: "a" },
          { "if-match": '"1"' },
        )
      ).status,
    ).toBe(200);
    const stale = await pipeline.api(
      "PATCH",
      pipeline.under(`/webhooks/${id}`),
      { description: "b" },
      { "if-match": '"1"' },
    );
    expect(stale).toMatchObject({ status: 412, json: { title: "Precondition failed" } });
    expect(
      (
        await pipeline.api(
          "PATCH",
          pipeline.under(`/webhooks/${id}`),
          { description: "b" },
          { "if-match": "garbage" },
        )
      ).status,
    ).toBe(412);
    expect(
      (await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { description: "c", version: 1 }))
        .status,
    ).toBe(409);
    expect(
      (await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { description: "c", version: 2 }))
        .status,
    ).toBe(200);
    expect(
      (await pipeline.api("PATCH", pipeline.under("/webhooks/wh_nope"), { description: "c" })).status,
    ).toBe(404);
  });

  it("re-enabling a disabled webhook clears its reason", async () => {
    const id = (await create(valid())).json.id as string;
    await pipeline.runtime.webhooks.disable(pipeline.tenantId, id, "http_410");
    expect((await pipeline.api("GET", pipeline.under(`/webhooks/${id}`))).json).toMatchObject({
      active: false,
      disabledReason: "http_410",
    });
    const enabled = await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { active: true });
    expect(enabled.json).toMatchObject({ active: true, disabledReason: null });
    expect(await pipeline.runtime.webhooks.activeWebhookIds(pipeline.tenantId, "order.*")).toContain(id);
    const disabled = await pipeline.api("PATCH", pipeline.under(`/webhooks/${id}`), { active: false });
    expect(disabled.json).toMatchObject({ active: false, disabledReason: "disabled_by_user" });
  });
});

describe("DELETE /tenants/{tenantId}/webhooks/{webhookId}", () => {
  it("removes the webhook, its index items and its secret; pending deliveries are dropped when they come up", async () => {
    const created = await create({ url: receiver.url, eventTypes: ["cleanup.done"] });
    const id = created.json.id as string;
    const published = await pipeline.publishApi({ type: "cleanup.done", data: {} });
    expect(published.json.deliveries).toBe(1);
    expect((await pipeline.api("DELETE", pipeline.under(`/webhooks/${id}`))).status).toBe(204);
    expect((await pipeline.api("GET", pipeline.under(`/webhooks/${id}`))).status).toBe(404);
    expect((await pipeline.api("DELETE", pipeline.under(`/webhooks/${id}`))).status).toBe(404);
    expect(await pipeline.runtime.webhooks.subscribedWebhookIds(pipeline.tenantId, "cleanup.done")).toEqual(
      [],
    );
    // Scheduled for deletion after the recovery window, not erased at once.
    const secret = await pipeline.clients.secretsManager.send(
      new DescribeSecretCommand({
        SecretId: `${pipeline.config.secretNamePrefix}${secretOwner(pipeline.tenantId, id)}`,
      }),
    );
    expect(secret.DeletedDate?.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const before = receiver.requests.length;
    await pipeline.drain();
    expect(receiver.requests.length).toBe(before);
    const event = await pipeline.api("GET", pipeline.under(`/events/${published.json.eventId}`));
    expect(event.json.deliveries).toMatchObject([
      { webhookId: id, status: "dropped", reason: "webhook_deleted" },
    ]);
  });
});

describe("POST /tenants/{tenantId}/webhooks/{webhookId}/rotate-secret", () => {
  it("returns a new secret; both sign during the grace window; bounds are enforced", async () => {
    const hook = await startReceiver();
    const created = await create({ url: hook.url, eventTypes: ["rotation.check"] });
    const id = created.json.id as string;
    const rotated = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
      gracePeriodSeconds: 3600,
    });
    expect(rotated).toMatchObject({
      status: 200,
      json: { secret: expect.stringMatching(/^whsec_/), version: 2 },
    });
    expect(rotated.json.secret).not.toBe(created.json.secret);
    expect(Date.parse(rotated.json.previousSecretValidUntil as string) - Date.now()).toBeGreaterThan(
      3500_000,
    );
    await pipeline.publishApi({ type: "rotation.check", data: {} });
    await pipeline.drain();
    const [request] = hook.requests;
    expect(String(request?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [created.json.secret, rotated.json.secret] as string[]) {
      new StandardWebhook(secret).verify(request?.body ?? "", request?.headers as Record<string, string>);
    }
    // No body at all is refused, as API Gateway refuses it; `{}` takes the defaults.
    expect((await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`))).json).toEqual(
      GATEWAY_REFUSAL,
    );
    const defaulted = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {});
    expect(Date.parse(defaulted.json.previousSecretValidUntil as string) - Date.now()).toBeGreaterThan(
      86_000_000,
    );
    for (const grace of [-1, 604_801, 1.5, "60"]) {
      expect(
        (
          await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
            gracePeriodSeconds: grace,
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await pipeline.lambdaApi("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
            gracePeriodSeconds: grace,
          })
        ).json,
        String(grace),
      ).toMatchObject({
        status: 400,
        errors: [{ field: "gracePeriodSeconds" }],
      });
    }
    const immediate = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/rotate-secret`), {
      gracePeriodSeconds: 0,
    });
    expect(immediate.json.previousSecretValidUntil).toBeNull();
    await hook.close();
  });
});

describe("POST …/webhooks/{webhookId}/test and GET …/webhooks/{webhookId}/attempts", () => {
  it("sends a webhook.test event to this webhook only, and lists its attempts newest first with a status filter", async () => {
    const hook = await startReceiver((_, index) => ({ status: index === 0 ? 500 : 200 }));
    const id = (await create({ url: hook.url, eventTypes: ["never.published"] })).json.id as string;
    const bystander = await startReceiver();
    await create({ url: bystander.url, eventTypes: ["*"] });
    const tested = await pipeline.api("POST", pipeline.under(`/webhooks/${id}/test`));
    expect(tested).toMatchObject({
      status: 202,
      json: { eventId: expect.stringMatching(/^evt_/), deliveryId: expect.stringMatching(/^dlv_/) },
    });
    await pipeline.drain();
    expect(hook.requests.map((request) => JSON.parse(request.body).type)).toEqual([
      "webhook.test",
      "webhook.test",
    ]);
    expect(bystander.requests).toHaveLength(0);

    const attempts = await pipeline.api("GET", pipeline.under(`/webhooks/${id}/attempts`));
    expect(
      (attempts.json.data as { attempt: number; status: string }[]).map((attempt) => [
        attempt.attempt,
        attempt.status,
      ]),
    ).toEqual([
      [2, "succeeded"],
      [1, "failed"],
    ]);
    const failed = await pipeline.api("GET", pipeline.under(`/webhooks/${id}/attempts?status=failed`));
    expect((failed.json.data as { statusCode: number }[]).map((attempt) => attempt.statusCode)).toEqual([
      500,
    ]);
    const paged = await pipeline.api("GET", pipeline.under(`/webhooks/${id}/attempts?limit=1`));
    const next = await pipeline.api(
      "GET",
      pipeline.under(`/webhooks/${id}/attempts?limit=1&cursor=${paged.json.nextCursor}`),
    );
    expect((next.json.data as { attempt: number }[])[0]?.attempt).toBe(1);
    expect((await pipeline.api("GET", pipeline.under(`/webhooks/${id}/attempts?status=maybe`))).status).toBe(
      400,
    );
    expect((await pipeline.api("POST", pipeline.under("/webhooks/wh_missing/test"))).status).toBe(404);
    await hook.close();
    await bystander.close();
  });
});
