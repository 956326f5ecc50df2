/**
 * Calls the deployed management API with SigV4 (IAM auth), using the AWS SDK's own signer and default credential
 * chain (environment, SSO, shared config and credentials files, container and instance roles): no Python, no
 * awscurl. `scripts/api.ts` is the command line (`npm run api -- GET /tenants`).
 */
import { existsSync, readFileSync } from "node:fs";
import { Sha256 } from "@aws-crypto/sha256-js";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { SignatureV4 } from "@smithy/signature-v4";
import { z } from "zod";

export interface ApiRequest {
  readonly method: string;
  /** Path (and query) relative to the API's base URL, e.g. `/webhooks?limit=10`. */
  readonly path: string;
  readonly body?: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
}

type Credentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

export interface ApiTarget {
  /** The stack's ApiUrl output, with or without a trailing slash. */
  readonly baseUrl: string;
  /** Taken from an execute-api host name when not given. */
  readonly region?: string | undefined;
  /** Static credentials or a provider; the SDK's default chain when absent. */
  readonly credentials?: Credentials;
}

/** `https://x/v1` or `https://x/v1/` joined with `/webhooks` or `webhooks` → `https://x/v1/webhooks`. */
export function joinApiUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  const [pathname = "", query] = path.split(/\?(.*)/s, 2);
  const joined = new URL(base.href);
  joined.pathname = `${base.pathname.replace(/\/+$/, "")}/${pathname.replace(/^\/+/, "")}`;
  joined.search = query === undefined ? "" : `?${query}`;
  return joined;
}

/** `abc.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`. */
export function regionOf(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/** The signed request: what `fetch` sends, with `authorization`, `x-amz-date` (and a session token) added. */
export async function signRequest(request: ApiRequest, target: ApiTarget) {
  const url = joinApiUrl(target.baseUrl, request.path);
  const region = target.region ?? regionOf(url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region)
    throw new Error(`cannot tell the region from ${url.host}: set AWS_REGION (or use the stack's ApiUrl)`);
  const signer = new SignatureV4({
    service: "execute-api",
    region,
    credentials: target.credentials ?? fromNodeProviderChain(),
    sha256: Sha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const previous = query[name];
    query[name] = previous === undefined ? value : [...[previous].flat(), value];
  }
  const signed = await signer.sign({
    method: request.method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: {
      host: url.host,
      ...(request.body !== undefined ? { "content-type": "application/json" } : {}),
      ...request.headers,
    },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  // fetch sets host itself (to the same value); every other signed header is sent as signed.
  const { host: _host, ...headers } = signed.headers;
  return { url, region, headers };
}

export async function callApi(request: ApiRequest, target: ApiTarget) {
  const { url, headers } = await signRequest(request, target);
  const response = await fetch(url, {
    method: request.method.toUpperCase(),
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { url, status: response.status, headers: response.headers, body: await response.text() };
}

const outputsSchema = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * The API's base URL: `SW_API_URL`, or the `ApiUrl` output in the file `cdk deploy --outputs-file` wrote
 * (`cdk-outputs.json`), from the stack `ServerlessWebhooks-<stage>` when several are in it.
 */
export function resolveApiUrl(options: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly outputsFile: string;
  readonly stage?: string | undefined;
}): string {
  if (options.env.SW_API_URL) return options.env.SW_API_URL;
  if (!existsSync(options.outputsFile)) {
    throw new Error(
      `no API URL: set SW_API_URL to the stack's ApiUrl output, or deploy with --outputs-file ${options.outputsFile}`,
    );
  }
  const outputs = outputsSchema.parse(JSON.parse(readFileSync(options.outputsFile, "utf8")));
  const stacks = Object.entries(outputs).filter(
    ([name, values]) => values.ApiUrl && (!options.stage || name === `ServerlessWebhooks-${options.stage}`),
  );
  const [first, ...others] = stacks;
  if (!first || others.length > 0) {
    throw new Error(
      `${options.outputsFile} holds ${stacks.length === 0 ? "no" : "several"} stacks with an ApiUrl` +
        `${options.stage ? ` for stage ${options.stage}` : ""}: ${
          stacks.length === 0 ? "deploy first" : "pick one with --stage <stage>"
        }`,
    );
  }
  return first[1].ApiUrl as string;
}
