/**
 * The local stack under sustained publish load: `npm start` as a child process, three verifying receivers,
 * RATE events/s over HTTP for SECONDS seconds. Throughput, publish → receipt latency, memory of each process,
 * and the conservation check (every pair received and verified).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { findFreePort } from "#local/free-port.ts";
import { DEMO_TENANT_ID } from "#local/paths.ts";
import { descendantsOf, startCommand } from "#test/support/child-process.ts";

const WEBHOOKS = 3;
/** How long the run waits at most, after the last publish, for the backlog to be delivered. */
const DRAIN_SECONDS = 180;

/**
 * Publishes go through one keep-alive agent with a bounded number of sockets: a saturated local stack then sees a
 * queue on the client, as an SDK or a load balancer would hold it. (`fetch` opened a socket per request in flight:
 * at 200 events/s against a saturated server, thousands of connects, then undici's 10 s connect timeout and an
 * unhandled `fetch failed` that ended the whole run.)
 */
const publishAgent = new Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: "POST",
        agent: publishAgent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

function rssMegabytes(pid: number): number {
  try {
    return Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim()) / 1024;
  } catch {
    return 0;
  }
}

export interface LoadResult {
  readonly rate: number;
  readonly seconds: number;
  readonly events: number;
  readonly deliveries: number;
  readonly deliveriesPerSecond: number;
  /** Seconds from the first publish to the last publish accepted. */
  readonly publishSeconds: number;
  /** When the last event had been offered (RATE × SECONDS): publishes not yet accepted, deliveries not yet made. */
  readonly backlogAtOfferEnd: { readonly publishes: number; readonly deliveries: number };
  /** Seconds from the last event offered to the last receipt: how long the backlog took to drain. */
  readonly drainSeconds: number;
  /** Deliveries per second while draining that backlog: what the whole stack (publish and deliver) sustains. */
  readonly drainPerSecond: number;
  /** Wall time of the whole run, the local stack's start-up and shutdown included. */
  readonly wallSeconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly duplicates: number;
  readonly missing: number;
  readonly unverified: number;
  readonly memoryMb: Record<string, number>;
  /** Publishes not accepted (status or socket error), by cause: not expected at the receivers. */
  readonly publishesRefused: Record<string, number>;
}

export async function benchLoad(
  rate: number,
  seconds: number,
  label: string,
): Promise<{ markdown: string; result: LoadResult }> {
  const RATE = rate;
  const SECONDS = seconds;
  const runStarted = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), "sw-load-"));
  const port = await findFreePort();
  const local = startCommand("node", ["local/start.ts"], {
    SW_DATA_DIR: dataDir,
    SW_PORT: String(port),
    SW_POLLERS: "6",
    POWERTOOLS_LOG_LEVEL: "ERROR",
  });
  await local.waitForOutput(/Press Ctrl-C to stop/, 90_000);
  const api = `http://127.0.0.1:${port}`;

  const published = new Map<string, number>();
  const receipts: number[] = [];
  let lastReceiptAt = 0;
  let duplicates = 0;
  let unverified = 0;
  const receivers: { server: Server; secret: string; seen: Set<string> }[] = [];
  for (let index = 0; index < WEBHOOKS; index += 1) {
    const entry = { server: undefined as unknown as Server, secret: "", seen: new Set<string>() };
    entry.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        try {
          const { id } = verifyWebhook({
            headers: request.headers,
            body: Buffer.concat(chunks),
            secrets: [entry.secret],
          });
          if (entry.seen.has(id)) duplicates += 1;
          else {
            entry.seen.add(id);
            receipts.push(performance.now() - (published.get(id) ?? performance.now()));
            lastReceiptAt = performance.now();
          }
          response.writeHead(204).end();
        } catch {
          unverified += 1;
          response.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => entry.server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(entry.server.address() as AddressInfo).port}/hooks`;
    const created = await post(`${api}/tenants/${DEMO_TENANT_ID}/webhooks`, { url, eventTypes: ["load.*"] });
    if (created.status !== 201)
      throw new Error(`creating a webhook answered ${created.status}: ${created.body}`);
    entry.secret = (JSON.parse(created.body) as { secret: string }).secret;
    receivers.push(entry);
  }

  const memory: Record<string, number> = {};
  const sampleMemory = () => {
    const pid = local.child.pid ?? 0;
    const processes = [pid, ...descendantsOf(pid)];
    for (const child of processes) {
      const command = execFileSync("ps", ["-o", "args=", "-p", String(child)], { encoding: "utf8" }).trim();
      const name = command.includes("DynamoDBLocal")
        ? "DynamoDB Local (java)"
        : command.includes("start.ts")
          ? "local stack (node: API, handlers, pollers, fauxqs, Secrets Manager)"
          : "";
      if (name) memory[name] = Math.max(memory[name] ?? 0, rssMegabytes(child));
    }
    memory["receivers and publisher (bench process)"] = Math.max(
      memory["receivers and publisher (bench process)"] ?? 0,
      process.memoryUsage().rss / 2 ** 20,
    );
  };
  const sampler = setInterval(sampleMemory, 1000);

  const started = performance.now();
  const total = RATE * SECONDS;
  const tick = 50;
  const perTick = (RATE * tick) / 1000;
  const inflight: Promise<unknown>[] = [];
  let accepted = 0;
  const refused = new Map<string, number>();
  const count = (key: string) => refused.set(key, (refused.get(key) ?? 0) + 1);
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / tick + 1) * perTick));
    for (; sent < due; sent += 1) {
      const id = `evt_load_${String(sent).padStart(6, "0")}`;
      published.set(id, performance.now());
      inflight.push(
        post(`${api}/tenants/${DEMO_TENANT_ID}/events`, { id, type: "load.tick", data: { n: sent } }).then(
          (response) => {
            if (response.status !== 202) {
              published.delete(id);
              count(`HTTP ${response.status}`);
            } else accepted += 1;
          },
          (error: unknown) => {
            published.delete(id);
            count(error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "error");
          },
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, tick));
  }
  const offeredAt = performance.now();
  const backlogAtOfferEnd = {
    publishes: total - accepted - [...refused.values()].reduce((sum, n) => sum + n, 0),
    deliveries: 0,
  };
  backlogAtOfferEnd.deliveries = (total - backlogAtOfferEnd.publishes) * WEBHOOKS - receipts.length;
  const receivedAtOfferEnd = receipts.length;
  await Promise.all(inflight);
  const publishedAt = performance.now();
  const expected = published.size * WEBHOOKS;
  const deadline = performance.now() + DRAIN_SECONDS * 1000;
  while (receipts.length < expected && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 250));
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sampleMemory();

  local.signalGroup("SIGINT");
  await local.waitForExit(30_000).catch(() => local.signalGroup("SIGKILL"));
  for (const receiver of receivers) {
    receiver.server.closeAllConnections();
    receiver.server.close();
  }
  rmSync(dataDir, { recursive: true, force: true });

  const drainSeconds = Math.max(0, (lastReceiptAt - offeredAt) / 1000);
  const result: LoadResult = {
    rate: RATE,
    seconds: SECONDS,
    events: total,
    deliveries: receipts.length,
    deliveriesPerSecond: receipts.length / elapsed,
    publishSeconds: (publishedAt - started) / 1000,
    backlogAtOfferEnd,
    drainSeconds,
    drainPerSecond: drainSeconds > 0 ? (receipts.length - receivedAtOfferEnd) / drainSeconds : Number.NaN,
    wallSeconds: (performance.now() - runStarted) / 1000,
    p50Ms: percentile(receipts, 50),
    p99Ms: percentile(receipts, 99),
    duplicates,
    missing: expected - receipts.length,
    unverified,
    memoryMb: memory,
    publishesRefused: Object.fromEntries(refused),
  };
  return {
    result,
    markdown: [
      `## Load: ${label}`,
      "",
      `\`npm start\` as a child process (6 pollers), ${RATE} events/s × ${WEBHOOKS} webhooks for ${SECONDS} s through \`POST /tenants/demo/events\` (a keep-alive client with at most 16 connections), three verifying receivers on 127.0.0.1. One sustained run of ${total.toLocaleString("en")} events (a load run is not repeated five times). Wall time of the run, the local stack's start-up and shutdown included: ${result.wallSeconds.toFixed(0)} s.`,
      "",
      "| | |",
      "| --- | --- |",
      `| events published (accepted with 202) | ${published.size.toLocaleString("en")} of ${total.toLocaleString("en")} in ${result.publishSeconds.toFixed(1)} s (${(published.size / result.publishSeconds).toFixed(1)} accepted per second)${refused.size > 0 ? ` (not accepted: ${[...refused].map(([cause, n]) => `${cause} ×${n}`).join(", ")})` : ""} |`,
      `| deliveries received and verified | ${result.deliveries.toLocaleString("en")} of ${expected.toLocaleString("en")} within ${DRAIN_SECONDS} s of the last publish (missing: ${result.missing}, unverified: ${unverified}, duplicates: ${duplicates}) |`,
      `| throughput, first publish to last receipt | ${result.deliveriesPerSecond.toFixed(0)} deliveries/s |`,
      `| backlog when the last event was offered (${SECONDS} s in), then drained | ${result.backlogAtOfferEnd.publishes.toLocaleString("en")} publishes waiting at the API and ${result.backlogAtOfferEnd.deliveries.toLocaleString("en")} deliveries still to make; drained in ${result.drainSeconds.toFixed(1)} s${Number.isNaN(result.drainPerSecond) ? "" : ` (${result.drainPerSecond.toFixed(0)} deliveries/s)`} |`,
      `| publish → receipt latency | p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms |`,
      ...Object.entries(memory).map(
        ([name, megabytes]) => `| peak RSS: ${name} | ${megabytes.toFixed(0)} MiB |`,
      ),
    ].join("\n"),
  };
}
