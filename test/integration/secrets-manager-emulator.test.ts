import { randomUUID } from "node:crypto";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  type SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "#aws/clients.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "#local/engines.ts";
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from "#local/secrets-manager-emulator.ts";
import { localClients, uniquePrefix } from "#test/support/local-aws.ts";

const { secretsManager } = localClients();
const newName = () => `webhooks/${uniquePrefix("s")}`;

async function rejection(promise: Promise<unknown>): Promise<SecretsManagerServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as SecretsManagerServiceException;
  }
  throw new Error("expected the call to be rejected");
}

describe("Secrets Manager emulator through the real SDK client", () => {
  it("creates a secret and reads it back by name and by ARN", async () => {
    const Name = newName();
    const created = await secretsManager.send(
      new CreateSecretCommand({ Name, SecretString: "whsec_one", Description: "signing secret" }),
    );
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:${LOCAL_REGION}:\\d{12}:secret:${Name}-[0-9a-f]{6}$`),
    );
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);

    const byName = await secretsManager.send(new GetSecretValueCommand({ SecretId: Name }));
    expect(byName).toMatchObject({
      Name,
      SecretString: "whsec_one",
      VersionId: created.VersionId,
      VersionStages: ["AWSCURRENT"],
    });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    const byArn = await secretsManager.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.SecretString).toBe("whsec_one");
  });

  it("uses ClientRequestToken as the version id and round-trips binary secrets", async () => {
    const token = randomUUID();
    const Name = newName();
    const created = await secretsManager.send(
      new CreateSecretCommand({
        Name,
        SecretBinary: new Uint8Array([0, 1, 2, 255]),
        ClientRequestToken: token,
      }),
    );
    expect(created.VersionId).toBe(token);
    const got = await secretsManager.send(new GetSecretValueCommand({ SecretId: Name }));
    expect([...(got.SecretBinary ?? [])]).toEqual([0, 1, 2, 255]);
    expect(got.SecretString).toBeUndefined();
  });

  it("PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the old one", async () => {
    const Name = newName();
    const v1 = await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "first" }));
    const v2 = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: Name, SecretString: "second" }),
    );
    expect(v2.VersionStages).toEqual(["AWSCURRENT"]);

    const current = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: Name, VersionStage: "AWSCURRENT" }),
    );
    const previous = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: Name, VersionStage: "AWSPREVIOUS" }),
    );
    expect(current).toMatchObject({ SecretString: "second", VersionId: v2.VersionId });
    expect(previous).toMatchObject({
      SecretString: "first",
      VersionId: v1.VersionId,
      VersionStages: ["AWSPREVIOUS"],
    });

    const v3 = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: Name, SecretString: "third" }),
    );
    const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: Name }));
    expect(described.VersionIdsToStages).toEqual({
      [v3.VersionId as string]: ["AWSCURRENT"],
      [v2.VersionId as string]: ["AWSPREVIOUS"],
    });
    const byVersion = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: Name, VersionId: v1.VersionId }),
    );
    expect(byVersion.SecretString).toBe("first");
    expect(byVersion.VersionStages).toEqual([]);
  });

  it("PutSecretValue is idempotent for a repeated token and refuses a changed value under the same token", async () => {
    const Name = newName();
    await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "a" }));
    const token = randomUUID();
    const first = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: Name, SecretString: "b", ClientRequestToken: token }),
    );
    const repeat = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: Name, SecretString: "b", ClientRequestToken: token }),
    );
    expect(repeat.VersionId).toBe(first.VersionId);
    const changed = await rejection(
      secretsManager.send(
        new PutSecretValueCommand({ SecretId: Name, SecretString: "c", ClientRequestToken: token }),
      ),
    );
    expect(changed).toBeInstanceOf(ResourceExistsException);
  });

  it("UpdateSecretVersionStage moves a label, requiring RemoveFromVersionId for an attached one", async () => {
    const Name = newName();
    const v1 = await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "one" }));
    const v2 = await secretsManager.send(new PutSecretValueCommand({ SecretId: Name, SecretString: "two" }));

    const missingRemove = await rejection(
      secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: Name,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: v1.VersionId,
        }),
      ),
    );
    expect(missingRemove).toBeInstanceOf(InvalidParameterException);

    await secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: Name,
        VersionStage: "AWSCURRENT",
        MoveToVersionId: v1.VersionId,
        RemoveFromVersionId: v2.VersionId,
      }),
    );
    const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: Name }));
    expect(current.SecretString).toBe("one");
    const previous = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: Name, VersionStage: "AWSPREVIOUS" }),
    );
    expect(previous.SecretString).toBe("two");

    await secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: Name,
        VersionStage: "AWSPREVIOUS",
        RemoveFromVersionId: v2.VersionId,
      }),
    );
    const gone = await rejection(
      secretsManager.send(new GetSecretValueCommand({ SecretId: Name, VersionStage: "AWSPREVIOUS" })),
    );
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
  });

  it("DeleteSecret with a recovery window hides the value, keeps the description, and can be restored", async () => {
    const Name = newName();
    await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "keep" }));
    const deleted = await secretsManager.send(
      new DeleteSecretCommand({ SecretId: Name, RecoveryWindowInDays: 7 }),
    );
    expect(deleted.DeletionDate?.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    const read = await rejection(secretsManager.send(new GetSecretValueCommand({ SecretId: Name })));
    expect(read).toBeInstanceOf(InvalidRequestException);
    expect(read.message).toMatch(/marked for deletion/);
    const recreate = await rejection(
      secretsManager.send(new CreateSecretCommand({ Name, SecretString: "x" })),
    );
    expect(recreate).toBeInstanceOf(InvalidRequestException);
    const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: Name }));
    expect(described.DeletedDate).toBeInstanceOf(Date);

    await secretsManager.send(new RestoreSecretCommand({ SecretId: Name }));
    const restored = await secretsManager.send(new GetSecretValueCommand({ SecretId: Name }));
    expect(restored.SecretString).toBe("keep");
  });

  it("DeleteSecret with ForceDeleteWithoutRecovery removes the secret at once, freeing its name", async () => {
    const Name = newName();
    await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "gone" }));
    await secretsManager.send(new DeleteSecretCommand({ SecretId: Name, ForceDeleteWithoutRecovery: true }));
    const read = await rejection(secretsManager.send(new DescribeSecretCommand({ SecretId: Name })));
    expect(read).toBeInstanceOf(ResourceNotFoundException);
    const recreated = await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "again" }));
    expect(recreated.Name).toBe(Name);
  });

  it("answers with AWS-shaped errors and HTTP 400", async () => {
    const missing = await rejection(secretsManager.send(new GetSecretValueCommand({ SecretId: newName() })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(missing.message).toBe("Secrets Manager can't find the specified secret.");

    const Name = newName();
    await secretsManager.send(new CreateSecretCommand({ Name, SecretString: "x" }));
    const duplicate = await rejection(
      secretsManager.send(new CreateSecretCommand({ Name, SecretString: "y" })),
    );
    expect(duplicate).toBeInstanceOf(ResourceExistsException);
    expect(duplicate.$metadata.httpStatusCode).toBe(400);

    const both = await rejection(
      secretsManager.send(
        new DeleteSecretCommand({
          SecretId: Name,
          ForceDeleteWithoutRecovery: true,
          RecoveryWindowInDays: 7,
        }),
      ),
    );
    expect(both).toBeInstanceOf(InvalidParameterException);
    const window = await rejection(
      secretsManager.send(new DeleteSecretCommand({ SecretId: Name, RecoveryWindowInDays: 3 })),
    );
    expect(window).toBeInstanceOf(InvalidParameterException);
    const badName = await rejection(
      secretsManager.send(new CreateSecretCommand({ Name: "has space", SecretString: "x" })),
    );
    expect(badName).toBeInstanceOf(InvalidParameterException);
  });
});

describe("Secrets Manager emulator recovery window", () => {
  let now = Date.parse("2026-11-28T12:00:00Z");
  let emulator: SecretsManagerEmulator;

  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator({ clock: () => now });
  });
  afterAll(() => emulator.stop());

  it("purges a deleted secret once its recovery window has passed", async () => {
    const { secretsManager: client } = createAwsClients({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoints: { secretsManager: emulator.endpoint },
    });
    await client.send(new CreateSecretCommand({ Name: "expiring", SecretString: "x" }));
    await client.send(new DeleteSecretCommand({ SecretId: "expiring", RecoveryWindowInDays: 7 }));
    now += 7 * 86_400_000 - 1000;
    expect(
      (await client.send(new DescribeSecretCommand({ SecretId: "expiring" }))).DeletedDate,
    ).toBeInstanceOf(Date);
    now += 2000;
    expect(await rejection(client.send(new DescribeSecretCommand({ SecretId: "expiring" })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe("Secrets Manager emulator persistence (local mode)", () => {
  it("keeps secrets, versions and stages across a restart", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "sm-"));
    const persistPath = join(dir, "secrets.json");
    const clientFor = (endpoint: string) =>
      createAwsClients({
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        endpoints: { secretsManager: endpoint },
      }).secretsManager;
    const first = await startSecretsManagerEmulator({ persistPath });
    await clientFor(first.endpoint).send(new CreateSecretCommand({ Name: "kept", SecretString: "one" }));
    const v2 = await clientFor(first.endpoint).send(
      new PutSecretValueCommand({ SecretId: "kept", SecretString: "two" }),
    );
    await first.stop();

    const second = await startSecretsManagerEmulator({ persistPath });
    const client = clientFor(second.endpoint);
    expect(await client.send(new GetSecretValueCommand({ SecretId: "kept" }))).toMatchObject({
      SecretString: "two",
      VersionId: v2.VersionId,
    });
    expect(
      (await client.send(new GetSecretValueCommand({ SecretId: "kept", VersionStage: "AWSPREVIOUS" })))
        .SecretString,
    ).toBe("one");
    await second.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
