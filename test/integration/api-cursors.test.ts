/**
 * Forged pagination cursors, through the real API handler against DynamoDB Local. A cursor is accepted only if it
 * is exactly a position of the listing it is given to (the table key plus the index key, each of the shape that
 * listing's items have); anything else is a 400 naming `cursor`, never a store error answered with a 5xx. A
 * tenant's listings take only positions in that tenant's own partition: another tenant's real cursor is a 400.
 */
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

type Key = Record<string, unknown>;

const encode = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Key;
const KEY_ATTRIBUTES = [
  "pk",
  "sk",
  "gsi1pk",
  "gsi1sk",
  "gsi2pk",
  "gsi2sk",
  "gsi3pk",
  "gsi3sk",
  "gsi4pk",
  "gsi4sk",
];
const pick = (item: Key, names: readonly string[]) =>
  Object.fromEntries(names.filter((name) => name in item).map((name) => [name, item[name]]));

interface Listing {
  readonly label: string;
  /** The route with its query, without a cursor. */
  readonly path: string;
  /** The key attributes a position of this listing has. */
  readonly attributes: readonly string[];
  /** Whether a stored item is one this listing pages over. */
  readonly owns: (item: Key) => boolean;
  /**
   * Attributes that end in an id and nothing else ties to (a tenant's webhooks are keyed by their sort key
   * alone): one more id character still makes a position of this listing, a made-up place to start.
   */
  readonly openEnded?: readonly string[];
  /** A real cursor, from the listing's first page. */
  cursor: string;
}

describe("pagination cursors", () => {
  let pipeline: Pipeline;
  let receiver: Receiver;
  let items: Key[] = [];
  /** The default tenant, whose listings are paged, and another one with items of every kind. */
  let tenant = "";
  const otherTenant = "t_cur.other";
  let webhookA = "";
  let webhookB = "";
  let otherWebhook = "";
  let deliveryA = "";
  let deliveryB = "";
  let otherDelivery = "";
  const listings: Listing[] = [];
  const at = (path: string, of = tenant) => pipeline.under(path, of);

  const page = (path: string, cursor: string) =>
    pipeline.api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=1&cursor=${cursor}`);

  async function expectRefused(path: string, cursor: string, what: string) {
    const response = await page(path, cursor);
    const label = `${path} with ${what}: ${Buffer.from(cursor, "base64url").toString("utf8").slice(0, 200)}`;
    expect(response.status, `${label} → ${response.body.slice(0, 300)}`).toBe(400);
    expect(response.headers["content-type"], label).toBe("application/problem+json");
    const fields = (response.json.errors as { field: string }[]).map((issue) => issue.field);
    expect(fields, label).toContainEqual(expect.stringMatching(/(^|\.)cursor$/));
  }

  beforeAll(async () => {
    pipeline = await startPipeline({ schedule: "1" });
    tenant = pipeline.tenantId;
    expect((await pipeline.api("PUT", `/tenants/${otherTenant}`, { name: "Other" })).status).toBe(201);
    // Each delivery fails its first attempt and succeeds on the retry: two attempts per delivery.
    receiver = await startReceiver((request) => ({
      status: request.headers["x-webhook-attempt"] === "1" ? 500 : 204,
    }));
    const create = async (of = tenant) =>
      (await pipeline.api("POST", at("/webhooks", of), { url: receiver.url, eventTypes: ["cur.*"] })).json
        .id as string;
    webhookA = await create();
    webhookB = await create();
    otherWebhook = await create(otherTenant);
    await create(otherTenant);
    // A webhook whose id was not minted by the API (an import, say): listings page through it all the same.
    const now = new Date().toISOString();
    await pipeline.runtime.webhooks.create({
      id: "wh_imported-1",
      tenantId: tenant,
      url: receiver.url,
      eventTypes: ["other.*"],
      headers: {},
      active: true,
      signatureScheme: "standard",
      secretVersion: "v1",
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    const events: string[] = [];
    const otherEvents: string[] = [];
    for (let n = 0; n < 2; n += 1) {
      events.push((await pipeline.publishApi({ type: "cur.made", data: { n } })).json.eventId as string);
      otherEvents.push(
        (await pipeline.publishApi({ type: "cur.made", data: { n } }, otherTenant)).json.eventId as string,
      );
    }
    await pipeline.publishApi({ type: "cur.other", data: {} });
    await pipeline.drain();
    const deliveryOf = async (eventId: string | undefined, webhookId: string, of = tenant) =>
      (
        (await pipeline.api("GET", at(`/events/${eventId}`, of))).json.deliveries as {
          id: string;
          webhookId: string;
        }[]
      ).find((delivery) => delivery.webhookId === webhookId)?.id ?? "";
    deliveryA = await deliveryOf(events[0], webhookA);
    deliveryB = await deliveryOf(events[0], webhookB);
    otherDelivery = await deliveryOf(otherEvents[0], otherWebhook, otherTenant);
    expect([deliveryA, deliveryB, otherDelivery]).toEqual(Array(3).fill(expect.stringMatching(/^dlv_/)));

    const { Items = [] } = await pipeline.clients.documents.send(
      new ScanCommand({ TableName: pipeline.resources.tableName }),
    );
    items = Items;

    const ownWebhook = (item: Key) =>
      item.pk === `TENANT#${tenant}` && String(item.sk).startsWith("WEBHOOK#");
    listings.push(
      {
        label: "tenants",
        path: "/tenants",
        attributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
        owns: (item) => item.gsi1pk === "TENANTS",
        cursor: "",
      },
      {
        label: "webhooks",
        path: at("/webhooks"),
        attributes: ["pk", "sk"],
        owns: ownWebhook,
        openEnded: ["sk"],
        cursor: "",
      },
      {
        label: "active webhooks",
        path: at("/webhooks?active=true"),
        attributes: ["pk", "sk"],
        owns: ownWebhook,
        openEnded: ["sk"],
        cursor: "",
      },
      {
        label: "a webhook's attempts",
        path: at(`/webhooks/${webhookA}/attempts`),
        attributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
        owns: (item) => item.gsi1pk === `WEBHOOK#${webhookA}#ATTEMPTS`,
        cursor: "",
      },
      {
        label: "a webhook's failed attempts",
        path: at(`/webhooks/${webhookA}/attempts?status=failed`),
        attributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
        owns: (item) => item.gsi1pk === `WEBHOOK#${webhookA}#ATTEMPTS`,
        cursor: "",
      },
      {
        label: "a delivery's attempts",
        path: at(`/deliveries/${deliveryA}/attempts`),
        attributes: ["pk", "sk"],
        owns: (item) => item.pk === `DELIVERY#${deliveryA}` && String(item.sk).startsWith("ATTEMPT#"),
        cursor: "",
      },
      {
        label: "events",
        path: at("/events"),
        attributes: ["pk", "sk", "gsi4pk", "gsi4sk"],
        owns: (item) => item.gsi4pk === `TENANT#${tenant}#EVENTS`,
        cursor: "",
      },
      {
        label: "events of a type",
        path: at("/events?type=cur.made"),
        attributes: ["pk", "sk", "gsi4pk", "gsi4sk"],
        owns: (item) => item.gsi4pk === `TENANT#${tenant}#EVENTS`,
        cursor: "",
      },
    );
    for (const listing of listings) {
      const first = await pipeline.api(
        "GET",
        `${listing.path}${listing.path.includes("?") ? "&" : "?"}limit=1`,
      );
      expect(first.status, listing.label).toBe(200);
      listing.cursor = first.json.nextCursor as string;
      expect(listing.cursor, listing.label).toEqual(expect.any(String));
    }
  });
  afterAll(async () => {
    pipeline.close();
    await receiver.close();
  });

  it("accept the cursor a listing handed out, and every position of that listing's own items", async () => {
    for (const listing of listings) {
      expect(Object.keys(decode(listing.cursor)).sort(), listing.label).toEqual(
        [...listing.attributes].sort(),
      );
      expect((await page(listing.path, listing.cursor)).status, listing.label).toBe(200);
      const own = items.filter(listing.owns);
      expect(own.length, listing.label).toBeGreaterThan(1);
      for (const item of own) {
        const response = await page(listing.path, encode(pick(item, listing.attributes)));
        expect(response.status, `${listing.label} at ${JSON.stringify(item)}`).toBe(200);
      }
    }
  });

  it("refuse a real cursor with a key attribute missing, added, or of another type", async () => {
    for (const listing of listings) {
      const real = decode(listing.cursor);
      for (const name of Object.keys(real)) {
        const { [name]: _dropped, ...rest } = real;
        await expectRefused(listing.path, encode(rest), `no ${name}`);
        for (const value of [1, null, true, false, {}, [real[name]], { S: real[name] }, "", " "])
          await expectRefused(
            listing.path,
            encode({ ...real, [name]: value }),
            `${name} = ${JSON.stringify(value)}`,
          );
        if (listing.openEnded?.includes(name))
          expect((await page(listing.path, encode({ ...real, [name]: `${real[name]}x` }))).status).toBe(200);
        else await expectRefused(listing.path, encode({ ...real, [name]: `${real[name]}x` }), `${name} + x`);
        await expectRefused(listing.path, encode({ ...real, [name]: `${real[name]}#` }), `${name} + #`);
        await expectRefused(listing.path, encode({ ...real, [name]: `x${real[name]}` }), `x + ${name}`);
        await expectRefused(
          listing.path,
          encode({ ...real, [name]: String(real[name]).padEnd(1000, "0") }),
          `${name} padded to 1000`,
        );
        await expectRefused(
          listing.path,
          encode({ ...real, [name]: String(real[name]).padEnd(5000, "0") }),
          `${name} padded to 5000`,
        );
      }
      for (const extra of ["gsi2pk", "gsi2sk", "gsi1pk", "gsi1sk", "expiresAt", "id", "__proto__", ""]) {
        if (extra in real) continue;
        await expectRefused(listing.path, encode({ ...real, [extra]: "x" }), `extra ${extra}`);
      }
      await expectRefused(listing.path, encode({ ...real, pk: { S: real.pk } }), "an attribute value map");
    }
  });

  it("refuse what is not a JSON object of strings", async () => {
    const garbage = [
      encode("not json"),
      encode("{"),
      encode("[]"),
      encode('["pk","sk"]'),
      encode("null"),
      encode("42"),
      encode('"TENANTS"'),
      encode({}),
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]).toString("base64url"),
      "%%%",
      "AAAA",
      "x".repeat(2049),
      encode({ pk: "x".repeat(1500) }),
    ];
    for (const listing of listings)
      for (const cursor of garbage) await expectRefused(listing.path, encodeURIComponent(cursor), "garbage");
  });

  it("refuse the position of any stored item another listing pages over", async () => {
    let refused = 0;
    for (const listing of listings) {
      for (const item of items.filter((candidate) => !listing.owns(candidate))) {
        const key = pick(item, KEY_ATTRIBUTES);
        await expectRefused(
          listing.path,
          encode(pick(item, listing.attributes)),
          `foreign ${JSON.stringify(key)}`,
        );
        await expectRefused(listing.path, encode(key), `foreign full key ${JSON.stringify(key)}`);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(50);
  });

  it("refuse a cursor handed out by another listing, another tenant's listings included", async () => {
    const other = async (path: string) =>
      (await pipeline.api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=1`)).json
        .nextCursor as string;
    const foreign: [string, string][] = [
      [at(`/webhooks/${webhookA}/attempts`), await other(at(`/webhooks/${webhookB}/attempts`))],
      [at(`/webhooks/${webhookA}/attempts`), await other(at("/webhooks"))],
      [at("/webhooks"), await other(at(`/webhooks/${webhookA}/attempts`))],
      [at(`/deliveries/${deliveryA}/attempts`), await other(at(`/deliveries/${deliveryB}/attempts`))],
      [at(`/deliveries/${deliveryA}/attempts`), await other(at(`/webhooks/${webhookA}/attempts`))],
      [at(`/webhooks/${webhookA}/attempts`), await other(at(`/deliveries/${deliveryA}/attempts`))],
      [at("/webhooks?event_type=cur.made"), await other(at("/webhooks"))],
      [at("/webhooks"), await other(at("/webhooks?event_type=cur.made"))],
      [at("/webhooks?event_type=cur.other"), await other(at("/webhooks?event_type=cur.made"))],
      ["/tenants", await other(at("/webhooks"))],
      [at("/webhooks"), await other("/tenants")],
      [at("/events"), await other(at("/webhooks"))],
      [at("/events"), await other("/tenants")],
      [at("/webhooks"), await other(at("/events"))],
      ["/tenants", await other(at("/events"))],
      // Another tenant's real cursors, on this tenant's listings, and the other way round.
      [at("/webhooks"), await other(at("/webhooks", otherTenant))],
      [at("/webhooks", otherTenant), await other(at("/webhooks"))],
      [at("/events"), await other(at("/events", otherTenant))],
      [at("/events", otherTenant), await other(at("/events"))],
      [at("/events?type=cur.made"), await other(at("/events?type=cur.made", otherTenant))],
      [
        at(`/webhooks/${webhookA}/attempts`),
        await other(at(`/webhooks/${otherWebhook}/attempts`, otherTenant)),
      ],
      [
        at(`/deliveries/${deliveryA}/attempts`),
        await other(at(`/deliveries/${otherDelivery}/attempts`, otherTenant)),
      ],
    ];
    for (const [path, cursor] of foreign) {
      expect(cursor, path).toEqual(expect.any(String));
      await expectRefused(path, cursor, "another listing's cursor");
    }
  });

  it("refuse every position in another tenant's partition", async () => {
    const theirs = items.filter(
      (item) =>
        String(item.pk).startsWith(`TENANT#${otherTenant}`) ||
        item.gsi4pk === `TENANT#${otherTenant}#EVENTS` ||
        String(item.gsi1pk).startsWith(`TENANT#${otherTenant}#`),
    );
    // Its tenant record, its webhooks, its events (each also in its listing index).
    expect(theirs.length).toBeGreaterThanOrEqual(5);
    for (const item of theirs) {
      await expectRefused(at("/webhooks"), encode(pick(item, ["pk", "sk"])), "another tenant's item");
      await expectRefused(
        at("/events"),
        encode(pick(item, ["pk", "sk", "gsi4pk", "gsi4sk"])),
        "another tenant's event",
      );
    }
    // Made-up positions of the right shape, but in the other tenant's partition.
    const webhooks = decode(listings[1]?.cursor ?? "") as Record<string, string>;
    await expectRefused(
      at("/webhooks"),
      encode({ ...webhooks, pk: `TENANT#${otherTenant}` }),
      "the other tenant's partition",
    );
    const events = decode(listings[6]?.cursor ?? "") as Record<string, string>;
    await expectRefused(
      at("/events"),
      encode({
        ...events,
        pk: String(events.pk).replace(`TENANT#${tenant}#`, `TENANT#${otherTenant}#`),
        gsi4pk: `TENANT#${otherTenant}#EVENTS`,
      }),
      "the other tenant's event partition",
    );
    await expectRefused(
      at("/events"),
      encode({ ...events, gsi4pk: `TENANT#${otherTenant}#EVENTS` }),
      "the other tenant's event index",
    );
  });

  it("take another tenant's event_type cursor (a webhook id, no partition) only as a place to start in this tenant", async () => {
    const theirs = await pipeline.api("GET", at("/webhooks?event_type=cur.made&limit=1", otherTenant));
    const response = await page(at("/webhooks?event_type=cur.made"), theirs.json.nextCursor as string);
    expect(response.status, response.body).toBe(200);
    for (const webhook of response.json.data as { id: string }[])
      expect([webhookA, webhookB]).toContain(webhook.id);
  });

  it("refuse positions whose parts disagree with each other", async () => {
    const attempts = decode(listings[3]?.cursor ?? "") as Record<string, string>;
    const [, deliveryPart] = /^DELIVERY#(.+)$/.exec(attempts.pk ?? "") ?? [];
    const secondDelivery = deliveryPart === deliveryA ? deliveryB : deliveryA;
    const path = at(`/webhooks/${webhookA}/attempts`);
    // The attempt's delivery in the table key is not the one in the index key.
    await expectRefused(path, encode({ ...attempts, pk: `DELIVERY#${secondDelivery}` }), "two deliveries");
    // The attempt number in the table key is not the one in the index key.
    await expectRefused(path, encode({ ...attempts, sk: "ATTEMPT#000000#000009" }), "two attempt numbers");
    const webhooks = decode(listings[1]?.cursor ?? "") as Record<string, string>;
    await expectRefused(at("/webhooks"), encode({ ...webhooks, sk: "META" }), "the tenant record's sort key");
    await expectRefused(at("/webhooks"), encode({ ...webhooks, sk: "WEBHOOK#x" }), "not a webhook id");
    const events = decode(listings[6]?.cursor ?? "") as Record<string, string>;
    const [, eventPart] = /#EVENT#(.+)$/.exec(events.pk ?? "") ?? [];
    // The event in the table key is not the one in the index key.
    await expectRefused(
      at("/events"),
      encode({ ...events, pk: `TENANT#${tenant}#EVENT#${eventPart}x` }),
      "two events",
    );
    const tenants = decode(listings[0]?.cursor ?? "") as Record<string, string>;
    await expectRefused(
      "/tenants",
      encode({
        ...tenants,
        pk: tenants.pk === `TENANT#${tenant}` ? `TENANT#${otherTenant}` : `TENANT#${tenant}`,
      }),
      "two tenants",
    );
    await expectRefused(
      at(`/deliveries/${deliveryA}/attempts`),
      encode({ pk: `DELIVERY#${deliveryA}`, sk: "META" }),
      "the delivery record itself",
    );
    await expectRefused(
      at(`/deliveries/${deliveryA}/attempts`),
      encode({ pk: `DELIVERY#${deliveryA}`, sk: "ATTEMPT#" }),
      "an attempt without numbers",
    );
  });

  it("take a made-up position of the right shape in the listing's own partition as just a place to start", async () => {
    // Nothing need be stored at a position (the item may have been deleted since the page was read), and whatever
    // the position names, the Query stays in this listing's partition: only webhook A's attempts come back.
    const path = at(`/webhooks/${webhookA}/attempts`);
    const position = (time: string) =>
      encode({
        pk: `DELIVERY#${deliveryB}`,
        sk: "ATTEMPT#000000#000001",
        gsi1pk: `WEBHOOK#${webhookA}#ATTEMPTS`,
        gsi1sk: `${time}#${deliveryB}#000001`,
      });
    const future = await page(path, position("9999-12-31T23:59:59.999Z"));
    expect(future.status).toBe(200);
    expect(future.json.data).toEqual([expect.objectContaining({ webhookId: webhookA })]);
    const past = await page(path, position("1970-01-01T00:00:00.000Z"));
    expect(past).toMatchObject({ status: 200, json: { data: [], nextCursor: null } });
    // The same for a tenant's events, with a position naming an event id the other tenant has: only this tenant's.
    const theirEvent = items.find((item) => item.gsi4pk === `TENANT#${otherTenant}#EVENTS`)?.id as string;
    const events = at("/events");
    const eventPosition = (time: string) =>
      encode({
        pk: `TENANT#${tenant}#EVENT#${theirEvent}`,
        sk: "META",
        gsi4pk: `TENANT#${tenant}#EVENTS`,
        gsi4sk: `${time}#${theirEvent}`,
      });
    const newest = await page(events, eventPosition("9999-12-31T23:59:59.999Z"));
    expect(newest.status).toBe(200);
    expect(newest.json.data).toEqual([expect.objectContaining({ tenantId: tenant })]);
    const oldest = await page(events, eventPosition("1970-01-01T00:00:00.000Z"));
    expect(oldest).toMatchObject({ status: 200, json: { data: [], nextCursor: null } });
  });

  it("refuse forged event_type cursors", async () => {
    const path = at("/webhooks?event_type=cur.made");
    const first = await pipeline.api("GET", `${path}&limit=1`);
    const real = decode(first.json.nextCursor as string);
    expect((await page(path, first.json.nextCursor as string)).status).toBe(200);
    const forged: Key[] = [
      {},
      { eventType: "cur.made" },
      { after: real.after },
      { ...real, eventType: "cur.other" },
      { ...real, extra: "x" },
      { ...real, after: 1 },
      { ...real, after: null },
      { ...real, after: "" },
      { ...real, after: `${real.after}#x` },
      { ...real, after: "x".repeat(1000) },
      { ...real, after: deliveryA },
      { ...real, after: `WEBHOOK#${webhookA}` },
      { ...real, eventType: ["cur.made"] },
    ];
    for (const cursor of forged) await expectRefused(path, encode(cursor), "forged");
  });
});
