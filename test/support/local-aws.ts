/** Per-test-file access to the shared engines: real SDK clients and a private set of tables and queues. */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { type AwsClients, createAwsClients } from "#aws/clients.ts";
import { localClientConfig } from "#local/engines.ts";
import { type ProvisionedResources, provisionResources } from "#local/provision.ts";

export function localClients(): AwsClients {
  return createAwsClients(localClientConfig(inject("engines")));
}

export function uniquePrefix(label = "t"): string {
  return `${label}${randomBytes(4).toString("hex")}`;
}

/** Creates this file's own table and queues, named with a random prefix so test files never share state. */
export async function isolatedResources(clients: AwsClients): Promise<ProvisionedResources> {
  return provisionResources(clients, uniquePrefix());
}
