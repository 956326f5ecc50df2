/**
 * Generated batches against an oracle written from the documented rules (docs/api.md), not from the code: ids drawn
 * from a small pool so that they repeat within a batch and across batches, with the same content (a duplicate) or
 * other content (a conflict); events without an id; nested `data`, optional sources and timestamps; envelopes over
 * 256 KiB. Each event's result is checked against the oracle, then what every receiver got: each accepted event
 * once per subscriber, with the content it was first accepted with.
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const TENANT = "t_batch_prop";
const MAX_BODY = 3_000_000;
const MAX_ENVELOPE = 256 * 1024;
/** Who subscribes to what: `wide` to `prop.*`, `narrow` to `prop.a` only. */
const SUBSCRIBERS: Record<string, (type: string) => boolean> = {
  wide: (type) => type.startsWith("prop."),
  narrow: (type) => type === "prop.a",
};

let pipeline: Pipeline;
const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  pipeline = await startPipeline();
  expect((await pipeline.api("PUT", `/tenants/${TENANT}`, { name: "Batch properties" })).status).toBe(201);
  for (const [name, pattern] of [
    ["wide", "prop.*"],
    ["narrow", "prop.a"],
  ] as const) {
    receivers[name] = await startReceiver();
    await pipeline.createWebhook({ url: receivers[name].url, eventTypes: [pattern] }, TENANT);
  }
});
afterAll(async () => {
  pipeline.close();
  await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
});

interface Content {
  readonly type: string;
  readonly source?: string;
  readonly timestamp?: string;
  readonly data: Record<string, unknown>;
}
interface Pick {
  readonly id: number | null;
  readonly content: number;
  readonly huge: boolean;
}
interface Result {
  status: number;
  eventId: string;
  deliveries?: number;
  duplicate?: boolean;
  problem?: { status: number };
}

const content: fc.Arbitrary<Omit<Content, "data"> & { data: Record<string, unknown> }> = fc.record(
  {
    type: fc.constantFrom("prop.a", "prop.b", "else.c"),
    source: fc.string({ minLength: 1, maxLength: 20 }),
    timestamp: fc
      .date({ min: new Date("2001-01-01"), max: new Date("2099-01-01"), noInvalidDate: true })
      .map((date) => date.toISOString()),
    data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  },
  { requiredKeys: ["type", "data"] },
);
const scenario = fc.record({
  // Distinct contents: each carries its own index, so two of them are never equal.
  contents: fc.array(content, { minLength: 1, maxLength: 4 }),
  batches: fc.array(
    fc.array(
      fc.record({
        id: fc.option(fc.nat(4), { freq: 5 }),
        content: fc.nat(3),
        huge: fc.nat(19).map((n) => n === 0),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    { minLength: 1, maxLength: 3 },
  ),
});

const expectedDeliveries = (type: string) =>
  Object.values(SUBSCRIBERS).filter((subscribes) => subscribes(type)).length;
const withoutId = ({ id: _id, ...rest }: Record<string, unknown>) => rest;

type Request = Record<string, unknown> & Content;
/** What the oracle accepted: each id's first accepted request, and the events that came without one. */
interface Oracle {
  readonly byId: Map<string, { request: Request; deliveries: number }>;
  readonly generated: { id: string; request: Request }[];
}

/** The documented rules, applied to one event in order: checks its result and records what it accepted. */
function checkResult(oracle: Oracle, request: Request, result: Result): void {
  const id = request.id as string | undefined;
  const deliveries = expectedDeliveries(request.type);
  if (Buffer.byteLength(JSON.stringify(request.data)) > MAX_ENVELOPE) {
    expect(result).toMatchObject({ status: 413, problem: { status: 413 } });
    return;
  }
  if (id === undefined) {
    expect(result).toEqual({
      status: 202,
      eventId: expect.stringMatching(/^evt_[0-9A-Z]{26}$/),
      deliveries,
      duplicate: false,
    });
    oracle.generated.push({ id: result.eventId, request });
    return;
  }
  const first = oracle.byId.get(id);
  if (!first) {
    oracle.byId.set(id, { request, deliveries });
    expect(result).toEqual({ status: 202, eventId: id, deliveries, duplicate: false });
  } else if (isDeepStrictEqual(withoutId(first.request), withoutId(request))) {
    expect(result).toEqual({ status: 202, eventId: id, deliveries: first.deliveries, duplicate: true });
  } else {
    expect(result).toMatchObject({ status: 409, eventId: id, problem: { status: 409 } });
  }
}

/** Each receiver got each accepted event of its types once, with the content first accepted. */
function checkReceivers(oracle: Oracle): void {
  const everyAccepted = [
    ...[...oracle.byId].map(([id, { request }]) => ({ id, request })),
    ...oracle.generated,
  ];
  for (const [name, subscribes] of Object.entries(SUBSCRIBERS)) {
    const receiver = receivers[name] as Receiver;
    const got = receiver.requests.map((request) => JSON.parse(request.body) as Record<string, unknown>);
    receiver.requests.length = 0;
    const expected = everyAccepted.filter(({ request }) => subscribes(request.type));
    expect(got.map((body) => body.id).sort(), name).toEqual(expected.map(({ id }) => id).sort());
    for (const { id, request } of expected) {
      // Whatever conflicting repeats came later.
      expect(
        got.find((candidate) => candidate.id === id),
        id,
      ).toMatchObject({
        type: request.type,
        data: JSON.parse(JSON.stringify(request.data)),
        source: request.source ?? "api",
        ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp }),
      });
    }
  }
}

let run = 0;

describe("batches against an oracle of the documented rules", () => {
  it("answers each event as the rules say and delivers each accepted event once per subscriber", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ contents, batches }) => {
        run += 1;
        const prefix = `r${run}_`;
        const pool: Content[] = contents.map((entry, index) => ({
          ...entry,
          data: { ...entry.data, variant: index },
        }));
        const oracle: Oracle = { byId: new Map(), generated: [] };
        for (const picks of batches) {
          const requests = picks.map((pick: Pick): Request => {
            const chosen = pool[pick.content % pool.length] as Content;
            return {
              ...(pick.id === null ? {} : { id: `${prefix}${pick.id}` }),
              ...chosen,
              ...(pick.huge ? { data: { ...chosen.data, pad: "x".repeat(MAX_ENVELOPE) } } : {}),
            };
          });
          const response = await pipeline.api("POST", `/tenants/${TENANT}/events/batch`, {
            events: requests,
          });
          if (Buffer.byteLength(JSON.stringify({ events: requests })) > MAX_BODY) {
            expect(response.status).toBe(413);
            continue;
          }
          expect(response.status, response.body).toBe(200);
          const results = response.json.results as Result[];
          expect(results).toHaveLength(requests.length);
          requests.forEach((request, index) => {
            checkResult(oracle, request, results[index] as Result);
          });
        }
        await pipeline.drain();
        checkReceivers(oracle);
      }),
      { numRuns: 12 },
    );
  });
});
