/**
 * The signing secret store's contract, run against both stores the stack can choose (`secretStorage`): one
 * Secrets Manager secret per webhook, and secrets sealed in the table under one key-encryption key. Then what is
 * particular to each.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from "@aws-sdk/client-secrets-manager";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "#aws/clients.ts";
import { SealedSigningSecretStore } from "#aws/sealed-secret-store.ts";
import {
  SecretsManagerSigningSecretStore,
  SigningSecretNotFoundError,
  type SigningSecretStore,
} from "#aws/signing-secret-store.ts";
import { keys } from "#aws/table-keys.ts";
import { KEK_SECRET_SUFFIX } from "#core/shared/resource-definitions.ts";
import { signedRequestHeaders } from "#core/signing/signing.ts";
import {
  rotatedVersions,
  SECRET_RECOVERY_WINDOW_DAYS,
  signingVersions,
} from "#core/signing/signing-secrets.ts";
import { verifyWebhook } from "#core/signing/webhook-verifier.ts";
import { provisionKeyEncryptionKey } from "#local/provision.ts";
import { captureOutput } from "#test/support/capture-output.ts";
import { isolatedResources, localClients, uniquePrefix } from "#test/support/local-aws.ts";
import { countSdkCalls, type SdkCallCounter } from "#test/support/sdk-call-counter.ts";

interface StoreUnderTest {
  readonly store: SigningSecretStore;
  readonly clients: AwsClients;
  readonly counter: SdkCallCounter;
  readonly namePrefix: string;
}

let tableName: string;
beforeAll(async () => {
  tableName = (await isolatedResources(localClients())).tableName;
});

function newSecretsManagerStore(): StoreUnderTest {
  const clients = localClients();
  const counter = countSdkCalls(clients.secretsManager, clients.dynamodb);
  const namePrefix = `serverless-webhooks/${uniquePrefix()}/`;
  return {
    store: new SecretsManagerSigningSecretStore(clients.secretsManager, { namePrefix }),
    clients,
    counter,
    namePrefix,
  };
}

interface SealedUnderTest extends StoreUnderTest {
  readonly store: SealedSigningSecretStore;
}

/** A sealed store with a key of its own; `over` gives a fresh one (another container) on the same key and table. */
async function newSealedStore(
  options: { currentKeyTtlMs?: number } = {},
  over?: StoreUnderTest,
): Promise<SealedUnderTest> {
  const clients = localClients();
  const counter = countSdkCalls(clients.secretsManager, clients.dynamodb);
  const namePrefix = over?.namePrefix ?? `serverless-webhooks/${uniquePrefix()}/`;
  if (!over) await provisionKeyEncryptionKey(clients.secretsManager, namePrefix);
  counter.reset();
  return {
    store: new SealedSigningSecretStore(
      () => clients.documents,
      () => clients.secretsManager,
      { tableName, namePrefix, ...options },
    ),
    clients,
    counter,
    namePrefix,
  };
}

const stores: [string, () => Promise<StoreUnderTest>, string][] = [
  ["Secrets Manager (one secret per webhook)", async () => newSecretsManagerStore(), "GetSecretValueCommand"],
  ["sealed in the table (one key-encryption key)", () => newSealedStore(), "GetItemCommand"],
];

describe.each(stores)("signing secret store contract: %s", (_name, newStore, readCall) => {
  it("creates a secret per webhook and returns its value once; reading its version gives it back", async () => {
    const { store } = await newStore();
    const issued = await store.create("t_1/wh_1");
    expect(issued.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await store.get("t_1/wh_1", [issued.versionId])).toEqual([issued.secret]);
  });

  it("rotates to a new value with a new version; both versions stay readable", async () => {
    const { store } = await newStore();
    const first = await store.create("t_1/wh_2");
    const second = await store.rotate("t_1/wh_2");
    expect(second.secret).not.toBe(first.secret);
    expect(second.versionId).not.toBe(first.versionId);
    expect(await store.get("t_1/wh_2", [second.versionId, first.versionId])).toEqual([
      second.secret,
      first.secret,
    ]);
  });

  it("keeps webhooks apart: one webhook's version is not another's", async () => {
    const { store } = await newStore();
    const one = await store.create("t_1/wh_a");
    await store.create("t_2/wh_a");
    const read = await store.get("t_2/wh_a", [one.versionId]).catch((error: unknown) => error);
    expect(read).toBeInstanceOf(SigningSecretNotFoundError);
  });

  it("signs with both secrets during the grace window, so a receiver holding either one verifies", async () => {
    const { store } = await newStore();
    const now = new Date();
    const first = await store.create("t_1/wh_3");
    const second = await store.rotate("t_1/wh_3");
    const versions = rotatedVersions({ secretVersion: first.versionId }, second.versionId, 86_400, now);
    const secrets = await store.get("t_1/wh_3", signingVersions(versions, now));
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
    const { store, counter } = await newStore();
    const first = await store.create("t_1/wh_4");
    await store.get("t_1/wh_4", [first.versionId]);
    counter.reset();
    await Promise.all([store.get("t_1/wh_4", [first.versionId]), store.get("t_1/wh_4", [first.versionId])]);
    for (let read = 0; read < 20; read += 1) await store.get("t_1/wh_4", [first.versionId]);
    expect(counter.count(readCall)).toBe(0);

    const second = await store.rotate("t_1/wh_4");
    counter.reset();
    expect(await store.get("t_1/wh_4", [second.versionId])).toEqual([second.secret]);
    expect(counter.count(readCall)).toBe(1);
  });

  it("after a delete (repeatable), reads and rotations fail with a typed error naming no secret", async () => {
    const { store } = await newStore();
    const issued = await store.create("t_1/wh_5");
    await store.delete("t_1/wh_5");
    await store.delete("t_1/wh_5");
    const read = await store.get("t_1/wh_5", [issued.versionId]).catch((error: unknown) => error);
    expect(read).toBeInstanceOf(SigningSecretNotFoundError);
    expect(String(read)).not.toContain(issued.secret.slice(6));
    await expect(store.rotate("t_1/wh_5")).rejects.toBeInstanceOf(SigningSecretNotFoundError);
  });

  it("never writes a secret value to a log line or an error", async () => {
    const { store } = await newStore();
    const { result, output } = await captureOutput(async () => {
      const created = await store.create("t_1/wh_6");
      const rotated = await store.rotate("t_1/wh_6");
      await store.get("t_1/wh_6", [created.versionId, rotated.versionId]);
      const failures = [
        await store
          .get("t_1/wh_6", ["00000000-0000-0000-0000-000000000000"])
          .catch((error: unknown) => error),
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

describe("signing secrets in Secrets Manager: what is particular to it", () => {
  const newStore = newSecretsManagerStore;
  it("creates one secret per webhook under the name prefix and returns the value once", async () => {
    const { store, clients, namePrefix } = newStore();
    const { secretsManager } = clients;
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
    const { store, clients, namePrefix } = newStore();
    const { secretsManager } = clients;
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
});

describe("sealed signing secrets: what is particular to them", () => {
  it("stores only ciphertext, with the key version that sealed it; the value is nowhere in the item", async () => {
    const { store, clients } = await newSealedStore();
    const issued = await store.create("t_1/wh_s1");
    const { Item } = await clients.documents.send(
      new GetCommand({ TableName: tableName, Key: keys.sealedSecret("t_1/wh_s1", issued.versionId) }),
    );
    expect(Item).toMatchObject({ format: "v1", keyVersion: expect.any(String), iv: expect.any(String) });
    const serialized = JSON.stringify(Item);
    expect(serialized).not.toContain(issued.secret.slice(6));
    expect(serialized).not.toContain(Buffer.from(issued.secret.slice(6), "base64").toString("hex"));
  });

  it("binds tenant, webhook and version: a ciphertext copied to another owner or version does not open", async () => {
    const sut = await newSealedStore();
    const { store, clients } = sut;
    const issued = await store.create("t_1/wh_s2");
    const other = await store.create("t_2/wh_s2");
    const second = await store.rotate("t_1/wh_s2");
    const { Item } = await clients.documents.send(
      new GetCommand({ TableName: tableName, Key: keys.sealedSecret("t_1/wh_s2", issued.versionId) }),
    );
    const { pk: _pk, sk: _sk, ...sealed } = Item ?? {};
    // Under another tenant's webhook of the same id (same version id, then its own), another webhook of the same
    // tenant, and another version of the same webhook.
    const targets: [string, string][] = [
      ["t_2/wh_s2", issued.versionId],
      ["t_2/wh_s2", other.versionId],
      ["t_1/wh_s9", issued.versionId],
      ["t_1/wh_s2", second.versionId],
    ];
    for (const [owner, version] of targets)
      await clients.documents.send(
        new PutCommand({ TableName: tableName, Item: { ...keys.sealedSecret(owner, version), ...sealed } }),
      );
    const fresh = (await newSealedStore({}, sut)).store;
    for (const [owner, version] of targets)
      await expect(fresh.get(owner, [version]), `${owner} ${version}`).rejects.toThrow();
    expect(await fresh.get("t_1/wh_s2", [issued.versionId])).toEqual([issued.secret]);
  });

  it("rotates the key-encryption key without downtime: old items open, new ones seal under the new key, a read re-seals once", async () => {
    const sut = await newSealedStore({ currentKeyTtlMs: 0 });
    const { store, clients, namePrefix } = sut;
    const before = await store.create("t_1/wh_s3");
    const itemOf = async (versionId: string) =>
      (
        await clients.documents.send(
          new GetCommand({ TableName: tableName, Key: keys.sealedSecret("t_1/wh_s3", versionId) }),
        )
      ).Item as { keyVersion: string };
    const oldKey = (await itemOf(before.versionId)).keyVersion;
    const rotated = await clients.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: `${namePrefix}${KEK_SECRET_SUFFIX}`,
        SecretString: "a-new-key-encryption-key-of-more-than-32-characters",
      }),
    );
    expect(rotated.VersionId).not.toBe(oldKey);
    // A secret created after the rotation is sealed under the new key.
    const after = await store.rotate("t_1/wh_s3");
    expect((await itemOf(after.versionId)).keyVersion).toBe(rotated.VersionId);
    // The old item opens (with the key version it names) and is re-sealed under the new key on that read.
    const reader = await newSealedStore({}, sut);
    expect(await reader.store.get("t_1/wh_s3", [before.versionId])).toEqual([before.secret]);
    expect((await itemOf(before.versionId)).keyVersion).toBe(rotated.VersionId);
    expect(reader.counter.count("PutItemCommand")).toBe(1);
    // Re-sealed, it opens again in another container and is not rewritten twice.
    const another = await newSealedStore({}, sut);
    expect(await another.store.get("t_1/wh_s3", [before.versionId, after.versionId])).toEqual([
      before.secret,
      after.secret,
    ]);
    expect(another.counter.count("PutItemCommand")).toBe(0);
  });

  it("deletes every version of a webhook's secret, and nothing of another webhook's", async () => {
    const { store, clients } = await newSealedStore();
    await store.create("t_1/wh_s4");
    await store.rotate("t_1/wh_s4");
    const kept = await store.create("t_1/wh_s40");
    await store.delete("t_1/wh_s4");
    const left = await clients.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.sealedSecretHead("t_1/wh_s4").pk },
      }),
    );
    expect(left.Items).toEqual([]);
    expect(await store.get("t_1/wh_s40", [kept.versionId])).toEqual([kept.secret]);
  });

  it("reads the key from Secrets Manager once per container, not once per secret", async () => {
    const sut = await newSealedStore();
    const issued = await Promise.all(Array.from({ length: 5 }, (_, n) => sut.store.create(`t_1/wh_k${n}`)));
    const reader = await newSealedStore({}, sut);
    for (const [n, secret] of issued.entries())
      expect(await reader.store.get(`t_1/wh_k${n}`, [secret.versionId])).toEqual([secret.secret]);
    expect(reader.counter.count("GetSecretValueCommand")).toBe(1);
    expect(reader.counter.count("GetItemCommand")).toBe(5);
  });
});
