/** The signing secret store the stack's `secretStorage` chooses; clients are built on the first call that needs one. */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "#core/shared/config.ts";
import { SealedSigningSecretStore } from "./sealed-secret-store.ts";
import { SecretsManagerSigningSecretStore, type SigningSecretStore } from "./signing-secret-store.ts";

export function signingSecretStore(
  config: Pick<Config, "secretNamePrefix" | "secretStorage" | "tableName">,
  secretsManager: () => SecretsManagerClient,
  documents: () => DynamoDBDocumentClient,
  now?: () => Date,
): SigningSecretStore {
  if (config.secretStorage === "sealed")
    return new SealedSigningSecretStore(documents, secretsManager, {
      tableName: config.tableName,
      namePrefix: config.secretNamePrefix,
      ...(now ? { now } : {}),
    });
  return new SecretsManagerSigningSecretStore(secretsManager, { namePrefix: config.secretNamePrefix });
}
