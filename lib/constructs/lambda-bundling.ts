/**
 * How every Lambda bundle is built, in one place: CDK's NodejsFunction bundles from source when the sources are
 * there (this repository), and the package build (`scripts/build-package.ts`) prebuilds the same bundles for
 * users of `serverless-webhooks/cdk`, whose installed package carries no sources to bundle.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { SQS_QUEUES_MODULE } from "#aws/sqs-on-first-call.ts";
import { JWT_MODULE } from "#core/portal/portal-tokens.ts";
import { LAZY_MODULES } from "#core/routing/lazy-modules.ts";

/** The package root: this file sits two levels below it, in `lib/constructs/` or (built) in `dist/cdk/`. */
export const PACKAGE_ROOT = new URL("../..", import.meta.url).pathname;

export const LAMBDA_BUNDLING = {
  target: "node24",
  format: "esm",
  platform: "node",
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ["module", "main"],
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  // Lambda always provides credentials in the environment; the default chain's SSO/STS/ini providers weigh ~140 KB.
  // and no API the functions call streams events, so the SDK's event-stream codec (~9 KB) is left out too.
  alias: {
    "@aws-sdk/credential-provider-node": `${PACKAGE_ROOT}functions/aws/lambda-credentials.ts`,
    "@smithy/core/event-streams": `${PACKAGE_ROOT}functions/aws/no-event-streams.ts`,
  },
} as const;

/** `functions/api/handler.ts` → `api`: the folder of a Lambda's entry, and the name of its prebuilt bundle. */
export const lambdaName = (entry: string) => entry.split("/").at(-2) ?? entry;

/** Where the package build puts a Lambda's prebuilt bundle (`index.mjs` and its source map). */
export const prebuiltLambdaDir = (name: string) => `${PACKAGE_ROOT}dist/lambda/${name}`;

/** Where the package build puts the customer portal's built page (index.html, app.js, styles.css). */
export const prebuiltPortalPageDir = `${PACKAGE_ROOT}dist/portal-page`;

/** Sources win when present, so this repository always bundles what it has; an installed package has only the prebuilt. */
export const hasSources = (entry: string) => existsSync(`${PACKAGE_ROOT}${entry}`);

/**
 * Modules a Lambda imports on first use (`functions/core/routing/lazy-modules.ts`), by Lambda name: each is built
 * with the same options as a separate `<module>.mjs` beside the handler's `index.mjs`, off its cold start.
 * Every function that fans out (api's and portal's test events, publish, reconcile) or manages routing has the
 * routing modules.
 */
const LAZY_MODULES_OF: Readonly<Record<string, readonly string[]>> = {
  // The SQS queues and client (\`functions/aws/sqs-queues.ts\`), which only test events, recoveries and the DLQ
  // routes call in api and portal, and only a retry or a dead letter in deliver.
  api: [...LAZY_MODULES, SQS_QUEUES_MODULE],
  publish: LAZY_MODULES,
  deliver: [SQS_QUEUES_MODULE],
  reconcile: LAZY_MODULES,
  // The management routes the portal shares (test events fan out, webhooks are checked against the catalogue), and
  // jose, which its first call loads to check the token.
  portal: [...LAZY_MODULES, JWT_MODULE, SQS_QUEUES_MODULE],
};

export const lazyModulesOf = (name: string): readonly string[] => LAZY_MODULES_OF[name] ?? [];

/** `functions/core/routing/filter.ts` → `filter.mjs` */
export const lazyBundleName = (module: string) => basename(module).replace(/\.ts$/, ".mjs");

/** esbuild's command-line flags for `LAMBDA_BUNDLING` (CDK's bundling hooks run shell commands). */
export function esbuildCommand(entry: string, outfile: string): string {
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  return [
    quote(`${PACKAGE_ROOT}node_modules/.bin/esbuild`),
    quote(entry),
    "--bundle",
    `--platform=${LAMBDA_BUNDLING.platform}`,
    `--format=${LAMBDA_BUNDLING.format}`,
    `--target=${LAMBDA_BUNDLING.target}`,
    "--minify",
    "--sourcemap",
    "--sources-content=false",
    `--main-fields=${LAMBDA_BUNDLING.mainFields.join(",")}`,
    quote(`--banner:js=${LAMBDA_BUNDLING.banner}`),
    ...Object.entries(LAMBDA_BUNDLING.alias).map(([module, path]) => quote(`--alias:${module}=${path}`)),
    "--log-level=warning",
    quote(`--outfile=${outfile}`),
  ].join(" ");
}
