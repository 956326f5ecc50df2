/**
 * `npm run api -- <METHOD> <path> [body]`: one SigV4-signed request to the deployed management API.
 *
 *   npm run api -- GET /tenants
 *   npm run api -- POST /tenants/acme/webhooks '{"url":"https://hooks.example.com/in","eventTypes":["order.*"]}'
 *   npm run api -- POST /dlq/redrive @redrive.json          (a body from a file)
 *   npm run api -- --stage prod GET /dlq                    (pick a stack in cdk-outputs.json)
 *   npm run api -- -H 'If-Match: "1"' PATCH /tenants/acme/webhooks/wh_… '{"active":false}'   (extra headers, signed too)
 *   npm run api -- --local GET /tenants/demo/webhooks       (the local stack of `npm start`: no IAM there)
 *
 * The base URL is SW_API_URL, or the ApiUrl output in cdk-outputs.json (`cdk deploy --outputs-file
 * cdk-outputs.json`; SW_OUTPUTS_FILE or --outputs to use another file). Credentials come from the AWS SDK's
 * default chain (AWS_PROFILE, SSO, environment, …); the region from the URL. Prints the response body to stdout
 * and `HTTP <status>` to stderr; exits 1 on a 4xx or 5xx. The requests go through the typed client
 * (`serverless-webhooks/client`, docs/client.md); use it directly from code.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createClient } from "../client/index.ts";
import { resolveApiUrl } from "./api-client.ts";

const USAGE =
  "usage: npm run api -- [--local | --stage <stage> | --outputs <file>] [-H 'Name: value']… <METHOD> <path> [<json> | @<file>]";

/** The local stack's API (`npm start`): SW_URL, else 127.0.0.1 on SW_PORT (3000), as `npm run emit` finds it. */
const localUrl = (env: NodeJS.ProcessEnv) => env.SW_URL ?? `http://127.0.0.1:${env.SW_PORT ?? "3000"}`;

/** `-H 'If-Match: "1"'` → ["if-match", '"1"']. */
function header(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon < 1) throw new Error(`a header is "Name: value", not "${text}"`);
  return [text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim()];
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: "boolean" },
      stage: { type: "string" },
      outputs: { type: "string" },
      header: { type: "string", short: "H", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  const [method, path, rawBody] = positionals;
  if (values.help || !method || !path || positionals.length > 3) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const body = rawBody?.startsWith("@") ? readFileSync(rawBody.slice(1), "utf8") : rawBody;
  const baseUrl = values.local
    ? localUrl(process.env)
    : resolveApiUrl({
        env: process.env,
        outputsFile: values.outputs ?? process.env.SW_OUTPUTS_FILE ?? "cdk-outputs.json",
        stage: values.stage,
      });
  const headers = Object.fromEntries((values.header ?? []).map(header));
  // The typed client's raw request: signed (default credential chain) unless local, retried only where safe.
  const client = createClient({ baseUrl, ...(values.local ? { auth: { type: "none" as const } } : {}) });
  const response = await client.raw({ method, path, body, headers });
  console.error(`HTTP ${response.status} ${response.url.href}`);
  let text = response.body;
  try {
    text = JSON.stringify(JSON.parse(response.body), null, 2);
  } catch {
    // Not JSON (an empty 204, or a gateway's plain text): print it as it came.
  }
  if (text !== "") process.stdout.write(`${text}\n`);
  return response.status >= 400 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
