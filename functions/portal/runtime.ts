/**
 * The portal function's composition root: the api's (the same routes run here, for one tenant at a time) plus the
 * portal's signing key set and the table client its revocation mark is written with. Nothing is built until a
 * request needs it; the guarded sender and metrics of the delivery path are not part of it.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SecretsManagerPortalKeyStore } from "#aws/portal-key-store.ts";
import { type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import type { Config } from "#core/shared/config.ts";
import { type ApiRuntime, apiClients, apiParts } from "#functions/api/runtime.ts";
import type { PortalConfig } from "./portal-config.ts";

export interface PortalRuntime extends ApiRuntime {
  readonly portalKeys: SecretsManagerPortalKeyStore;
  readonly documents: DynamoDBDocumentClient;
}

export function createPortalRuntime(
  config: Config,
  portal: Pick<PortalConfig, "keySecretId">,
  options: RootOptions = {},
): PortalRuntime {
  const base = rootBase(config, options);
  const clients = apiClients(config, options);
  return withParts(base, {
    ...apiParts(config, base, clients),
    portalKeys: () =>
      new SecretsManagerPortalKeyStore(clients.secretsManager(), { secretId: portal.keySecretId }),
    documents: clients.documents,
  });
}
