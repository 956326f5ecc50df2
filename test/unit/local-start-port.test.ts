/**
 * `npm start` finds a taken API port before it starts any engine: run the real start path with the port held
 * and a `java` on PATH that only records being called, and the error comes with no java ever run.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertPortFree, PortUnavailableError, parsePort } from "#local/port-check.ts";

let dir: string;
let held: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sw-port-"));
  held = createServer();
  await new Promise<void>((resolve) => held.listen(0, "127.0.0.1", resolve));
  port = (held.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => held.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function runStart(env: Record<string, string>) {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const marker = join(dir, "java-was-run");
  // Any java call (DynamoDB Local's version probe or its launch) leaves the marker.
  writeFileSync(join(bin, "java"), `#!/bin/sh\ntouch "${marker}"\nexit 1\n`);
  chmodSync(join(bin, "java"), 0o755);
  const child = spawn(process.execPath, ["local/start.ts"], {
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      SW_DATA_DIR: join(dir, "data"),
      ...env,
    },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return new Promise<{ code: number | null; output: string; javaRan: boolean }>((resolve) =>
    child.on("close", (code) => resolve({ code, output, javaRan: existsSync(marker) })),
  );
}

describe("npm start with its port taken", () => {
  it("says so and exits before any engine (no java was run)", async () => {
    const run = await runStart({ SW_PORT: String(port) });
    expect(run.output).toContain(
      `Port ${port} is in use: stop the other process or run with SW_PORT=<port>.`,
    );
    expect(run.code).toBe(1);
    expect(run.javaRan).toBe(false);
    expect(existsSync(join(dir, "data"))).toBe(false);
  });

  it("refuses an SW_PORT that is not a port, naming it", async () => {
    const run = await runStart({ SW_PORT: "30o0" });
    expect(run.output).toContain('SW_PORT must be a TCP port from 1 to 65535 (got "30o0")');
    expect(run.code).toBe(1);
    expect(run.javaRan).toBe(false);
  });
});

describe("the port check", () => {
  it("passes on a free port and fails with PortUnavailableError on a held one", async () => {
    await expect(assertPortFree(port, "127.0.0.1")).rejects.toBeInstanceOf(PortUnavailableError);
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const freePort = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    await expect(assertPortFree(freePort, "127.0.0.1")).resolves.toBeUndefined();
    expect(parsePort(undefined, 3000, "SW_PORT")).toBe(3000);
    expect(parsePort("3001", 3000, "SW_PORT")).toBe(3001);
    expect(() => parsePort("70000", 3000, "SW_PORT")).toThrow(/SW_PORT/);
  });
});
