/**
 * SigV4 (IAM auth) for the API with the AWS SDK's own signer, and the default credential chain (environment,
 * SSO, shared config and credentials files, container and instance roles) when no credentials are given. Both are
 * loaded on first use, so a client that uses a portal token never loads them.
 */
import type { SignatureV4 } from "@smithy/signature-v4";

/** Static credentials or a provider of them (e.g. `fromIni({ profile })` from `@aws-sdk/credential-providers`). */
export type Credentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

export interface SignedRequestInput {
  readonly method: string;
  readonly url: URL;
  readonly body?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
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

/** The region to sign for: given, else the execute-api host's, else `AWS_REGION` / `AWS_DEFAULT_REGION`. */
export function signingRegion(url: URL, region: string | undefined): string {
  const found = region ?? regionOf(url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!found)
    throw new Error(`cannot tell the region from ${url.host}: set AWS_REGION (or use the stack's ApiUrl)`);
  return found;
}

/** The headers to send: the request's own plus `authorization`, `x-amz-date` (and a session token). */
export async function signRequest(
  request: SignedRequestInput,
  options: { readonly region?: string | undefined; readonly credentials?: Credentials | undefined },
): Promise<Record<string, string>> {
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import("@smithy/signature-v4"),
    import("@aws-crypto/sha256-js"),
  ]);
  const credentials =
    options.credentials ?? (await import("@aws-sdk/credential-providers")).fromNodeProviderChain();
  const { url } = request;
  const signer = new SignatureV4({
    service: "execute-api",
    region: signingRegion(url, options.region),
    credentials,
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
    headers: { host: url.host, ...request.headers },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  // fetch sets host itself (to the same value); every other signed header is sent as signed.
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
