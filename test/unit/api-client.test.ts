/**
 * `npm run api`'s SigV4 caller (the typed client's raw request), against a real HTTP server on 127.0.0.1: the request that arrives carries a
 * SigV4 Authorization for execute-api in the right region whose signature the SDK's own verifier-side
 * computation reproduces, and the path joins onto an ApiUrl with or without a trailing slash.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, joinApiUrl, regionOf } from "../../client/index.ts";
import { resolveApiUrl } from "../../scripts/api-client.ts";

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
/** One request through the typed client's signed raw request (what `npm run api` sends). */
const callApi = (
  request: { method: string; path: string; body?: string },
  target: { baseUrl: string; region: string; credentials: Credentials },
) =>
  createClient({
    baseUrl: target.baseUrl,
    auth: { type: "iam", region: target.region, credentials: target.credentials },
  }).raw(request);

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
let server: Server;
let base: string;
const received: Received[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Recomputes the signature the way API Gateway does: from what arrived, with the caller's secret key. */
async function expectedSignature(request: Received, region: string): Promise<string> {
  const url = new URL(request.url, base);
  const signedHeaders =
    /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))?.[1]?.split(";") ?? [];
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
  const amzDate = String(request.headers["x-amz-date"]);
  const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Sha256 });
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      ...(request.body ? { body: request.body } : {}),
    },
    {
      signingDate: new Date(
        `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
      ),
    },
  );
  return /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? "none";
}

describe("the SigV4 API caller", () => {
  it("signs for execute-api in the given region, with a signature the server side reproduces", async () => {
    const body = JSON.stringify({ url: "https://hooks.example.com/in", eventTypes: ["order.*"] });
    const response = await callApi(
      { method: "POST", path: "/webhooks?limit=2&active=true", body },
      { baseUrl: `${base}/v1/`, region: "eu-west-1", credentials },
    );
    expect(response.status).toBe(200);
    const request = received.at(-1) as Received;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/webhooks?limit=2&active=true");
    expect(request.body).toBe(body);
    expect(request.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    const day = String(request.headers["x-amz-date"]).slice(0, 8);
    expect(request.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${day}/eu-west-1/execute-api/aws4_request, ` +
          "SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$",
      ),
    );
    expect(String(request.headers.authorization)).toContain("x-amz-date");
    expect(String(request.headers.authorization)).toContain(
      `Signature=${await expectedSignature(request, "eu-west-1")}`,
    );
    // A different region gives a different signature: the region really is part of it.
    expect(String(request.headers.authorization)).not.toContain(
      `Signature=${await expectedSignature(request, "us-east-1")}`,
    );
  });

  it("sends a session token when the credentials have one", async () => {
    await callApi(
      { method: "GET", path: "/dlq" },
      { baseUrl: `${base}/v1`, region: "eu-west-1", credentials: { ...credentials, sessionToken: "TOKEN" } },
    );
    expect(received.at(-1)?.headers["x-amz-security-token"]).toBe("TOKEN");
    expect(received.at(-1)?.url).toBe("/v1/dlq");
  });

  it("joins paths onto an ApiUrl with or without a trailing slash, never producing //", () => {
    for (const apiUrl of [
      "https://a1.execute-api.eu-west-1.amazonaws.com/v1",
      "https://a1.execute-api.eu-west-1.amazonaws.com/v1/",
    ])
      for (const path of ["/webhooks", "webhooks"])
        expect(joinApiUrl(apiUrl, path).href).toBe(
          "https://a1.execute-api.eu-west-1.amazonaws.com/v1/webhooks",
        );
    expect(
      joinApiUrl("https://a1.execute-api.eu-west-1.amazonaws.com/v1/", "/webhooks?event_type=order.completed")
        .href,
    ).toBe("https://a1.execute-api.eu-west-1.amazonaws.com/v1/webhooks?event_type=order.completed");
    expect(regionOf(new URL("https://a1.execute-api.eu-west-1.amazonaws.com/v1"))).toBe("eu-west-1");
    expect(regionOf(new URL("https://a1.execute-api.cn-north-1.amazonaws.com.cn/v1"))).toBe("cn-north-1");
    expect(regionOf(new URL("https://example.com/v1"))).toBeUndefined();
  });

  it("finds the ApiUrl in cdk deploy's outputs file, by stage when it holds several stacks", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-outputs-"));
    dirs.push(dir);
    const file = join(dir, "cdk-outputs.json");
    writeFileSync(
      file,
      JSON.stringify({
        "ServerlessWebhooks-dev": {
          ApiUrl: "https://dev.execute-api.eu-west-1.amazonaws.com/v1",
          TableName: "t",
        },
        "ServerlessWebhooks-prod": { ApiUrl: "https://prod.execute-api.eu-west-1.amazonaws.com/v1" },
      }),
    );
    expect(resolveApiUrl({ env: {}, outputsFile: file, stage: "prod" })).toBe(
      "https://prod.execute-api.eu-west-1.amazonaws.com/v1",
    );
    expect(() => resolveApiUrl({ env: {}, outputsFile: file })).toThrow(/--stage/);
    expect(resolveApiUrl({ env: { SW_API_URL: "https://x" }, outputsFile: file })).toBe("https://x");
    expect(() => resolveApiUrl({ env: {}, outputsFile: join(dir, "missing.json") })).toThrow(/SW_API_URL/);
  });

  /** Runs `npm run api`'s entry point against the server in this process (asynchronously: it answers here). */
  async function runApi(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, ["scripts/api.ts", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        AWS_CONFIG_FILE: "/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
        ...env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { status, stdout, stderr };
  }

  it("npm run api's entry point calls the API with credentials from the environment", async () => {
    const run = await runApi(["-H", 'If-Match: "3"', "GET", "/webhooks?limit=1"], {
      SW_API_URL: `${base}/v1/`,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain("HTTP 200");
    expect(JSON.parse(run.stdout)).toEqual({ ok: true });
    expect(received.at(-1)?.url).toBe("/v1/webhooks?limit=1");
    expect(received.at(-1)?.headers["if-match"]).toBe('"3"');
    expect(received.at(-1)?.headers.authorization).toMatch(/SignedHeaders=[^,]*if-match/);
    expect(received.at(-1)?.headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\//,
    );
  });

  it("npm run api -- --local calls the local stack on SW_PORT, unsigned, without credentials", async () => {
    const run = await runApi(
      ["--local", "POST", "/tenants/demo/webhooks", '{"url":"http://127.0.0.1:4000/"}'],
      {
        SW_PORT: new URL(base).port,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(received.at(-1)?.url).toBe("/tenants/demo/webhooks");
    expect(received.at(-1)?.headers.authorization).toBeUndefined();
  });
});
