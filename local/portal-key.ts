/**
 * The portal's signing key set in the local Secrets Manager emulator, created at the first start (kept across
 * restarts in the data folder, so links printed earlier keep working), in the same shape the stack stores.
 */
import { randomBytes } from "node:crypto";
import {
  CreateSecretCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";

export async function ensurePortalKey(secretsManager: SecretsManagerClient, name: string): Promise<string> {
  try {
    await secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          current: "local-1",
          "local-1": randomBytes(32).toString("base64url"),
        }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
  }
  return name;
}
