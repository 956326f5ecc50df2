/**
 * `npm run emit -- events/eventbridge/<file>.json`: sends a sample EventBridge event, as another AWS service
 * would, to the running local stack's EventBridge input (publish's second entry point).
 */
import { readFileSync } from "node:fs";
import { EVENTBRIDGE_PATH } from "./paths.ts";

const file = process.argv[2];
if (!file) {
  console.error("usage: npm run emit -- events/eventbridge/<file>.json");
  process.exit(2);
}
const url = `${process.env.SW_URL ?? `http://127.0.0.1:${process.env.SW_PORT ?? 3000}`}${EVENTBRIDGE_PATH}`;
try {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: readFileSync(file, "utf8"),
  });
  console.log(`${response.status} ${await response.text()}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(
    `could not reach ${url} (${(error as Error).message}): is \`npm start\` running, on this port (SW_PORT)?`,
  );
  process.exit(1);
}
