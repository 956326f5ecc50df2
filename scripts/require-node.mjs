// Runs before the npm scripts that execute TypeScript directly, and from `scripts/use-node.sh` (with --quiet) to
// decide whether to fetch Node 24. Exits 1 on a Node that cannot run the project's `.ts` files.
import { MINIMUM_DESCRIPTION, supportsTypeStripping } from "./node-version.mjs";

if (!supportsTypeStripping(process.versions.node)) {
  if (!process.argv.includes("--quiet")) {
    console.error(
      `Serverless Webhooks needs ${MINIMUM_DESCRIPTION}: it runs its TypeScript files directly, and earlier ` +
        `releases cannot (this is ${process.version}).\n` +
        "Install Node 24 from https://nodejs.org, or run `source scripts/use-node.sh` in this shell first: it " +
        "fetches Node 24 from the npm registry.",
    );
  }
  process.exit(1);
}
