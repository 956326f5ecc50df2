/**
 * How every Lambda bundle is built, in one place: CDK's NodejsFunction bundles from source when the sources are
 * there (this repository), and the package build (`scripts/build-package.ts`) prebuilds the same bundles for
 * users of `serverless-webhooks/cdk`, whose installed package carries no sources to bundle.
 */
import { existsSync } from "node:fs";

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
  alias: { "@aws-sdk/credential-provider-node": `${PACKAGE_ROOT}functions/aws/lambda-credentials.ts` },
} as const;

/** `functions/api/handler.ts` → `api`: the folder of a Lambda's entry, and the name of its prebuilt bundle. */
export const lambdaName = (entry: string) => entry.split("/").at(-2) ?? entry;

/** Where the package build puts a Lambda's prebuilt bundle (`index.mjs` and its source map). */
export const prebuiltLambdaDir = (name: string) => `${PACKAGE_ROOT}dist/lambda/${name}`;

/** Sources win when present, so this repository always bundles what it has; an installed package has only the prebuilt. */
export const hasSources = (entry: string) => existsSync(`${PACKAGE_ROOT}${entry}`);
