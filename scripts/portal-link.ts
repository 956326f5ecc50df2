/**
 * `npm run portal-link -- <tenantId> [--expires <seconds>] [--capability <name>]…`: mints a customer portal
 * session on the deployed stack (a SigV4-signed `POST /tenants/{tenantId}/portal-sessions`, like `npm run api`)
 * through the typed client and prints only its link. `--local` mints on `npm start` (SW_URL, or 127.0.0.1 on
 * SW_PORT, 3000) instead.
 */
import { parseArgs } from "node:util";
import { createClient } from "../client/index.ts";
import { resolveApiUrl } from "./api-client.ts";

const USAGE =
  "usage: npm run portal-link -- [--local] [--stage <stage>] [--expires <seconds>] [--capability <name>]… <tenantId>";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: "boolean" },
      stage: { type: "string" },
      outputs: { type: "string" },
      expires: { type: "string" },
      capability: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  const [tenantId] = positionals;
  if (values.help || !tenantId || positionals.length > 1) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const body = JSON.stringify({
    ...(values.expires ? { expiresInSeconds: Number(values.expires) } : {}),
    ...(values.capability ? { capabilities: values.capability } : {}),
  });
  const path = `/tenants/${encodeURIComponent(tenantId)}/portal-sessions`;
  const baseUrl = values.local
    ? (process.env.SW_URL ?? `http://127.0.0.1:${process.env.SW_PORT ?? "3000"}`)
    : resolveApiUrl({
        env: process.env,
        outputsFile: values.outputs ?? process.env.SW_OUTPUTS_FILE ?? "cdk-outputs.json",
        stage: values.stage,
      });
  // The typed client's raw request: SigV4-signed (default credential chain) unless local.
  const client = createClient({ baseUrl, ...(values.local ? { auth: { type: "none" as const } } : {}) });
  const response = await client.raw({ method: "POST", path, body, headers: {} });
  const status = response.status;
  const text = response.body;
  if (status !== 201) {
    console.error(`HTTP ${status}: ${text}`);
    return 1;
  }
  process.stdout.write(`${(JSON.parse(text) as { url: string }).url}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
