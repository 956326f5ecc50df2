/**
 * Signing secrets sealed in the table (`secretStorage: "sealed"`): one key-encryption key (KEK) in Secrets Manager
 * for the whole stack instead of one secret per webhook ($0.40 a month each). Each secret version is an item
 * holding its value AES-256-GCM-sealed under the KEK, with the owner (tenant and webhook) and the secret version
 * bound as additional authenticated data (a ciphertext copied to another webhook, tenant or version fails to open)
 * and the id of the KEK version that sealed it.
 *
 * KEK rotation: an operator puts a new value into the KEK secret (`docs/secrets.md`); AWSCURRENT moves to it.
 * New secret versions are sealed under the current KEK (each container re-reads which version is current every
 * few minutes), old items keep opening with the KEK version they name (a version's value never changes, so it is
 * cached for as long as the container lives), and an item is re-sealed under the current KEK the first time it is
 * read after a rotation (lazily, by the function that reads it, with a conditional put that never overwrites a
 * newer write): no downtime, and no pass over every item at once.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { KEK_SECRET_SUFFIX } from "#core/shared/resource-definitions.ts";
import { TtlCache } from "#core/shared/ttl-cache.ts";
import { generateSigningSecret } from "#core/signing/signing-secrets.ts";
import {
  type IssuedSecret,
  SigningSecretNotFoundError,
  type SigningSecretStore,
} from "./signing-secret-store.ts";
import { keys } from "./table-keys.ts";

const ALGORITHM = "aes-256-gcm";
const FORMAT = "v1";

export interface SealedSecretStoreOptions {
  readonly tableName: string;
  /** The stack's secret name prefix; the KEK is `<prefix>key-encryption-key`. */
  readonly namePrefix: string;
  /** How long a container keeps sealing with the KEK version it last saw as current (default 5 minutes). */
  readonly currentKeyTtlMs?: number;
  readonly cacheTtlMs?: number;
  readonly now?: () => Date;
}

interface SealedItem {
  readonly pk: string;
  readonly sk: string;
  readonly format: string;
  readonly keyVersion: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
  readonly createdAt: string;
}

interface Kek {
  readonly version: string;
  readonly key: Buffer;
}

/** The additional authenticated data: what the ciphertext belongs to. `owner` is `<tenantId>/<webhookId>`. */
const aadOf = (owner: string, versionId: string) =>
  Buffer.from(`serverless-webhooks/signing-secret/${FORMAT}\u0000${owner}\u0000${versionId}`, "utf8");

/** The AES key of one KEK version: HKDF-SHA256 over the secret's value (a generated string, not raw bytes). */
const deriveKey = (material: string, version: string) =>
  Buffer.from(hkdfSync("sha256", material, "serverless-webhooks/kek", `aes-256-gcm:${version}`, 32));

export function seal(kek: Kek, owner: string, versionId: string, secret: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv(ALGORITHM, kek.key, iv);
  cipher.setAAD(aadOf(owner, versionId));
  const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return {
    format: FORMAT,
    keyVersion: kek.version,
    iv: iv.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  };
}

export function open(
  kek: Kek,
  owner: string,
  versionId: string,
  item: Omit<SealedItem, "pk" | "sk" | "createdAt">,
) {
  const decipher = createDecipheriv(ALGORITHM, kek.key, Buffer.from(item.iv, "base64"));
  decipher.setAAD(aadOf(owner, versionId));
  decipher.setAuthTag(Buffer.from(item.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(item.ciphertext, "base64")), decipher.final()]).toString(
    "utf8",
  );
}

export class SealedSigningSecretStore implements SigningSecretStore {
  readonly #documents: () => DynamoDBDocumentClient;
  readonly #secretsManager: () => SecretsManagerClient;
  readonly #table: string;
  readonly #kekName: string;
  readonly #now: () => Date;
  readonly #keks: TtlCache<Kek>;
  readonly #current: TtlCache<Kek>;
  readonly #values: TtlCache<string>;

  constructor(
    documents: () => DynamoDBDocumentClient,
    secretsManager: () => SecretsManagerClient,
    options: SealedSecretStoreOptions,
  ) {
    this.#documents = documents;
    this.#secretsManager = secretsManager;
    this.#table = options.tableName;
    this.#kekName = `${options.namePrefix}${KEK_SECRET_SUFFIX}`;
    this.#now = options.now ?? (() => new Date());
    // A KEK version's value never changes: kept as long as the container lives (bounded in number).
    this.#keks = new TtlCache({ ttlMs: 24 * 3_600_000, maxEntries: 100 });
    this.#current = new TtlCache({ ttlMs: options.currentKeyTtlMs ?? 5 * 60_000, maxEntries: 1 });
    this.#values = new TtlCache({ ttlMs: options.cacheTtlMs ?? 15 * 60_000, maxEntries: 10_000 });
  }

  async create(owner: string): Promise<IssuedSecret> {
    const { secret, versionId, item } = await this.#newVersion(owner);
    await this.#documents().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.#table,
              Item: { ...keys.sealedSecretHead(owner), createdAt: item.createdAt },
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
          { Put: { TableName: this.#table, Item: item } },
        ],
      }),
    );
    return { secret, versionId };
  }

  async rotate(owner: string): Promise<IssuedSecret> {
    const { secret, versionId, item } = await this.#newVersion(owner);
    try {
      await this.#documents().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.#table,
                Key: keys.sealedSecretHead(owner),
                ConditionExpression: "attribute_exists(pk)",
              },
            },
            { Put: { TableName: this.#table, Item: item } },
          ],
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === "TransactionCanceledException")
        throw new SigningSecretNotFoundError(owner);
      throw error;
    }
    return { secret, versionId };
  }

  get(owner: string, versionIds: readonly string[]): Promise<string[]> {
    return Promise.all(
      versionIds.map((versionId) =>
        this.#values.getOrLoad(`${owner}\u0000${versionId}`, () => this.#load(owner, versionId)),
      ),
    );
  }

  /** Deletes the head and every version (in pages); deleting what is gone succeeds. */
  async delete(owner: string): Promise<void> {
    const { pk } = keys.sealedSecretHead(owner);
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#documents().send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk },
          ProjectionExpression: "pk, sk",
          ConsistentRead: true,
          Limit: 25,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const items = page.Items ?? [];
      if (items.length > 0)
        await this.#documents().send(
          new BatchWriteCommand({
            RequestItems: {
              [this.#table]: items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
            },
          }),
        );
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async #newVersion(owner: string) {
    const secret = generateSigningSecret();
    const versionId = randomUUID();
    const kek = await this.#currentKek();
    const item: SealedItem = {
      ...keys.sealedSecret(owner, versionId),
      ...seal(kek, owner, versionId, secret),
      createdAt: this.#now().toISOString(),
    };
    return { secret, versionId, item };
  }

  async #load(owner: string, versionId: string): Promise<string> {
    const { Item } = await this.#documents().send(
      new GetCommand({
        TableName: this.#table,
        Key: keys.sealedSecret(owner, versionId),
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new SigningSecretNotFoundError(owner, versionId);
    const item = Item as SealedItem;
    const current = await this.#currentKek();
    if (item.keyVersion === current.version) return open(current, owner, versionId, item);
    const value = open(await this.#kek(item.keyVersion), owner, versionId, item);
    await this.#reseal(owner, versionId, item, value, current);
    return value;
  }

  /** Lazy re-seal: an item sealed under an older KEK is sealed again under the current one, once. */
  async #reseal(
    owner: string,
    versionId: string,
    item: SealedItem,
    value: string,
    current: Kek,
  ): Promise<void> {
    try {
      await this.#documents().send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...item, ...seal(current, owner, versionId, value) },
          // Only over the item read: a concurrent re-seal or a delete wins.
          ConditionExpression: "keyVersion = :read",
          ExpressionAttributeValues: { ":read": item.keyVersion },
        }),
      );
    } catch (error) {
      // Someone else re-sealed it (or it was deleted) meanwhile; the value read is still the value.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  #currentKek(): Promise<Kek> {
    return this.#current.getOrLoad("current", async () => {
      const kek = await this.#fetchKek();
      this.#keks.getOrLoad(kek.version, async () => kek);
      return kek;
    });
  }

  #kek(version: string): Promise<Kek> {
    return this.#keks.getOrLoad(version, () => this.#fetchKek(version));
  }

  async #fetchKek(version?: string): Promise<Kek> {
    const got = await this.#secretsManager().send(
      new GetSecretValueCommand({ SecretId: this.#kekName, ...(version ? { VersionId: version } : {}) }),
    );
    if (typeof got.SecretString !== "string" || got.SecretString.length < 32 || !got.VersionId)
      throw new Error("the key-encryption key is missing or shorter than 32 characters");
    return { version: got.VersionId, key: deriveKey(got.SecretString, got.VersionId) };
  }
}
