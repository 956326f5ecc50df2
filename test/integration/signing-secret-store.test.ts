import { DescribeSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { SecretsManagerSigningSecretStore, SigningSecretNotFoundError } from "#aws/signing-secret-store.ts";
import { signedRequestHeaders } from "#core/signing/signing.ts";
import {
  rotatedVersions,
  SECRET_RECOVERY_WINDOW_DAYS,
  signingVersions,
} from "#core/signing/signing-secrets.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { localClients, uniquePrefix } from "#test/support/local-aws.ts";
import { countSdkCalls } from "#test/support/sdk-call-counter.ts";

function newStore() {
  const { secretsManager } = localClients();
  const counter = countSdkCalls(secretsManager);
  const namePrefix = `serverless-webhooks/${uniquePrefix()}/`;
  return {
    store: new SecretsManagerSigningSecretStore(secretsManager, { namePrefix }),
    secretsManager,
    counter,
    namePrefix,
  };
}

describe("signing secrets in Secrets Manager", () => {
  it("creates one secret per webhook under the name prefix and returns the value once", async () => {
    const { store, secretsManager, namePrefix } = newStore();
    const issued = await store.create("wh_1");
    expect(issued.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const stored = await secretsManager.send(new GetSecretValueCommand({ SecretId: `${namePrefix}wh_1` }));
    expect(stored).toMatchObject({
      SecretString: issued.secret,
      VersionId: issued.versionId,
      VersionStages: ["AWSCURRENT"],
    });
    expect(await store.get("wh_1", [issued.versionId])).toEqual([issued.secret]);
  });

  it("rotates with PutSecretValue: AWSCURRENT moves to the new value, AWSPREVIOUS keeps the old", async () => {
    const { store, secretsManager, namePrefix } = newStore();
    const first = await store.create("wh_2");
    const second = await store.rotate("wh_2");
    expect(second.secret).not.toBe(first.secret);
    const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: `${namePrefix}wh_2` }));
    expect(described.VersionIdsToStages).toEqual({
      [second.versionId]: ["AWSCURRENT"],
      [first.versionId]: ["AWSPREVIOUS"],
    });
    expect(await store.get("wh_2", [second.versionId, first.versionId])).toEqual([
      second.secret,
      first.secret,
    ]);
  });

  it("signs with both secrets during the grace window, so a receiver holding either one verifies", async () => {
    const { store } = newStore();
    const now = new Date();
    const first = await store.create("wh_3");
    const second = await store.rotate("wh_3");
    const versions = rotatedVersions({ secretVersion: first.versionId }, second.versionId, 86_400, now);
    const secrets = await store.get("wh_3", signingVersions(versions, now));
    const body = '{"id":"evt_1"}';
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers = signedRequestHeaders({
      eventId: "evt_1",
      eventType: "a.b",
      deliveryId: "dlv_1",
      attempt: 1,
      timestamp,
      body,
      secrets,
      scheme: "standard",
    });
    for (const receiverSecret of [first.secret, second.secret]) {
      expect(verifyWebhook({ headers, body, secrets: [receiverSecret] }).id).toBe("evt_1");
    }
  });

  it("caches by version: repeated reads cost no call, and a rotation is seen at once", async () => {
    const { store, counter } = newStore();
    const first = await store.create("wh_4");
    counter.reset();
    await Promise.all([store.get("wh_4", [first.versionId]), store.get("wh_4", [first.versionId])]);
    for (let read = 0; read < 20; read += 1) await store.get("wh_4", [first.versionId]);
    expect(counter.count("GetSecretValueCommand")).toBe(1);

    const second = await store.rotate("wh_4");
    expect(await store.get("wh_4", [second.versionId])).toEqual([second.secret]);
    expect(counter.count("GetSecretValueCommand")).toBe(2);
  });

  it("schedules deletion with a recovery window; later reads and rotations fail with a typed error naming no secret", async () => {
    const { store, counter } = newStore();
    const issued = await store.create("wh_5");
    await store.delete("wh_5");
    await store.delete("wh_5");
    const deletes = counter.inputs.filter((call) => call.name === "DeleteSecretCommand");
    expect(deletes.map((call) => call.input)).toEqual([
      expect.objectContaining({ RecoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS }),
      expect.objectContaining({ RecoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS }),
    ]);
    expect(deletes[0]?.input.ForceDeleteWithoutRecovery).toBeUndefined();
    const read = await store.get("wh_5", [issued.versionId]).catch((error: unknown) => error);
    expect(read).toBeInstanceOf(SigningSecretNotFoundError);
    expect(String(read)).not.toContain(issued.secret);
    await expect(store.rotate("wh_5")).rejects.toBeInstanceOf(SigningSecretNotFoundError);
  });

  it("never writes a secret value to a log line or an error", async () => {
    const { store } = newStore();
    const { result, output } = await captureOutput(async () => {
      const created = await store.create("wh_6");
      const rotated = await store.rotate("wh_6");
      await store.get("wh_6", [created.versionId, rotated.versionId]);
      const failures = [
        await store.get("wh_6", ["00000000-0000-0000-0000-000000000000"]).catch((error: unknown) => error),
        (() => {
          try {
            return verifyWebhook({ headers: {}, body: "", secrets: [created.secret] });
          } catch (error) {
            return error;
          }
        })(),
      ];
      return { secrets: [created.secret, rotated.secret], failures };
    });
    for (const secret of result.secrets) {
      const key = secret.slice("whsec_".length);
      expect(output).not.toContain(key);
      for (const failure of result.failures) {
        expect(String(failure)).not.toContain(key);
        expect(JSON.stringify(failure)).not.toContain(key);
        expect((failure as Error).stack ?? "").not.toContain(key);
      }
    }
  });
});
