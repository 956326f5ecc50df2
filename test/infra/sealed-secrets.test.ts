/**
 * `secretStorage: "sealed"`: one key-encryption key under the stack's secret prefix (kept when the stack goes),
 * every function told the storage, and the api's grants trade creating and deleting secrets for reading the key
 * and checking a condition in the table. The default stack has no such key.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readable, removeSynthOutput, synthesize } from "#test/support/synth.ts";

afterAll(removeSynthOutput);

type Statement = { Action: string | string[]; Effect: string };
const policyActions = (
  resources: [string, { Type: string; Properties?: Record<string, unknown> }][],
  role: string,
) =>
  resources
    .filter(([id, resource]) => resource.Type === "AWS::IAM::Policy" && id.startsWith(role))
    .flatMap(([, resource]) => {
      const document = resource.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined;
      return (document?.Statement ?? [])
        .filter((statement) => statement.Effect === "Allow")
        .flatMap((statement) => [statement.Action].flat());
    });

describe("sealed secret storage in the stack", () => {
  const sealed = synthesize({ secretStorage: "sealed" });
  const plain = synthesize();

  it("synthesizes with cdk-nag clean", () => {
    expect(sealed.error).toBeUndefined();
  });

  it("creates one retained key-encryption key named under the secret prefix, only when sealed", () => {
    // The stack's other secret is the portal's key set.
    const secrets = (synth: typeof sealed) =>
      synth.resources.filter(
        ([id, resource]) =>
          resource.Type === "AWS::SecretsManager::Secret" && !id.startsWith("CustomerPortal"),
      );
    expect(secrets(plain)).toHaveLength(0);
    const [[id, kek] = ["", { Type: "" }]] = secrets(sealed);
    expect(readable(kek.Properties?.Name)).toMatch(/^serverless-webhooks\/.+\/key-encryption-key$/);
    expect(kek.Properties?.GenerateSecretString).toMatchObject({
      PasswordLength: 64,
      ExcludePunctuation: true,
    });
    const template = sealed.template?.toJSON() as { Resources: Record<string, { DeletionPolicy?: string }> };
    expect(template.Resources[id]?.DeletionPolicy).toBe("Retain");
  });

  it("tells every function the storage", () => {
    const functions = sealed.resources.filter(([, resource]) => resource.Type === "AWS::Lambda::Function");
    const storages = functions
      .map(
        ([, resource]) =>
          (resource.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables,
      )
      .filter((variables) => variables?.TABLE_NAME !== undefined)
      .map((variables) => variables?.SECRET_STORAGE);
    expect(storages).toEqual(["sealed", "sealed", "sealed", "sealed", "sealed"]);
  });

  it("grants the api reading the key and a condition check, and no longer creating or deleting secrets", () => {
    const api = policyActions(sealed.resources, "ApiRoleDefaultPolicy");
    expect(api).toContain("secretsmanager:GetSecretValue");
    expect(api).toContain("dynamodb:ConditionCheckItem");
    for (const action of [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:PutSecretValue",
    ])
      expect(api).not.toContain(action);
    const plainApi = policyActions(plain.resources, "ApiRoleDefaultPolicy");
    expect(plainApi).toContain("secretsmanager:CreateSecret");
    expect(plainApi).not.toContain("secretsmanager:GetSecretValue");
  });
});
