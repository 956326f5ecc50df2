/**
 * Routing over the real engines: payload filters through the API (validation naming paths, delivery to matching
 * webhooks only, the cost of a filtered fan-out, filter-test), and the event-type catalogue (CRUD, strict-mode
 * refusals, archived and deprecated types, publish-time validation opt-in, the OpenAPI export).
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { validate as validateOpenApi } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE_CACHE_SECONDS } from "#core/routing/catalogue.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

let pipeline: Pipeline;
let receiver: Receiver;
/** Moves the publish function's clock (the catalogue cache is per container, by time). */
let clockOffsetMs = 0;

beforeAll(async () => {
  pipeline = await startPipeline({
    environment: { MAX_WEBHOOKS_PER_TENANT: "150" },
    runtime: { now: () => new Date(Date.now() + clockOffsetMs) },
  });
  receiver = await startReceiver();
});
afterAll(async () => {
  pipeline.close();
  await receiver.close();
});

const create = (body: Record<string, unknown>, tenant = pipeline.tenantId) =>
  pipeline.api("POST", `/tenants/${tenant}/webhooks`, { url: receiver.url, ...body });
/** The value at a path of JSON objects. */
const dig = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
const fieldsOf = (json: Record<string, unknown>) =>
  ((json.errors ?? []) as { field: string }[]).map((issue) => issue.field);

describe("payload filters", () => {
  it("refuses an invalid filter with 400 naming its path, storing nothing", async () => {
    const before = await pipeline.api("GET", pipeline.under("/webhooks"));
    const refused = await create({
      eventTypes: ["order.*"],
      filter: { data: { amount: [{ numeric: [">", "ten"] }], note: [{ regex: ".*" }] } },
    });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused.json)).toEqual(["filter.data.amount[0].numeric[1]", "filter.data.note[0].regex"]);
    const notAnObject = await pipeline.lambdaApi("POST", pipeline.under("/webhooks"), {
      url: receiver.url,
      eventTypes: ["order.*"],
      filter: ["x"],
    });
    expect(notAnObject.status).toBe(400);
    expect(fieldsOf(notAnObject.json)).toEqual(["filter"]);
    const after = await pipeline.api("GET", pipeline.under("/webhooks"));
    expect(after.json.data).toHaveLength((before.json.data ?? []).length);
  });

  it("delivers only to webhooks whose filter matches; a PATCH changes or removes the filter", async () => {
    const big = await create({
      eventTypes: ["invoice.paid"],
      filter: { data: { amount: [{ numeric: [">=", 100] }] } },
    });
    const eu = await create({
      eventTypes: ["invoice.*"],
      filter: { data: { customer: { region: [{ prefix: "eu-" }] } } },
    });
    const all = await create({ eventTypes: ["invoice.paid"] });
    expect(big.status).toBe(201);
    expect(big.json.filter).toEqual({ data: { amount: [{ numeric: [">=", 100] }] } });
    expect(all.json.filter).toBeNull();
    const before = receiver.requests.length;
    const recipients = async (data: Record<string, unknown>) =>
      (await pipeline.publishApi({ type: "invoice.paid", data })).json.deliveries;
    expect(await recipients({ amount: 150, customer: { region: "us-east-1" } })).toBe(2);
    expect(await recipients({ amount: 50, customer: { region: "eu-west-1" } })).toBe(2);
    expect(await recipients({ amount: 50, customer: { region: "us-east-1" } })).toBe(1);
    await pipeline.drain();
    const delivered = receiver.requests
      .slice(before)
      .map((request) => JSON.parse(request.body) as { data: unknown });
    expect(delivered).toHaveLength(5);

    const changed = await pipeline.api("PATCH", pipeline.under(`/webhooks/${big.json.id}`), {
      filter: { data: { amount: [{ numeric: ["<", 100] }] } },
    });
    expect(changed.status).toBe(200);
    expect(await recipients({ amount: 50, customer: { region: "us-east-1" } })).toBe(2);
    const removed = await pipeline.api("PATCH", pipeline.under(`/webhooks/${big.json.id}`), { filter: null });
    expect(removed.json.filter).toBeNull();
    expect(await recipients({ amount: 500, customer: { region: "us-east-1" } })).toBe(2);
    for (const id of [big.json.id, eu.json.id, all.json.id])
      await pipeline.api("DELETE", pipeline.under(`/webhooks/${id}`));
    await pipeline.drain();
  });

  it("filter-test answers whether an event matches and which clause failed, for the saved or a draft filter", async () => {
    const webhook = await create({
      eventTypes: ["ticket.*"],
      filter: { source: ["helpdesk"], data: { priority: ["high", "urgent"] } },
    });
    const test = (body: unknown) =>
      pipeline.api("POST", pipeline.under(`/webhooks/${webhook.json.id}/filter-test`), body);
    const event = { type: "ticket.opened", source: "helpdesk", data: { priority: "low" } };
    expect((await test({ event })).json).toEqual({
      matches: false,
      failedClause: { path: "data.priority", clause: ["high", "urgent"] },
    });
    expect((await test({ event: { ...event, data: { priority: "urgent" } } })).json).toEqual({
      matches: true,
    });
    // Without a source, as the publish API would store it ("api").
    expect((await test({ event: { type: "ticket.opened", data: { priority: "high" } } })).json).toEqual({
      matches: false,
      failedClause: { path: "source", clause: ["helpdesk"] },
    });
    expect((await test({ event: { ...event, type: "order.paid" } })).json).toEqual({
      matches: false,
      failedClause: { path: "type", clause: ["ticket.*"] },
    });
    expect(
      (await test({ event, filter: { data: { priority: [{ "anything-but": "high" }] } } })).json,
    ).toEqual({
      matches: true,
    });
    const badDraft = await test({ event, filter: { data: { priority: [{ numeric: [] }] } } });
    expect(badDraft.status).toBe(400);
    expect(fieldsOf(badDraft.json)).toEqual(["filter.data.priority[0].numeric"]);
    const badEvent = await test({ event: { type: "no spaces", data: {} } });
    expect(badEvent.status).toBe(400);
    expect(fieldsOf(badEvent.json)).toEqual(["event.type"]);
    // Another tenant's webhook is not found, like an unknown id.
    await pipeline.api("PUT", "/tenants/t_other", { name: "Other" });
    const foreign = await pipeline.api("POST", `/tenants/t_other/webhooks/${webhook.json.id}/filter-test`, {
      event,
    });
    expect(foreign.status).toBe(404);
    await pipeline.api("DELETE", pipeline.under(`/webhooks/${webhook.json.id}`));
  });

  it("a fan-out to 100 filtered webhooks still costs one Query per matching pattern, and no other read", async () => {
    const patterns = ["meter.reading.taken", "meter.reading.*", "meter.*", "*"];
    const ids: string[] = [];
    for (let index = 0; index < 100; index += 1) {
      const webhook = await pipeline.createWebhook({
        url: receiver.url,
        eventTypes: [patterns[index % patterns.length] as string],
        // Even indexes match kWh readings above 10; odd ones only readings from another meter.
        filter:
          index % 2 === 0
            ? { data: { unit: ["kWh"], value: [{ numeric: [">", 10] }] } }
            : { data: { meter: [{ prefix: "other-" }] } },
      });
      ids.push(webhook.webhook.id);
    }
    await pipeline.publishApi({
      type: "meter.reading.taken",
      data: { meter: "warmup", unit: "x", value: 0 },
    });
    pipeline.calls.reset();
    const published = await pipeline.publishApi({
      type: "meter.reading.taken",
      data: { meter: "m-1", unit: "kWh", value: 42 },
    });
    expect(published.json.deliveries).toBe(50);
    expect(pipeline.calls.counts()).toEqual({
      GetItemCommand: 1,
      PutItemCommand: 1,
      QueryCommand: 4,
      SendMessageBatchCommand: 5,
      UpdateItemCommand: 1,
    });
    expect(pipeline.calls.queriedPartitions()).toEqual(
      patterns.map((pattern) => `SUB#${pipeline.tenantId}#${pattern}`).sort(),
    );
    for (const id of ids)
      await pipeline.runtime.webhooks.delete(await pipeline.runtime.webhooks.require(pipeline.tenantId, id));
    await pipeline.drain(60_000);
  }, 180_000);
});

describe("the event-type catalogue", () => {
  const put = (name: string, body: unknown) => pipeline.api("PUT", `/event-types/${name}`, body);
  const orderSchema = {
    type: "object",
    required: ["orderId", "total"],
    properties: { orderId: { type: "string" }, total: { type: "number", minimum: 0 } },
    additionalProperties: false,
  };

  it("puts, reads, lists and archives types; a schema that does not compile is a 400 naming its path", async () => {
    const created = await put("order.created", {
      description: "An order was placed.",
      schema: orderSchema,
      example: { orderId: "o_1", total: 12.5 },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "order.created",
      deprecated: false,
      validate: false,
      archived: false,
    });
    const replaced = await put("order.created", {
      description: "An order was placed (v2).",
      schema: orderSchema,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ version: 2, example: null });

    const badSchema = await put("order.bad", {
      description: "x",
      schema: { type: "object", properties: { a: { type: "text" } } },
    });
    expect(badSchema.status).toBe(400);
    expect(fieldsOf(badSchema.json)).toEqual(["schema.properties.a.type"]);
    const unknownKeyword = await put("order.bad", { description: "x", schema: { type: "object", foo: 1 } });
    expect(unknownKeyword.status).toBe(400);
    expect(fieldsOf(unknownKeyword.json)).toEqual(["schema"]);
    const remoteRef = await put("order.bad", {
      description: "x",
      schema: { $ref: "https://example.com/s.json" },
    });
    expect(remoteRef.status).toBe(400);
    const redos = await put("order.bad", {
      description: "x",
      schema: { type: "object", properties: { a: { type: "string", pattern: "^(a+)+$" } } },
    });
    expect(fieldsOf(redos.json)).toEqual(["schema.properties.a.pattern"]);
    const badExample = await put("order.bad", {
      description: "x",
      schema: orderSchema,
      example: { orderId: 5 },
    });
    expect(badExample.status).toBe(400);
    expect(fieldsOf(badExample.json)[0]).toMatch(/^example/);
    const validateWithoutSchema = await put("order.bad", { description: "x", validate: true });
    expect(fieldsOf(validateWithoutSchema.json)).toEqual(["validate"]);
    // "openapi.json" is the export's static resource: API Gateway (and local mode) route a PUT there, where only GET
    // exists, so no type can take that name.
    expect((await put("openapi.json", { description: "x" })).status).toBe(405);
    expect((await pipeline.api("GET", "/event-types/order.bad")).status).toBe(404);

    await put("order.shipped", { description: "Shipped.", deprecated: true });
    const listed = await pipeline.api("GET", "/event-types?limit=1");
    expect(listed.json.data?.map((type) => type.name)).toEqual(["order.created"]);
    const next = await pipeline.api("GET", `/event-types?limit=1&cursor=${listed.json.nextCursor}`);
    expect(next.json.data?.map((type) => type.name)).toEqual(["order.shipped"]);
    expect((await pipeline.api("GET", "/event-types?cursor=forged")).status).toBe(400);

    expect((await pipeline.api("DELETE", "/event-types/order.shipped")).status).toBe(204);
    expect((await pipeline.api("DELETE", "/event-types/order.shipped")).status).toBe(204);
    expect((await pipeline.api("GET", "/event-types/order.shipped")).json).toMatchObject({ archived: true });
    const live = await pipeline.api("GET", "/event-types");
    expect(live.json.data?.map((type) => type.name)).toEqual(["order.created"]);
    const withArchived = await pipeline.api("GET", "/event-types?archived=true");
    expect(withArchived.json.data?.map((type) => type.name)).toEqual(["order.created", "order.shipped"]);
  });

  it("strict mode: once types are catalogued, subscribing to a type or pattern that matches none is a 422 naming it", async () => {
    // order.created is live, order.shipped archived (previous test); the catalogue is non-empty.
    const refused = await create({ eventTypes: ["order.created", "order.shipped", "billing.*", "order.*"] });
    expect(refused.status).toBe(422);
    expect(refused.json.errors).toEqual([
      { field: "eventTypes[1]", message: expect.stringContaining("order.shipped") },
      { field: "eventTypes[2]", message: expect.stringContaining("billing.*") },
    ]);
    const accepted = await create({ eventTypes: ["order.created", "order.*", "*"] });
    expect(accepted.status).toBe(201);
    const patch = await pipeline.api("PATCH", pipeline.under(`/webhooks/${accepted.json.id}`), {
      eventTypes: ["order.created", "ghost.type"],
    });
    expect(patch.status).toBe(422);
    expect(fieldsOf(patch.json)).toEqual(["eventTypes[1]"]);
    await pipeline.api("DELETE", pipeline.under(`/webhooks/${accepted.json.id}`));
  });

  it("archiving keeps existing subscriptions working, and responses flag deprecated and archived types", async () => {
    await put("refund.issued", { description: "A refund." });
    const webhook = await create({ eventTypes: ["refund.issued", "order.created"] });
    expect(webhook.json.eventTypeNotices).toEqual([]);
    await put("order.created", { description: "Placed.", schema: orderSchema, deprecated: true });
    await pipeline.api("DELETE", "/event-types/refund.issued");
    const shown = await pipeline.api("GET", pipeline.under(`/webhooks/${webhook.json.id}`));
    expect(shown.json.eventTypeNotices).toEqual([
      { eventType: "refund.issued", status: "archived" },
      { eventType: "order.created", status: "deprecated" },
    ]);
    // Still subscribed: an update that keeps the archived type is not refused, and events still go out.
    const kept = await pipeline.api("PATCH", pipeline.under(`/webhooks/${webhook.json.id}`), {
      eventTypes: ["refund.issued"],
    });
    expect(kept.status).toBe(200);
    expect((await pipeline.publishApi({ type: "refund.issued", data: { id: "r1" } })).json.deliveries).toBe(
      1,
    );
    await pipeline.api("DELETE", pipeline.under(`/webhooks/${webhook.json.id}`));
    await pipeline.drain();
  });

  it("validates data at publish only for types that opt in, within the cache bound after a PUT", async () => {
    await put("payment.settled", {
      description: "Settled.",
      schema: { type: "object", required: ["amount"], properties: { amount: { type: "integer" } } },
    });
    // Not validated by default: a payload that does not match the schema is accepted.
    expect((await pipeline.publishApi({ type: "payment.settled", data: { amount: "12" } })).statusCode).toBe(
      202,
    );
    await put("payment.settled", {
      description: "Settled.",
      schema: { type: "object", required: ["amount"], properties: { amount: { type: "integer" } } },
      validate: true,
    });
    // The warm container may keep its view for CATALOGUE_CACHE_SECONDS; past that, the PUT applies.
    clockOffsetMs += (CATALOGUE_CACHE_SECONDS + 1) * 1000;
    const refused = await pipeline.publishApi({ type: "payment.settled", data: { amount: "12" } });
    expect(refused.statusCode).toBe(400);
    expect(fieldsOf(refused.json)).toEqual(["data.amount"]);
    const missing = await pipeline.publishApi({ type: "payment.settled", data: {} });
    expect(fieldsOf(missing.json)).toEqual(["data"]);
    expect((await pipeline.publishApi({ type: "payment.settled", data: { amount: 12 } })).statusCode).toBe(
      202,
    );
    // Refused events are not stored.
    const events = await pipeline.api("GET", pipeline.under("/events?type=payment.settled"));
    expect(events.json.data).toHaveLength(2);
    // From EventBridge, data the schema refuses is kept in the ingest DLQ with its reason, not retried.
    await pipeline.publishEventBridge({
      version: "0",
      id: "a1b2c3",
      "detail-type": "payment.settled",
      source: "com.example.payments",
      account: "123456789012",
      time: "2026-12-01T10:00:00Z",
      region: "us-east-1",
      resources: [],
      detail: { tenantId: pipeline.tenantId, amount: "12" },
    });
    const { Messages = [] } = await pipeline.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.resources.ingestDeadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(Messages.map((message) => message.MessageAttributes?.reason?.StringValue)).toEqual([
      "invalid_data",
    ]);
    expect(Messages[0]?.MessageAttributes?.detail?.StringValue).toContain("data.amount");
    // An uncatalogued type is never validated.
    expect((await pipeline.publishApi({ type: "free.form", data: { anything: [1, "x"] } })).statusCode).toBe(
      202,
    );
  });

  it("exports every catalogued type as an OpenAPI 3.1 webhooks document that a validator accepts", async () => {
    const response = await pipeline.api("GET", "/event-types/openapi.json");
    expect(response.status).toBe(200);
    const document = response.json;
    await expect(validateOpenApi(structuredClone(document) as never)).resolves.toMatchObject({ valid: true });
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(dig(document, "webhooks") as object).sort()).toEqual([
      "order.created",
      "payment.settled",
    ]);
    const order = dig(document, "webhooks", "order.created", "post");
    expect(dig(order, "deprecated")).toBe(true);
    expect((dig(order, "parameters") as { name: string }[]).map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining([
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-webhook-event-type",
      ]),
    );
    const component = (ref: unknown) =>
      dig(document, "components", "schemas", String(ref).split("/").at(-1) as string);
    const envelope = component(dig(order, "requestBody", "content", "application/json", "schema", "$ref"));
    expect(dig(envelope, "properties", "type")).toEqual({ const: "order.created" });
    expect(component(dig(envelope, "properties", "data", "$ref"))).toEqual(orderSchema);
  });
});

describe("strict mode from the stack, with an empty catalogue", () => {
  it("refuses every subscription until types are catalogued", async () => {
    const strict = await startPipeline({ environment: { STRICT_EVENT_TYPES: "true" } });
    try {
      const refused = await strict.api("POST", strict.under("/webhooks"), {
        url: receiver.url,
        eventTypes: ["*"],
      });
      expect(refused.status).toBe(422);
      expect(fieldsOf(refused.json)).toEqual(["eventTypes[0]"]);
      await strict.api("PUT", "/event-types/user.signed_up", { description: "A user signed up." });
      const accepted = await strict.api("POST", strict.under("/webhooks"), {
        url: receiver.url,
        eventTypes: ["user.*"],
      });
      expect(accepted.status).toBe(201);
    } finally {
      strict.close();
    }
  });
});
