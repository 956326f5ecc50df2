/**
 * What `npm pack` ships works in a project that is not this repository: the tarball's `serverless-webhooks/cdk`
 * export imports and type-checks from a fresh project, and the `examples/` app synthesizes there with `cdk synth`,
 * its functions built from the package's prebuilt bundles (an installed package carries no sources to bundle).
 *
 * The fresh project gets the tarball unpacked as `node_modules/serverless-webhooks` and the repository's installed
 * dependencies linked beside it: the same packages `npm install <tarball>` would fetch, without the network.
 */
import { execFileSync } from "node:child_process";
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
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
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

  it("type-checks the example app against the package's declarations", () => {
    // One tsc run over the example and a file with a wrong prop type: only the wrong file may fail.
    writeFileSync(
      join(project, "wrong.ts"),
      'import { Webhooks } from "serverless-webhooks/cdk";\nexport const props: ConstructorParameters<typeof Webhooks>[2] = { maxConcurrency: "many" };\n',
    );
    let output = "";
    try {
      execFileSync(bin("tsc"), ["-p", join(project, "tsconfig.json")], { cwd: project, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    } finally {
      rmSync(join(project, "wrong.ts"));
    }
    expect(output).toMatch(
      /wrong\.ts\(2,\d+\).*maxConcurrency|wrong\.ts\(2,\d+\).*'string' is not assignable/s,
    );
    expect(output).not.toContain("app.ts");
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
    expect(ours).toHaveLength(4);
    // Each asset is a copy of the package's prebuilt bundle (CDK stages the directory under cdk.out).
    for (const fn of ours) {
      const asset = fn.Metadata?.["aws:asset:path"] ?? "";
      expect(readdirSync(join(out, asset)).sort()).toEqual(["index.mjs", "index.mjs.map"]);
    }
    const rules = resources.filter((resource) => resource.Type === "AWS::Events::Rule");
    expect(rules.map((rule) => rule.Properties.EventPattern)).toContainEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: { bucket: { name: [{ Ref: expect.stringMatching(/^Uploads/) }] } },
    });
    expect(resources.some((resource) => resource.Type === "AWS::ApiGateway::RestApi")).toBe(true);
  });
});
