/**
 * `npm run emit` against a stand-in for the local stack's HTTP input that behaves like it (the event is published
 * a moment after the send, as the ingest queue's poller does; publishing is idempotent on the EventBridge id;
 * GET /tenants/{tenantId}/events/{id} finds what was published): emit says "published" only once the event is
 * there, a second emit of a sample says it was a duplicate, `--new-id` makes every emit a new event, and an
 * event that never appears (kept in the ingest DLQ) is not called published.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const published = new Set<string>();
const posted: Record<string, unknown>[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const url = request.url ?? "";
      if (request.method === "POST" && url === "/_local/eventbridge") {
        const event = JSON.parse(body) as Record<string, unknown>;
        posted.push(event);
        // Published a moment later, by the ingest queue's poller; a tenant that does not exist never gets it.
        const tenant = (event.detail as { tenantId?: string } | undefined)?.tenantId;
        if (tenant !== "ghost") setTimeout(() => published.add(`evt_${String(event.id)}`), 600);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: event.id }] }));
        return;
      }
      const found = /^\/tenants\/demo\/events\/(.+)$/.exec(url);
      const known = found && published.has(decodeURIComponent(found[1] as string));
      response.writeHead(known ? 200 : 404, { "content-type": "application/json" });
      response.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function emit(...args: string[]) {
  const child = spawn(process.execPath, ["local/emit.ts", ...args], {
    env: { ...process.env, SW_URL: base, SW_EMIT_WAIT_SECONDS: "2" },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, output })),
  );
}

const SAMPLE = "events/eventbridge/custom-order-completed.json";

describe("npm run emit", () => {
  it("with --new-id, sends the same sample twice as two events, each with a fresh id", async () => {
    const first = await emit(SAMPLE, "--new-id");
    const second = await emit(SAMPLE, "--new-id");
    for (const run of [first, second]) {
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/published evt_[0-9a-f-]{36} to tenant demo \(a fresh id/);
      expect(run.output).not.toContain("duplicate");
    }
    const [a, b] = posted.slice(-2);
    expect(a?.id).not.toBe(b?.id);
    expect(a?.id).not.toBe("0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e");
    expect({ ...a, id: "x" }).toEqual({ ...b, id: "x" });
  }, 30_000);

  it("by default, sends the sample's own id and says the second send was a duplicate", async () => {
    const first = await emit(SAMPLE);
    expect(first.output).toContain("published evt_0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e");
    expect(first.output).not.toContain("duplicate");
    const second = await emit(SAMPLE);
    expect(second.code).toBe(0);
    expect(second.output).toContain(
      "duplicate: evt_0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e was already published, so nothing was sent again",
    );
    expect(posted.at(-1)?.id).toBe("0d6f1c9a-3b8e-4f2a-9c1d-5e7b8a9c0d1e");
  }, 30_000);

  it("waits for the event to be published, and does not call an event that never appears published", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emit-"));
    const sample = JSON.parse(readFileSync(SAMPLE, "utf8")) as { detail: Record<string, unknown> };
    const ghost = join(dir, "ghost.json");
    writeFileSync(ghost, JSON.stringify({ ...sample, detail: { ...sample.detail, tenantId: "ghost" } }));
    const run = await emit(ghost, "--new-id");
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/not published: evt_[0-9a-f-]{36} did not appear under tenant ghost/);
    expect(run.output).not.toMatch(/^published/m);
  }, 30_000);
});
