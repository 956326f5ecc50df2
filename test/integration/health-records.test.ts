/**
 * The health record's conditional writes against DynamoDB Local: the rate limiter under racing reservers, and
 * each circuit transition won by exactly one caller.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoHealthControls } from "#aws/health-controls.ts";
import { DynamoHealthRepository } from "#aws/health-repository.ts";
import { isolatedResources, localClients } from "#test/support/local-aws.ts";

let health: DynamoHealthControls;
let records: DynamoHealthRepository;
let counter = 0;
const target = () => {
  counter += 1;
  return { tenantId: "t_health", webhookId: `wh_${counter}` };
};

beforeAll(async () => {
  const clients = localClients();
  const resources = await isolatedResources(clients);
  health = new DynamoHealthControls(clients.documents, resources.tableName);
  records = new DynamoHealthRepository(clients.documents, resources.tableName);
});

describe("rate reservations", () => {
  it("ten racing reservers at one instant share exactly the burst, whatever each one read", async () => {
    const webhook = target();
    const now = new Date();
    // limit 40/s: a burst of 10 requests; everyone read an idle bucket.
    const grants = await Promise.all(
      Array.from({ length: 10 }, () => health.reserveRate(webhook, 40, undefined, now, 10)),
    );
    expect(grants.reduce((sum, grant) => sum + grant.granted, 0)).toBe(10);
  });

  it("ten racing reservers that all read the same busy bucket share exactly what is left of it", async () => {
    const webhook = target();
    const now = new Date();
    const first = await health.reserveRate(webhook, 40, undefined, now, 1);
    expect(first.granted).toBe(1);
    const grants = await Promise.all(
      Array.from({ length: 10 }, () => health.reserveRate(webhook, 40, first.tat, now, 9)),
    );
    expect(grants.reduce((sum, grant) => sum + grant.granted, 0)).toBe(9);
  });

  it("a reserver that read a stale value plans again from the value that refused it, without another read", async () => {
    const webhook = target();
    const now = new Date();
    await health.reserveRate(webhook, 40, undefined, now, 4);
    // Read before the first reservation (stale): still granted what is left of the burst, in one more call.
    const second = await health.reserveRate(webhook, 40, undefined, now, 10);
    expect(second.granted).toBe(6);
    const third = await health.reserveRate(webhook, 40, undefined, now, 1);
    expect(third.granted).toBe(0);
    const later = await health.reserveRate(webhook, 40, third.tat, new Date(now.getTime() + 100), 10);
    expect(later.granted).toBe(4);
  });
});

describe("circuit transitions", () => {
  it("only one of many concurrent openers opens it; only one takes the probe lease; only the lease holder settles it", async () => {
    const webhook = target();
    const now = new Date();
    const probeAt = new Date(now.getTime() - 1).toISOString();
    const opened = await Promise.all(Array.from({ length: 5 }, () => health.open(webhook, now, probeAt)));
    expect(opened.filter(Boolean)).toHaveLength(1);
    const lease = new Date(now.getTime() + 60_000).toISOString();
    const taken = await Promise.all(Array.from({ length: 5 }, () => health.takeProbe(webhook, now, lease)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    expect(await records.get(webhook.tenantId, webhook.webhookId)).toMatchObject({ circuit: "half_open" });
    const wrongLease = new Date(now.getTime() + 1).toISOString();
    expect(await health.settleProbe(webhook, wrongLease, { succeeded: true, now, probeAt })).toBe(false);
    expect(await health.settleProbe(webhook, lease, { succeeded: true, now, probeAt })).toBe(true);
    expect(await health.settleProbe(webhook, lease, { succeeded: true, now, probeAt })).toBe(false);
    expect(await records.get(webhook.tenantId, webhook.webhookId)).toMatchObject({ circuit: "closed" });
  });

  it("a failed probe reopens until the next probe time; a lease that ran out can be taken again", async () => {
    const webhook = target();
    const now = new Date();
    await health.open(webhook, now, now.toISOString());
    const lease = new Date(now.getTime() + 1000).toISOString();
    expect(await health.takeProbe(webhook, now, lease)).toBe(true);
    const next = new Date(now.getTime() + 2000).toISOString();
    expect(await health.settleProbe(webhook, lease, { succeeded: false, now, probeAt: next })).toBe(true);
    expect(await records.get(webhook.tenantId, webhook.webhookId)).toMatchObject({
      circuit: "open",
      probeAt: next,
    });
    expect(await health.takeProbe(webhook, now, lease)).toBe(false);
    const afterProbeTime = new Date(now.getTime() + 2500);
    const second = new Date(afterProbeTime.getTime() + 1000).toISOString();
    expect(await health.takeProbe(webhook, afterProbeTime, second)).toBe(true);
    // The holder died: once its lease ran out, another container probes.
    const afterLease = new Date(afterProbeTime.getTime() + 1500);
    expect(
      await health.takeProbe(webhook, afterLease, new Date(afterLease.getTime() + 1000).toISOString()),
    ).toBe(true);
  });
});
