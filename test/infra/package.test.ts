/**
 * The npm package as a user gets it: `npm pack` (its `prepack` builds `dist/`), then `npm install <tarball>` into a
 * fresh project outside the repository whose node_modules holds only the package's declared dependencies (linked
 * from this checkout's install: no network). There, each export must import from a plain `.mjs` file and work,
 * and type-check from a `.ts` file with real types (a wrong call must not compile).
 *
 * A new export (e.g. `./cdk`): add it to package.json `exports` and `files`, its entry to tsconfig.build.json,
 * and a row to `exportsUnderTest` below.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  name: string;
  dependencies: Record<string, string>;
  exports: Record<string, unknown>;
};

interface ExportUnderTest {
  readonly subpath: string;
  /** Runs under node in the fresh project; prints what the test expects on stdout. */
  readonly mjs: (baseUrl: string) => string;
  readonly expectedOutput: unknown;
  /** Must type-check, except the line after `@ts-expect-error`. */
  readonly ts: string;
}

const exportsUnderTest: readonly ExportUnderTest[] = [
  {
    subpath: "client",
    mjs: (baseUrl) => `
      import { createClient, listTenants, ApiProblem } from "serverless-webhooks/client";
      const client = createClient({ baseUrl: ${JSON.stringify(baseUrl)}, auth: { type: "bearer", token: "t0k" } });
      const page = await listTenants(client, { query: { limit: "1" } });
      const failure = await client.call("GET /tenants/{tenantId}", { path: { tenantId: "gone" } }).catch((e) => e);
      console.log(JSON.stringify({ page, problem: failure instanceof ApiProblem ? failure.status : "none" }));
    `,
    expectedOutput: { page: { data: [], nextCursor: null }, problem: 404 },
    ts: `
      import { createClient, createWebhook, type Result } from "serverless-webhooks/client";
      const client = createClient({ baseUrl: "https://abc.execute-api.eu-west-1.amazonaws.com/v1" });
      export async function run(): Promise<string> {
        const created: Result<"POST /tenants/{tenantId}/webhooks"> = await createWebhook(client, {
          path: { tenantId: "acme" },
          body: { url: "https://hooks.example.com", eventTypes: ["order.*"] },
        });
        // @ts-expect-error: eventTypes is required
        await createWebhook(client, { path: { tenantId: "acme" }, body: { url: "https://x" } });
        return created.secret;
      }
    `,
  },
];

const work = mkdtempSync(join(tmpdir(), "sw-pack-"));
let server: Server;
let baseUrl: string;
let packedFiles: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const found = request.url?.startsWith("/v1/tenants?") && request.headers.authorization === "Bearer t0k";
    response.writeHead(found ? 200 : 404, {
      "content-type": found ? "application/json" : "application/problem+json",
    });
    response.end(
      JSON.stringify(
        found
          ? { data: [], nextCursor: null }
          : { type: "about:blank", title: "Not found", status: 404, detail: "tenant gone was not found" },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: repo });
  const [result] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!result) throw new Error("npm pack answered nothing");
  packedFiles = result.files.map((file) => file.path);

  const project = join(work, "project");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  const link = (dependency: string) => {
    mkdirSync(dirname(join(project, "node_modules", dependency)), { recursive: true });
    symlinkSync(join(repo, "node_modules", dependency), join(project, "node_modules", dependency));
  };
  // Only what the package declares: an import of anything undeclared cannot resolve.
  for (const dependency of Object.keys(manifest.dependencies)) link(dependency);
  await run(
    "npm",
    ["install", join(work, result.filename), "--offline", "--no-audit", "--no-fund", "--ignore-scripts"],
    { cwd: project },
  );
  // The consumer's own @types/node (npm install would have pruned it as extraneous before).
  link("@types/node");
}, 170_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("packs the built exports, their declarations and the OpenAPI document, and no sources or tests", () => {
    for (const entry of exportsUnderTest) {
      expect(packedFiles).toContain(`dist/${entry.subpath}/index.js`);
      expect(packedFiles).toContain(`dist/${entry.subpath}/index.d.ts`);
    }
    expect(packedFiles).toContain("docs/openapi.json");
    expect(packedFiles.filter((file) => /\.ts$/.test(file) && !file.endsWith(".d.ts"))).toEqual([]);
    expect(packedFiles.filter((file) => file.startsWith("test/") || file.includes("node_modules"))).toEqual(
      [],
    );
  });

  it("declares an export for each entry, types first", () => {
    for (const entry of exportsUnderTest)
      expect(manifest.exports[`./${entry.subpath}`]).toEqual({
        types: `./dist/${entry.subpath}/index.d.ts`,
        import: `./dist/${entry.subpath}/index.js`,
      });
  });

  it.each(exportsUnderTest)(
    "serverless-webhooks/$subpath imports and works from a plain .mjs file",
    async (entry) => {
      const project = join(work, "project");
      const file = join(project, `use-${entry.subpath}.mjs`);
      writeFileSync(file, entry.mjs(baseUrl));
      const { stdout } = await run(process.execPath, [file], { cwd: project });
      expect(JSON.parse(stdout)).toEqual(entry.expectedOutput);
    },
  );

  it("type-checks against the packed declarations (strict, library checks on), and refuses a wrong call", async () => {
    const project = join(work, "project");
    for (const entry of exportsUnderTest) writeFileSync(join(project, `use-${entry.subpath}.ts`), entry.ts);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2024",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          types: ["node"],
          skipLibCheck: false,
        },
        files: exportsUnderTest.map((entry) => `use-${entry.subpath}.ts`),
      }),
    );
    const tsc = join(repo, "node_modules", ".bin", "tsc");
    await expect(run(tsc, ["-p", "tsconfig.json"], { cwd: project })).resolves.toBeDefined();
    // Without the expectation the wrong call must fail: the types are real, not `any`.
    for (const entry of exportsUnderTest)
      writeFileSync(
        join(project, `use-${entry.subpath}.ts`),
        entry.ts.replace(/\/\/ @ts-expect-error.*\n/, ""),
      );
    await expect(run(tsc, ["-p", "tsconfig.json"], { cwd: project })).rejects.toMatchObject({
      stdout: expect.stringMatching(/TS2741|TS2345|TS2322/),
    });
  });
});
