/**
 * Builds what `npm pack` ships (run by `prepack`): each public entry as one ESM file with its declarations, and
 * the Lambda bundles prebuilt, so an installed package needs neither our sources nor esbuild. Output: `dist/`.
 *
 *   dist/cdk/index.js, index.d.ts   `serverless-webhooks/cdk` (the `Webhooks` construct)
 *   dist/client/index.js, index.d.ts `serverless-webhooks/client` (the typed API client, docs/client.md)
 *   dist/lambda/<name>/index.mjs    each function's bundle, as CDK's NodejsFunction builds it from source
 *   dist/portal-page/               the customer portal's built page (docs/portal.md)
 *   dist/types/…                    declarations the entries' index.d.ts re-export
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { build } from "esbuild";
import {
  LAMBDA_BUNDLING,
  lazyBundleName,
  lazyModulesOf,
  PACKAGE_ROOT,
  prebuiltPortalPageDir,
} from "../lib/constructs/lambda-bundling.ts";
import { writePortalPage } from "../portal/build.ts";

/** Public entries: subpath export name → source module. */
export const PACKAGE_ENTRIES = { cdk: "lib/webhooks.ts", client: "client/index.ts" } as const;

const root = PACKAGE_ROOT;
const dist = join(root, "dist");

async function buildLambdas(): Promise<void> {
  const names = readdirSync(join(root, "functions"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) => readdirSync(join(root, "functions", name)).includes("handler.ts"));
  for (const name of names) {
    const bundles = [
      { entry: join(root, "functions", name, "handler.ts"), file: "index.mjs" },
      ...lazyModulesOf(name).map((module) => ({ entry: join(root, module), file: lazyBundleName(module) })),
    ];
    for (const { entry, file } of bundles)
      await build({
        entryPoints: [entry],
        outfile: join(dist, "lambda", name, file),
        bundle: true,
        ...LAMBDA_BUNDLING,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        banner: { js: LAMBDA_BUNDLING.banner },
        alias: { ...LAMBDA_BUNDLING.alias },
        logLevel: "error",
      });
  }
}

async function buildEntries(): Promise<void> {
  for (const [name, source] of Object.entries(PACKAGE_ENTRIES)) {
    await build({
      entryPoints: [join(root, source)],
      outfile: join(dist, name, "index.js"),
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node22",
      packages: "external",
      logLevel: "error",
    });
  }
}

/** Declarations by tsc; `.ts` specifiers and the package's `#…` imports rewritten so any TypeScript resolves them. */
function buildDeclarations(): void {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.package.json")], {
    stdio: "inherit",
  });
  const imports = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).imports as Record<
    string,
    string
  >;
  const types = join(dist, "types");
  const visit = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? visit(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  for (const file of visit(types).filter((path) => path.endsWith(".d.ts"))) {
    const text = readFileSync(file, "utf8").replace(
      /(from\s+|import\()"([^"]+)"/g,
      (whole, before, specifier) => {
        let target = specifier as string;
        for (const [pattern, mapped] of Object.entries(imports)) {
          const prefix = pattern.replace("*", "");
          if (target.startsWith(prefix)) {
            const absolute = join(types, mapped.replace("*", target.slice(prefix.length)));
            target = relative(dirname(file), absolute);
            if (!target.startsWith(".")) target = `./${target}`;
          }
        }
        if (!target.startsWith(".")) return whole;
        return `${before}"${target.replace(/\.ts$/, ".js")}"`;
      },
    );
    writeFileSync(file, text);
  }
  for (const [name, source] of Object.entries(PACKAGE_ENTRIES)) {
    const declaration = relative(join(dist, name), join(types, source)).replace(/\.ts$/, ".js");
    writeFileSync(join(dist, name, "index.d.ts"), `export * from "${declaration}";\n`);
  }
}

rmSync(dist, { recursive: true, force: true });
await buildLambdas();
writePortalPage(prebuiltPortalPageDir);
await buildEntries();
buildDeclarations();
