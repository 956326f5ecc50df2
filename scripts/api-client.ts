/**
 * Where the deployed API is: `resolveApiUrl` reads `SW_API_URL` or cdk deploy's outputs file. The requests
 * themselves go through the typed client (`client/`, `serverless-webhooks/client`), which signs them.
 */
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";

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
