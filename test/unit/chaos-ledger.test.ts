/**
 * The chaos suite's properties, each shown to reject the history it exists to catch (and to accept the ones
 * at-least-once delivery legitimately produces), before the chaos run relies on them.
 */
import { describe, expect, it } from "vitest";
import type { Attempt, Delivery } from "#core/shared/model.ts";
import {
  attemptLogProblems,
  backwardStep,
  crossTenantProblems,
  type Letter,
  letterProblems,
  outcomeProblems,
  type PairView,
  pairProblems,
  pairTenantProblems,
  receiverProblems,
  type TenantDirectory,
} from "#test/support/chaos-ledger.ts";
import type { SeenRequest } from "#test/support/chaos-receiver.ts";

const record = (changes: Partial<Delivery> = {}): Delivery => ({
  id: "dlv_1",
  tenantId: "t_1",
  eventId: "evt_1",
  webhookId: "wh_1",
  eventType: "chaos.tick",
  status: "delivered",
  attempts: 2,
  series: 0,
  copy: 0,
  lastStatusCode: 204,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:02.000Z",
  ...changes,
});

const attempt = (number: number, changes: Partial<Attempt> = {}): Attempt => ({
  deliveryId: "dlv_1",
  tenantId: "t_1",
  webhookId: "wh_1",
  eventId: "evt_1",
  eventType: "chaos.tick",
  attempt: number,
  series: 0,
  status: "failed",
  statusCode: 500,
  durationMs: 3,
  timestamp: `2026-01-01T00:00:0${number}.000Z`,
  ...changes,
});

const seen = (attemptNumber: number, arrivedAt: number, answer: SeenRequest["answer"]): SeenRequest => ({
  receiver: "flaky",
  webhookId: "wh_1",
  deliveryId: "dlv_1",
  eventId: "evt_1",
  attempt: attemptNumber,
  arrivedAt,
  answer,
  bodyTenant: "t_1",
});

/** Delivered at the second attempt, after a 500; the receiver saw both. */
const delivered = (): PairView => ({
  record: record(),
  attempts: [attempt(2, { status: "succeeded", statusCode: 204 }), attempt(1)],
  letters: [],
  seen: [seen(1, 1000, 500), seen(2, 2000, 204)],
  down: false,
  maxAttempts: 4,
});

const letter = (changes: Partial<Letter> = {}): Letter => ({
  deliveryId: "dlv_1",
  tenantId: "t_1",
  reason: "exhausted:http_500",
  series: 0,
  copy: 0,
  attempts: 4,
  ...changes,
});

/** Failed after four 500s, with its letter in the DLQ. */
const exhausted = (): PairView => ({
  record: record({ status: "failed", attempts: 4, reason: "exhausted:http_500", lastStatusCode: 500 }),
  attempts: [1, 2, 3, 4].map((number) => attempt(number)),
  letters: [letter()],
  seen: [1, 2, 3, 4].map((number) => seen(number, number * 1000, 500)),
  down: false,
  maxAttempts: 4,
});

describe("the chaos suite's properties", () => {
  it("accept a delivered and an exhausted pair whose logs agree", () => {
    expect(pairProblems(delivered())).toEqual([]);
    expect(pairProblems(exhausted())).toEqual([]);
  });

  it("accept what at-least-once produces: a repeated attempt number, a repeated letter", () => {
    const view = exhausted();
    const repeated: PairView = {
      ...view,
      // Killed between the POST of attempt 2 and its write: attempt 2 again; killed between the DLQ send and
      // the delete: the same letter again, without the attempts attribute.
      seen: [
        seen(1, 1000, 500),
        seen(2, 2000, "reset"),
        seen(2, 6000, 500),
        seen(3, 7000, 500),
        seen(4, 8000, 500),
      ],
      letters: [letter(), letter({ attempts: undefined })],
    };
    expect(pairProblems(repeated)).toEqual([]);
  });

  it("reject a pair left unfinished, or failed and dropped without a reason, or delivered to nobody", () => {
    expect(outcomeProblems({ ...delivered(), record: record({ status: "retrying" }) })).toEqual([
      "ended retrying",
    ]);
    expect(outcomeProblems({ ...exhausted(), record: record({ status: "dropped" }) })).toEqual([
      "dropped without a reason",
    ]);
    expect(outcomeProblems({ ...delivered(), down: true })).toEqual([
      "to a URL nobody listens on, yet delivered",
    ]);
  });

  it("reject an attempt log with a gap, an extra attempt, or a last attempt that contradicts the record", () => {
    const view = delivered();
    expect(attemptLogProblems({ ...view, attempts: [view.attempts[0] as Attempt] })).toEqual([
      "record says 2 attempts, the log of its series holds [2]",
    ]);
    expect(attemptLogProblems({ ...view, attempts: [...view.attempts, attempt(3)] })).toContain(
      "record says 2 attempts, the log of its series holds [1,2,3]",
    );
    expect(attemptLogProblems({ ...view, attempts: [attempt(1), attempt(2)] })).toContain(
      "delivered, but the last attempt is failed (500)",
    );
    expect(
      attemptLogProblems({
        ...view,
        attempts: [attempt(1, { status: "succeeded", statusCode: 204 }), attempt(2, { statusCode: 204 })],
      }),
    ).toContain("an attempt before the last one succeeded");
    const failed = exhausted();
    expect(
      attemptLogProblems({ ...failed, record: { ...failed.record, reason: "exhausted:timeout" } }),
    ).toEqual(["reason exhausted:timeout, but the last attempt ended http_500"]);
  });

  it("reject letters for a delivery that did not fail, a failure without a letter, letters of another copy", () => {
    expect(letterProblems({ ...delivered(), letters: [letter()] })).toEqual([
      "delivered, yet 1 letter(s) in the DLQ",
    ]);
    expect(letterProblems({ ...exhausted(), letters: [] })).toEqual([
      "failed (exhausted:http_500) but not in the DLQ",
    ]);
    // Two copies of the delivery each sent a letter: the superseded one acted on the delivery too.
    expect(
      letterProblems({ ...exhausted(), letters: [letter(), letter({ copy: 1, attempts: undefined })] }),
    ).toEqual(["a letter of series 0 copy 1, the record's is series 0 copy 0"]);
    expect(letterProblems({ ...exhausted(), letters: [letter({ reason: "exhausted:timeout" })] })).toEqual([
      "failed (exhausted:http_500) but a letter says exhausted:timeout",
    ]);
  });

  it("reject a recorded answer no receiver gave, and a request beyond the recorded count", () => {
    const view = delivered();
    expect(receiverProblems({ ...view, seen: [seen(1, 1000, 500), seen(2, 2000, 503)] })).toEqual([
      "attempt 2 recorded as answered 204, no receiver did",
    ]);
    // Answered 204 only after the sender had given up: the sender cannot have recorded a success from it.
    expect(
      receiverProblems({ ...view, seen: [seen(1, 1000, 500), { ...seen(2, 2000, 204), late: true }] }),
    ).toEqual(["attempt 2 recorded as answered 204, no receiver did"]);
    expect(receiverProblems({ ...view, seen: [...view.seen, seen(3, 3000, 204)] })).toEqual([
      "a receiver saw attempt 3, the record counts 2",
    ]);
  });

  it("tell a repeated attempt from a second live chain", () => {
    const sequence = (...numbers: number[]) => numbers.map((number, index) => seen(number, index * 10, 500));
    expect(backwardStep(sequence(1, 2, 2, 3))).toBeUndefined();
    expect(backwardStep(sequence(1, 1, 2, 2, 3, 3))).toBeUndefined();
    expect(backwardStep(sequence(1, 2, 1, 2))).toEqual({ after: 2, later: 1 });
    expect(backwardStep(sequence(1, 2, 3, 2))).toEqual({ after: 3, later: 2 });
    // Arrival order, not the order of the log: the old and the new receiver's requests interleave.
    expect(backwardStep([seen(2, 20, 500), seen(1, 10, 500), seen(3, 30, 204)])).toBeUndefined();
    expect(
      receiverProblems({
        ...delivered(),
        seen: sequence(1, 2, 1, 2).map((request, index) => ({ ...request, answer: index === 3 ? 204 : 500 })),
      }),
    ).toEqual(["second live chain: receivers saw attempt 2 and then 1"]);
  });

  it("reject a letter or an attempt of another tenant than the record's", () => {
    expect(letterProblems({ ...exhausted(), letters: [letter({ tenantId: "t_2" })] })).toEqual([
      "a letter of tenant t_2, the record's is t_1",
    ]);
    const view = delivered();
    expect(pairTenantProblems(view)).toEqual([]);
    expect(pairTenantProblems({ ...view, attempts: [attempt(1, { tenantId: "t_2" }), attempt(2)] })).toEqual([
      "an attempt of tenant t_2 in the log of tenant t_1",
    ]);
  });

  it("reject a request that reached a webhook of another tenant than its event's", () => {
    // t_1 published evt_1 and evt_shared, t_2 published evt_2 and evt_shared; wh_1 is t_1's, wh_2 is t_2's.
    const tenants: TenantDirectory = {
      webhookTenant: (webhookId) => ({ wh_1: "t_1", wh_2: "t_2" })[webhookId],
      published: (tenantId, eventId) =>
        eventId === "evt_shared" || (tenantId === "t_1" ? eventId === "evt_1" : eventId === "evt_2"),
    };
    expect(crossTenantProblems(seen(1, 1000, 204), tenants)).toEqual([]);
    expect(crossTenantProblems({ ...seen(1, 1000, 204), webhookId: "wh_2" }, tenants)).toEqual([
      "flaky saw evt_1 (dlv_1) at webhook wh_2 of tenant t_2, which never published that event",
      "flaky saw evt_1 (dlv_1) at webhook wh_2 of tenant t_2, carrying the body tenant t_1 published",
    ]);
    // One id published by both tenants: only the body tells whose event went where.
    const shared = { ...seen(1, 1000, 204), eventId: "evt_shared" };
    expect(crossTenantProblems({ ...shared, webhookId: "wh_2", bodyTenant: "t_2" }, tenants)).toEqual([]);
    expect(crossTenantProblems({ ...shared, webhookId: "wh_2" }, tenants)).toEqual([
      "flaky saw evt_shared (dlv_1) at webhook wh_2 of tenant t_2, carrying the body tenant t_1 published",
    ]);
    expect(crossTenantProblems({ ...seen(1, 1000, 401), webhookId: "wh_9" }, tenants)).toEqual([
      "flaky saw evt_1 (dlv_1) at webhook wh_9, which no tenant has",
    ]);
  });
});
