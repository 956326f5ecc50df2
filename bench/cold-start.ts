/**
 * Cold-start proxy: each function's bundle (built with the stack's esbuild options), minified and gzipped, and
 * the time to import it in a fresh Node process, against a bundle that only creates one SDK client.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { median } from "./stats.ts";

const RUNS = 7;
const ROOT = new URL("..", import.meta.url).pathname;
const ENTRIES = {
  publish: "functions/publish/handler.ts",
  deliver: "functions/deliver/handler.ts",
  api: "functions/api/handler.ts",
};

/** `entry` is a path, or `{ contents }` bundled as if it were a file at the project root. */
async function bundle(entry: string | { contents: string }, outfile: string) {
  await build({
    ...(typeof entry === "string"
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: "ts" as const } }),
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    mainFields: ["module", "main"],
    alias: { "@aws-sdk/credential-provider-node": join(ROOT, "functions/aws/lambda-credentials.ts") },
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: "error",
  });
}

function importMillis(file: string): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const env = {
    ...process.env,
    AWS_REGION: "us-east-1",
    TABLE_NAME: "t",
    DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
    DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/d",
    SECRET_NAME_PREFIX: "p/",
  };
  return Number(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" }),
  );
}

export interface ColdStartRow {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly importMs: number;
}

export async function benchColdStart(): Promise<{
  markdown: string;
  rows: ColdStartRow[];
  ratios: Record<string, number>;
}> {
  const dir = mkdtempSync(join(tmpdir(), "sw-cold-"));
  const baseline = {
    contents:
      'import { DynamoDBClient } from "@aws-sdk/client-dynamodb";\nexport const client = new DynamoDBClient({});\n',
  };
  const targets: [string, string | { contents: string }][] = [
    ...Object.entries(ENTRIES).map(([name, entry]): [string, string] => [name, join(ROOT, entry)]),
    ["baseline: one SDK client", baseline],
  ];
  const rows: ColdStartRow[] = [];
  for (const [name, entry] of targets) {
    const outfile = join(dir, `${name.replace(/\W+/g, "-")}.mjs`);
    await bundle(entry, outfile);
    const samples = Array.from({ length: RUNS }, () => importMillis(outfile));
    rows.push({
      name,
      bytes: statSync(outfile).size,
      gzipBytes: gzipSync(readFileSync(outfile)).length,
      importMs: median(samples),
    });
  }
  rmSync(dir, { recursive: true, force: true });
  const baselineMs = rows.at(-1)?.importMs ?? 1;
  const ratios = Object.fromEntries(rows.slice(0, -1).map((row) => [row.name, row.importMs / baselineMs]));
  return {
    rows,
    ratios,
    markdown: [
      "## Cold-start proxy",
      "",
      `Bundles built with the stack's esbuild options; import time in a fresh Node process (median of ${RUNS}), against a bundle that only creates one SDK client, in the same run. Goals: ≤ 400 KiB minified each; import ≤ 1.3× the baseline.`,
      "",
      "| bundle | minified | gzipped | import (median) | × baseline |",
      "| --- | --- | --- | --- | --- |",
      ...rows.map(
        (row) =>
          `| ${row.name} | ${(row.bytes / 1024).toFixed(0)} KiB | ${(row.gzipBytes / 1024).toFixed(0)} KiB | ${row.importMs.toFixed(1)} ms | ${(row.importMs / baselineMs).toFixed(2)}× |`,
      ),
    ].join("\n"),
  };
}
