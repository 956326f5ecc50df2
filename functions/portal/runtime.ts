/**
 * The portal function's composition root: the api's without the DLQ (the same tenant routes run here, for one tenant
 * at a time) plus the portal's signing key set and the table client its revocation mark is written with. Nothing is built until a
 * request needs it; the guarded sender and metrics of the delivery path are not part of it.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SecretsManagerPortalKeyStore } from "#aws/portal-key-store.ts";
import { type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import type { Config } from "#core/shared/config.ts";
import { apiClients, type TenantRoutesRuntime, tenantRouteParts } from "#functions/api/runtime.ts";
import type { PortalConfig } from "./portal-config.ts";

export interface PortalRuntime extends TenantRoutesRuntime {
  readonly portalKeys: SecretsManagerPortalKeyStore;
  readonly documents: DynamoDBDocumentClient;
}

export function createPortalRuntime(
  config: Config,
  portal: Pick<PortalConfig, "keySecretId">,
  options: RootOptions = {},
): PortalRuntime {
  const base = rootBase(config, options);
  const clients = apiClients(config, options, base.now);
  return withParts(base, {
    ...tenantRouteParts(config, base, clients),
    portalKeys: () =>
      new SecretsManagerPortalKeyStore(clients.secretsManager(), { secretId: portal.keySecretId }),
    documents: clients.documents,
  });
}
