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
import { LAMBDA_BUNDLING } from "#lib/constructs/lambda-bundling.ts";
import { sized } from "./options.ts";
import { median } from "./stats.ts";

const RUNS = sized(9, 5);
const ROOT = new URL("..", import.meta.url).pathname;
const ENTRIES = {
  publish: "functions/publish/handler.ts",
  deliver: "functions/deliver/handler.ts",
  api: "functions/api/handler.ts",
  reconcile: "functions/reconcile/handler.ts",
  portal: "functions/portal/handler.ts",
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
    alias: { ...LAMBDA_BUNDLING.alias },
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: "error",
  });
}

/** Wall and CPU (user + system) milliseconds of importing `file` in a fresh Node process. */
function importMillis(file: string): { wall: number; cpu: number } {
  const script = `const c=process.cpuUsage();const t=performance.now();await import(${JSON.stringify(file)});const w=performance.now()-t;const u=process.cpuUsage(c);process.stdout.write(JSON.stringify({wall:w,cpu:(u.user+u.system)/1000}));`;
  const env = {
    ...process.env,
    AWS_REGION: "us-east-1",
    TABLE_NAME: "t",
    DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
    DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/d",
    SECRET_NAME_PREFIX: "p/",
    PORTAL_KEY_SECRET_ID: "p/portal-signing-keys",
    PORTAL_URL: "https://portal.example.com/",
  };
  return JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" }),
  ) as { wall: number; cpu: number };
}

export interface ColdStartRow {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly importMs: number;
  readonly importCpuMs: number;
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
  const files: string[] = [];
  for (const [name, entry] of targets) {
    const outfile = join(dir, `${name.replace(/\W+/g, "-")}.mjs`);
    await bundle(entry, outfile);
    files.push(outfile);
  }
  // Interleaved (each round imports every bundle once): load on the machine then weighs on all of them alike.
  const samples = files.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let run = 0; run < RUNS; run += 1)
    files.forEach((file, index) => {
      const sample = importMillis(file);
      samples[index]?.wall.push(sample.wall);
      samples[index]?.cpu.push(sample.cpu);
    });
  const rows: ColdStartRow[] = targets.map(([name], index) => ({
    name,
    bytes: statSync(files[index] as string).size,
    gzipBytes: gzipSync(readFileSync(files[index] as string)).length,
    importMs: median(samples[index]?.wall ?? []),
    importCpuMs: median(samples[index]?.cpu ?? []),
  }));
  rmSync(dir, { recursive: true, force: true });
  const baselineMs = rows.at(-1)?.importMs ?? 1;
  const baselineCpuMs = rows.at(-1)?.importCpuMs ?? 1;
  const ratios = Object.fromEntries(rows.slice(0, -1).map((row) => [row.name, row.importMs / baselineMs]));
  return {
    rows,
    ratios,
    markdown: [
      "## Cold-start proxy",
      "",
      `Bundles built with the stack's esbuild options; import time in a fresh Node process (median of ${RUNS}, the bundles imported in turn in each round so that the machine's load weighs on all alike), against a bundle that only creates one SDK client, in the same run. Wall time and the process's CPU time (user + system) during the import. Each function has its own composition root: its bundle holds only the SDK clients it calls, and clients its first invocation does not need are built on first use; modules loaded on first use (\`filter.mjs\` and \`catalogue-tools.mjs\` beside api, publish, reconcile and portal; the portal's \`jwt.mjs\`, jose) are separate files, not part of these imports. Goals: ≤ 400 KiB minified each; import ≤ 1.3× the baseline.`,
      "",
      "| bundle | minified | gzipped | import, wall (median) | × baseline | import, CPU (median) | × baseline |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(
        (row) =>
          `| ${row.name} | ${(row.bytes / 1024).toFixed(0)} KiB | ${(row.gzipBytes / 1024).toFixed(0)} KiB | ${row.importMs.toFixed(1)} ms | ${(row.importMs / baselineMs).toFixed(2)}× | ${row.importCpuMs.toFixed(1)} ms | ${(row.importCpuMs / baselineCpuMs).toFixed(2)}× |`,
      ),
    ].join("\n"),
  };
}
