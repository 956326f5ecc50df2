import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

const stubDns: Record<string, LookupAddress[]> = {
  "internal.example.test": [{ address: "127.0.0.1", family: 4 }],
  "mixed.example.test": [
    { address: "93.184.215.14", family: 4 },
    { address: "10.0.0.7", family: 4 },
  ],
  "metadata.example.test": [{ address: "169.254.169.254", family: 4 }],
};

describe("the SSRF guard at send time (strict policy: no private destinations)", () => {
  let pipeline: Pipeline;
  let canary: Receiver;
  let canaryV6: Receiver | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline({
      allowPrivate: "none",
      runtime: {
        resolver: async (hostname) => {
          const answer = stubDns[hostname];
          if (!answer) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
          return answer;
        },
      },
    });
    canary = await startReceiver(() => ({ status: 200 }));
    canaryV6 = await startReceiver(() => ({ status: 200 }), "::1").catch(() => undefined);
  });
  afterAll(async () => {
    pipeline.close();
    await canary.close();
    await canaryV6?.close();
  });

  it("blocks private, loopback, metadata and mapped addresses, and names resolving to them; the canary sees no connection", async () => {
    const port = canary.port;
    const urls = [
      `http://127.0.0.1:${port}/`,
      `http://10.0.0.1:${port}/`,
      `http://169.254.169.254:${port}/latest/meta-data/`,
      `http://[::1]:${canaryV6?.port ?? port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://internal.example.test:${port}/`,
      `http://mixed.example.test:${port}/`,
      `http://metadata.example.test:${port}/`,
      `http://localhost:${port}/`,
    ];
    const webhookIds: string[] = [];
    for (const url of urls) {
      // Stored directly, bypassing the API's registration check: the send-time guard must stand on its own.
      const { webhook } = await pipeline.createWebhook({ url, eventTypes: ["ssrf.probe"] });
      webhookIds.push(webhook.id);
    }
    const published = await pipeline.publishApi({ type: "ssrf.probe", data: {} });
    expect(published.json.deliveries).toBe(urls.length);
    await pipeline.drain();

    expect(canary.connections).toBe(0);
    expect(canaryV6?.connections ?? 0).toBe(0);
    for (const webhookId of webhookIds) {
      const attempts = await pipeline.runtime.deliveries.attemptsOfWebhook(webhookId);
      expect(attempts.items, webhookId).toMatchObject([
        { status: "failed", errorClass: "destination_blocked" },
      ]);
    }
    const letters = await pipeline.deadLetters();
    expect(letters.filter((letter) => letter.attributes.eventId === published.json.eventId)).toHaveLength(
      urls.length,
    );
    expect(new Set(letters.map((letter) => letter.attributes.reason))).toEqual(
      new Set(["destination_blocked"]),
    );
  });

  it("fails closed on NXDOMAIN: retried as a DNS failure, never connected", async () => {
    const { webhook } = await pipeline.createWebhook({
      url: `http://nowhere.example.test:${canary.port}/`,
      eventTypes: ["ssrf.dns"],
      maxAttempts: 1,
    });
    await pipeline.publishApi({ type: "ssrf.dns", data: {} });
    await pipeline.drain();
    const attempts = await pipeline.runtime.deliveries.attemptsOfWebhook(webhook.id);
    expect(attempts.items).toMatchObject([{ errorClass: "dns_failure" }]);
    expect(canary.connections).toBe(0);
  });
});
