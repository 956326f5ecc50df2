import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWebhookUrl, strictDestinationPolicy } from "#core/delivery/destination-policy.ts";
import { guardedLookup } from "#functions/http/guarded-sender.ts";
import { type Pipeline, startPipeline } from "#test/support/pipeline.ts";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";

// Every URL of the matrix, with the canary's port where the host would land on this machine.
const matrix = (port: number) => [
  `http://0x7f000001:${port}/`,
  `http://2130706433:${port}/`,
  `http://0177.0.0.1:${port}/`,
  `http://0177.1:${port}/`,
  `http://127.1:${port}/`,
  "http://012.0.0.1/",
  "http://0xA9FEA9FE/",
  `http://0:${port}/`,
  `http://[::]:${port}/`,
  `http://[::ffff:127.0.0.1]:${port}/`,
  "http://[0:0:0:0:0:ffff:169.254.169.254]/",
  "http://[fd00:ec2::254]/",
  "http://[fe80::1%25eth0]/",
  `http://[64:ff9b::7f00:1]:${port}/`,
  `http://[2002:7f00:1::]:${port}/`,
  // IPv6 outside global unicast 2000::/3, or inside it but special-purpose.
  "http://[::a9fe:a9fe]/",
  `http://[::7f00:1]:${port}/`,
  `http://[::ffff:7f00:1]:${port}/`,
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[fe80::1]/",
  "http://[fc00::1]/",
  "http://[ff02::1]/",
  "http://[2001:db8::1]/",
  "http://[2002:a9fe:a9fe::1]/",
  "http://[3fff::1]/",
  "http://100.100.100.200/",
  "http://169.254.170.2/",
  `http://localhost.:${port}/`,
  `http://169.254.169.254:80@evil.example/`,
  "https://example.com:0/",
  `http://exam\tple.com:${port}/`,
  `http://example.com:${port}/\r\nHost: 127.0.0.1`,
  `http://example.com:${port}/\n`,
];

// Stub DNS: names that resolve to this machine or to private space; everything else is NXDOMAIN.
const stubDns: Record<string, LookupAddress[]> = {
  "only-private.example.test": [
    { address: "10.1.2.3", family: 4 },
    { address: "127.0.0.1", family: 4 },
  ],
  "mixed.example.test": [
    { address: "93.184.215.14", family: 4 },
    { address: "127.0.0.1", family: 4 },
  ],
  "v6-loopback.example.test": [{ address: "::1", family: 6 }],
  "mapped.example.test": [{ address: "::ffff:127.0.0.1", family: 6 }],
  "v4-compatible.example.test": [{ address: "::a9fe:a9fe", family: 6 }],
  "v4-compatible-loopback.example.test": [{ address: "::7f00:1", family: 6 }],
  "nat64.example.test": [{ address: "64:ff9b::a9fe:a9fe", family: 6 }],
  "6to4.example.test": [{ address: "2002:a9fe:a9fe::1", family: 6 }],
  "documentation.example.test": [
    { address: "2606:4700:4700::1111", family: 6 },
    { address: "3fff::1", family: 6 },
  ],
  "global-v6.example.test": [{ address: "2606:4700:4700::1111", family: 6 }],
};
const allowedNames = ["global-v6.example.test"];
const resolver = async (hostname: string) => {
  const answer = stubDns[hostname];
  if (!answer) throw Object.assign(new Error(`queryA ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return answer;
};

describe("the SSRF matrix", () => {
  let pipeline: Pipeline;
  let canary: Receiver;

  beforeAll(async () => {
    // Production rules, except http (so the http:// entries reach the address checks rather than stopping at the scheme).
    pipeline = await startPipeline({ allowPrivate: "none", runtime: { resolver } });
    canary = await startReceiver(() => ({ status: 200 }));
  });
  afterAll(async () => {
    pipeline.close();
    await canary.close();
  });

  it("refuses every URL at registration (production rules)", async () => {
    const strict = await startPipeline({ strictDestinations: true });
    for (const url of matrix(canary.port)) {
      expect(() => checkWebhookUrl(url, strictDestinationPolicy), url).toThrow();
      const response = await strict.api("POST", strict.under("/webhooks"), {
        url,
        eventTypes: ["ssrf.matrix"],
      });
      expect(response.status, url).toBe(400);
      expect((response.json.errors as { field: string }[])[0]?.field).toBe("url");
    }
    // Without over-blocking: a global IPv6 literal registers under the same rules.
    const global = await strict.api("POST", strict.under("/webhooks"), {
      url: "https://[2606:4700:4700::1111]/hooks",
      eventTypes: ["ssrf.matrix"],
    });
    expect(global.status).toBe(201);
    strict.close();
  });

  it("refuses every URL and every hostile resolver answer at send time; the canary counts zero connections", async () => {
    const hosts = Object.keys(stubDns)
      .filter((host) => !allowedNames.includes(host))
      .map((host) => `http://${host}:${canary.port}/`);
    const nxdomain = [
      `http://nowhere.example.test:${canary.port}/`,
      `http://example.com\\@127.0.0.1:${canary.port}/`,
    ];
    const urls = [...matrix(canary.port), ...hosts, ...nxdomain];
    const webhookIds = new Map<string, string>();
    for (const url of urls) {
      const { webhook } = await pipeline.createWebhook({ url, eventTypes: ["ssrf.matrix"], maxAttempts: 1 });
      webhookIds.set(webhook.id, url);
    }
    await pipeline.publishApi({ type: "ssrf.matrix", data: {} });
    await pipeline.drain(60_000);
    expect(canary.connections).toBe(0);
    for (const [webhookId, url] of webhookIds) {
      const [attempt] = (await pipeline.runtime.deliveries.attemptsOfWebhook(webhookId)).items;
      const expected = nxdomain.includes(url) ? "dns_failure" : "destination_blocked";
      expect(attempt?.errorClass, url).toBe(expected);
    }
  }, 90_000);

  it("redirects (301, 302, 307, 308) to a private address are never followed", async () => {
    const permissive = await startPipeline({ allowPrivate: "loopback" });
    for (const status of [301, 302, 307, 308]) {
      const redirector = await startReceiver(() => ({
        status,
        headers: { location: `http://127.0.0.1:${canary.port}/internal` },
      }));
      // A 3xx is retried (twice here), and no attempt follows it.
      await permissive.createWebhook({
        url: redirector.url,
        eventTypes: [`redirect.r${status}`],
        maxAttempts: 2,
      });
      await permissive.publishApi({ type: `redirect.r${status}`, data: {} });
      await permissive.drain();
      expect(redirector.requests, String(status)).toHaveLength(2);
      await redirector.close();
    }
    expect(canary.connections).toBe(0);
    permissive.close();
  });
});

describe("the guarded lookup", () => {
  const lookupOnce = (lookup: ReturnType<typeof guardedLookup>, host: string) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) =>
      lookup(host, {}, (error, address) => resolve({ error: error as Error | null, address })),
    );

  it("checks every answer it returns: a rebinding name (public, then private) is refused the moment it turns private", async () => {
    let calls = 0;
    const rebinding = async (): Promise<LookupAddress[]> => {
      calls += 1;
      return calls === 1 ? [{ address: "93.184.215.14", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
    };
    const lookup = guardedLookup(rebinding, strictDestinationPolicy);
    // The address handed to the socket is the one that was checked; no second resolution happens in between.
    expect(await lookupOnce(lookup, "rebind.example.test")).toMatchObject({
      error: null,
      address: "93.184.215.14",
    });
    const second = await lookupOnce(lookup, "rebind.example.test");
    expect(second.error?.message).toMatch(/non-public/);
  });

  it("applies the registration rule to IPv6 answers: global unicast passes, IPv4-compatible, NAT64, 6to4 and documentation do not", async () => {
    const lookup = guardedLookup(resolver, strictDestinationPolicy);
    expect(await lookupOnce(lookup, "global-v6.example.test")).toMatchObject({
      error: null,
      address: "2606:4700:4700::1111",
    });
    for (const host of [
      "v4-compatible.example.test",
      "v4-compatible-loopback.example.test",
      "nat64.example.test",
      "6to4.example.test",
      "documentation.example.test",
    ]) {
      expect((await lookupOnce(lookup, host)).error?.message, host).toMatch(/non-public/);
      const literal = (stubDns[host] ?? []).at(-1)?.address ?? "";
      expect(() => checkWebhookUrl(`https://[${literal}]/`, strictDestinationPolicy), literal).toThrow();
    }
  });

  it("answers all addresses for autoSelectFamily only when every one is allowed, and fails closed on NXDOMAIN", async () => {
    const lookup = guardedLookup(resolver, strictDestinationPolicy);
    const all = await new Promise<{ error: Error | null }>((resolve) =>
      lookup("mixed.example.test", { all: true }, (error) => resolve({ error: error as Error | null })),
    );
    expect(all.error?.message).toMatch(/non-public/);
    const missing = await lookupOnce(lookup, "nowhere.example.test");
    expect((missing.error as { code?: string } | null)?.code).toBe("ENOTFOUND");
  });
});
