/**
 * `npm run openapi`: writes `docs/openapi.json` from the zod schemas the handlers use
 * (`functions/core/contract/`). `npm run openapi -- --check` exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { openApiDocument } from "#core/contract/openapi.ts";

export const OPENAPI_PATH = new URL("../docs/openapi.json", import.meta.url);

export const renderOpenApi = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (import.meta.main) {
  const rendered = renderOpenApi();
  if (process.argv.includes("--check")) {
    const current = readFileSync(OPENAPI_PATH, "utf8");
    if (current !== rendered) {
      console.error("docs/openapi.json is out of date: run npm run openapi");
      process.exit(1);
    }
  } else {
    writeFileSync(OPENAPI_PATH, rendered);
    console.error("wrote docs/openapi.json");
  }
}
