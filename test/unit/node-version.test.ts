import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseVersion, supportsTypeStripping } from "../../scripts/node-version.mjs";

describe("the Node version gate (scripts/node-version.mjs)", () => {
  it("accepts the first releases that strip types by default, and everything after them", () => {
    for (const version of [
      "v22.18.0",
      "22.18.1",
      "v22.19.0",
      "v22.23.3",
      "v23.6.0",
      "v23.11.1",
      "v24.0.0",
      "v26.1.0",
    ])
      expect(supportsTypeStripping(version), version).toBe(true);
  });

  it("refuses the releases just before them, comparing major, minor and patch", () => {
    for (const version of [
      "v22.17.1",
      "v22.12.0",
      "v22.6.0",
      "v22.0.0",
      "v23.5.0",
      "v23.0.0",
      "v21.7.3",
      "v20.19.0",
      "v18.20.4",
    ])
      expect(supportsTypeStripping(version), version).toBe(false);
  });

  it("compares numerically, not as text", () => {
    expect(supportsTypeStripping("v22.9.0")).toBe(false);
    expect(supportsTypeStripping("v22.100.0")).toBe(true);
    expect(parseVersion("v22.18.0-nightly20250101")).toEqual([22, 18, 0]);
    expect(parseVersion("twenty-two")).toBeUndefined();
    expect(supportsTypeStripping("twenty-two")).toBe(false);
  });
});

describe("scripts/require-node.mjs and scripts/use-node.sh", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("require-node exits 0 on this Node (the project runs here)", () => {
    const run = spawnSync(process.execPath, ["scripts/require-node.mjs"], { encoding: "utf8" });
    expect(run.status).toBe(0);
  });

  it("use-node.sh switches an unusable node on PATH to the cached Node 24, and keeps a usable one", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-use-node-"));
    dirs.push(dir);
    // An old node that cannot run the check (as Node 22.17 cannot pass it), first on PATH.
    const oldBin = join(dir, "old-bin");
    mkdirSync(oldBin);
    writeFileSync(
      join(oldBin, "node"),
      '#!/bin/sh\n[ "$1" = "--version" ] && { echo v22.17.1; exit 0; }\nexit 1\n',
    );
    chmodSync(join(oldBin, "node"), 0o755);
    // The cache use-node.sh would have filled with node@24, pre-filled with this Node so no download happens.
    const cache = join(dir, "cache");
    mkdirSync(join(cache, "node_modules", ".bin"), { recursive: true });
    symlinkSync(process.execPath, join(cache, "node_modules", ".bin", "node"));

    const shell = (pathPrefix: string) =>
      spawnSync("bash", ["-c", "source scripts/use-node.sh && node --version && command -v node"], {
        encoding: "utf8",
        env: { ...process.env, SW_NODE_CACHE: cache, PATH: `${pathPrefix}:${process.env.PATH ?? ""}` },
      });

    const switched = shell(oldBin);
    expect(switched.status, switched.stderr).toBe(0);
    expect(switched.stdout).toContain(process.version);
    expect(switched.stdout).toContain(join(cache, "node_modules", ".bin", "node"));
    expect(switched.stderr).toContain("v22.17.1");

    const kept = shell(join(process.execPath, ".."));
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).not.toContain(cache);
  });
});
