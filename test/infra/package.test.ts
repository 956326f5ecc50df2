/**
 * What `npm pack` ships works in a project that is not this repository: the tarball's `serverless-webhooks/cdk`
 * export imports and type-checks from a fresh project, and the `examples/` app synthesizes there with `cdk synth`,
 * its functions built from the package's prebuilt bundles (an installed package carries no sources to bundle);
 * `serverless-webhooks/client` imports from a plain `.mjs` file and calls a real HTTP server, and type-checks with
 * the contract's types (a wrong call does not compile).
 *
 * The fresh project gets the tarball unpacked as `node_modules/serverless-webhooks` and the repository's installed
 * dependencies linked beside it: the same packages `npm install <tarball>` would fetch, without the network.
 */
import { execFile, execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { builtinModules } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
/** A typical client user: typed calls, pagination, problem handling. */
const CLIENT_USE = `import { ApiProblem, createClient, createWebhook, type Result } from "serverless-webhooks/client";
const client = createClient({ baseUrl: "https://abc.execute-api.eu-west-1.amazonaws.com/v1" });
export async function run(): Promise<string[]> {
  const created: Result<"POST /tenants/{tenantId}/webhooks"> = await createWebhook(client, {
    path: { tenantId: "acme" },
    body: { url: "https://hooks.example.com/in", eventTypes: ["order.*"] },
  });
  const urls: string[] = [created.url];
  for await (const webhook of client.paginate("GET /tenants/{tenantId}/webhooks", { path: { tenantId: "acme" } }))
    urls.push(webhook.url);
  try {
    await client.call("DELETE /tenants/{tenantId}", { path: { tenantId: "acme" } });
  } catch (error) {
    if (error instanceof ApiProblem) urls.push(error.problem.detail);
  }
  return urls;
}
`;
const bin = (name: string) => join(root, "node_modules/.bin", name);
let work: string;
let project: string;
let packed: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "sw-pack-"));
  const output = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [report] = JSON.parse(output) as { filename: string; files: { path: string }[] }[];
  if (!report) throw new Error("npm pack reported nothing");
  packed = report.files.map((file) => file.path);

  project = join(work, "fresh-project");
  const installed = join(project, "node_modules", "serverless-webhooks");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, report.filename), "-C", installed, "--strip-components=1"]);
  for (const name of readdirSync(join(root, "node_modules"))) {
    if (name === ".bin" || name === "serverless-webhooks") continue;
    symlinkSync(join(root, "node_modules", name), join(project, "node_modules", name));
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "fresh", private: true, type: "module" }),
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2024",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        types: ["node"],
      },
      include: ["*.ts"],
    }),
  );
  cpSync(join(root, "examples/s3-uploads/app.ts"), join(project, "app.ts"));
  cpSync(join(root, "examples/s3-uploads/cdk.json"), join(project, "cdk.json"));
}, 170_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships the built entries and the prebuilt functions, not the sources or the tests", () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        "package.json",
        "dist/cdk/index.js",
        "dist/cdk/index.d.ts",
        "dist/client/index.js",
        "dist/client/index.d.ts",
        "docs/openapi.json",
        ...["api", "publish", "deliver", "reconcile"].map((name) => `dist/lambda/${name}/index.mjs`),
      ]),
    );
    expect(packed.filter((path) => /^(functions|lib|test|local|bench)\//.test(path))).toEqual([]);
  });

  it("imports serverless-webhooks/cdk from a fresh project", () => {
    const script = join(project, "import.mjs");
    writeFileSync(
      script,
      'const cdk = await import("serverless-webhooks/cdk");\nconsole.log(typeof cdk.Webhooks, Object.keys(cdk).sort().join(","));\n',
    );
    const printed = execFileSync(process.execPath, [script], { cwd: project, encoding: "utf8" });
    expect(printed.trim()).toBe("function Webhooks");
  });

  it("type-checks the example app and a client user against the package's declarations", () => {
    // One tsc run over the example, a client user and two files with a wrong call: only the wrong files may fail.
    writeFileSync(
      join(project, "wrong.ts"),
      'import { Webhooks } from "serverless-webhooks/cdk";\nexport const props: ConstructorParameters<typeof Webhooks>[2] = { maxConcurrency: "many" };\n',
    );
    writeFileSync(join(project, "client-use.ts"), CLIENT_USE);
    writeFileSync(
      join(project, "client-wrong.ts"),
      'import { createClient, createWebhook } from "serverless-webhooks/client";\n' +
        'await createWebhook(createClient({ baseUrl: "https://x" }), { path: { tenantId: "a" }, body: { url: "https://x" } });\n',
    );
    let output = "";
    try {
      execFileSync(bin("tsc"), ["-p", join(project, "tsconfig.json")], { cwd: project, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    } finally {
      rmSync(join(project, "wrong.ts"));
      rmSync(join(project, "client-wrong.ts"));
    }
    expect(output).toMatch(
      /(^|\n)wrong\.ts\(2,\d+\).*maxConcurrency|(^|\n)wrong\.ts\(2,\d+\).*'string' is not assignable/s,
    );
    // The client's request types are the handlers' schemas: a webhook without eventTypes does not compile.
    expect(output).toMatch(/client-wrong\.ts\(2,\d+\).*eventTypes/s);
    expect(output).not.toContain("app.ts");
    expect(output).not.toContain("client-use.ts");
  });

  it("imports serverless-webhooks/client from a plain .mjs file, and it calls a real server", async () => {
    const server = createServer((request, response) => {
      const found = request.url === "/v1/tenants?limit=1" && request.headers.authorization === "Bearer t0k";
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
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const script = join(project, "client.mjs");
    writeFileSync(
      script,
      `import { ApiProblem, createClient, listTenants } from "serverless-webhooks/client";
const client = createClient({ baseUrl: ${JSON.stringify(baseUrl)}, auth: { type: "bearer", token: "t0k" } });
const page = await listTenants(client, { query: { limit: "1" } });
const failure = await client.call("GET /tenants/{tenantId}", { path: { tenantId: "gone" } }).catch((e) => e);
console.log(JSON.stringify({ page, problem: failure instanceof ApiProblem ? failure.problem.status : "none" }));
`,
    );
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: project });
      expect(JSON.parse(stdout)).toEqual({ page: { data: [], nextCursor: null }, problem: 404 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("the client's build imports only node built-ins and the package's declared dependencies", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    const bundle = readFileSync(
      join(project, "node_modules/serverless-webhooks/dist/client/index.js"),
      "utf8",
    );
    const specifiers = [...bundle.matchAll(/(?:from\s*|import\(\s*)["']([^"'.][^"']*)["']/g)].map((match) =>
      String(match[1]),
    );
    expect(specifiers.length).toBeGreaterThan(0);
    const packageOf = (specifier: string) =>
      specifier
        .split("/")
        .slice(0, specifier.startsWith("@") ? 2 : 1)
        .join("/");
    const undeclared = specifiers.filter(
      (specifier) =>
        !specifier.startsWith("node:") &&
        !builtinModules.includes(specifier) &&
        !declared.has(packageOf(specifier)),
    );
    expect(undeclared).toEqual([]);
  });

  it("synthesizes the examples/ app with cdk synth, its functions from the prebuilt bundles", () => {
    const out = join(project, "cdk.out");
    execFileSync(bin("cdk"), ["synth", "--quiet", "-o", out], { cwd: project, stdio: "ignore" });
    const template = JSON.parse(readFileSync(join(out, "UploadsWithWebhooks.template.json"), "utf8")) as {
      Resources: Record<
        string,
        { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
      >;
    };
    const resources = Object.values(template.Resources);
    const functions = resources.filter((resource) => resource.Type === "AWS::Lambda::Function");
    const ours = functions.filter(
      (fn) => fn.Properties.Handler === "index.handler" && fn.Properties.Runtime === "nodejs24.x",
    );
    expect(ours).toHaveLength(5);
    // Each asset is a copy of the package's prebuilt bundle (CDK stages the directory under cdk.out), with the
    // modules loaded on first use beside it: the routing modules in the four functions that fan out (not in
    // deliver), the SQS queues in deliver, api and portal, jose (jwt.mjs) in the portal.
    const files = ours.map((fn) => readdirSync(join(out, fn.Metadata?.["aws:asset:path"] ?? "")).sort());
    const lazy = ["catalogue-tools.mjs", "catalogue-tools.mjs.map", "filter.mjs", "filter.mjs.map"];
    const sqs = ["sqs-queues.mjs", "sqs-queues.mjs.map"];
    const handler = ["index.mjs", "index.mjs.map"];
    expect(files.sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()))).toEqual(
      [
        [...handler, ...sqs],
        [...lazy, ...handler],
        [...lazy, ...handler],
        [...lazy, ...handler, ...sqs],
        [...lazy, ...handler, "jwt.mjs", "jwt.mjs.map", ...sqs],
      ].map((listing) => listing.sort()),
    );
    const rules = resources.filter((resource) => resource.Type === "AWS::Events::Rule");
    expect(rules.map((rule) => rule.Properties.EventPattern)).toContainEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: { bucket: { name: [{ Ref: expect.stringMatching(/^Uploads/) }] } },
    });
    expect(resources.some((resource) => resource.Type === "AWS::ApiGateway::RestApi")).toBe(true);
  });
});
