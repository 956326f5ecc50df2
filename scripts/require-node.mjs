// Runs before the npm scripts that execute TypeScript directly: Node >= 22 strips types natively, older Node cannot.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `Serverless Webhooks needs Node.js 22 or newer (this is ${process.version}).\n` +
      "Install Node 24 from https://nodejs.org, or run `source scripts/use-node.sh` in this shell first: it fetches Node 24 from the npm registry.",
  );
  process.exit(1);
}
