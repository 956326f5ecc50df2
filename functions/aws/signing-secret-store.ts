/**
 * Signing secrets in Secrets Manager: one secret per webhook, named `<prefix><webhookId>`. A rotation puts a new
 * version (AWSCURRENT moves to it, AWSPREVIOUS to the old one); the webhook record remembers which version ids
 * sign. Values are cached per container by (webhook, version id): a version's value never changes, so a
 * rotation is seen as soon as the webhook record names the new version, and the TTL only bounds how long a
 * deleted webhook's secret stays in memory.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { TtlCache } from "#core/shared/ttl-cache.ts";
import { generateSigningSecret, SECRET_RECOVERY_WINDOW_DAYS } from "#core/signing/signing-secrets.ts";

export class SigningSecretNotFoundError extends Error {
  constructor(webhookId: string, versionId?: string) {
    super(`no signing secret for webhook ${webhookId}${versionId ? ` at version ${versionId}` : ""}`);
    this.name = "SigningSecretNotFoundError";
  }
}

export interface IssuedSecret {
  /** Shown to the caller once; never stored anywhere but Secrets Manager. */
  readonly secret: string;
  readonly versionId: string;
}

/** The port the domain uses; `SecretsManagerSigningSecretStore` is its AWS adapter. */
export interface SigningSecretStore {
  create(webhookId: string): Promise<IssuedSecret>;
  rotate(webhookId: string): Promise<IssuedSecret>;
  /** Values for the given versions, in the same order. */
  get(webhookId: string, versionIds: readonly string[]): Promise<string[]>;
  delete(webhookId: string): Promise<void>;
}

export interface SigningSecretStoreOptions {
  /** Secret name prefix, e.g. `serverless-webhooks/prod/`; IAM is scoped to it. */
  readonly namePrefix: string;
  readonly cacheTtlMs?: number;
  readonly cacheMaxEntries?: number;
}

/** Secrets Manager's answer for a secret scheduled for deletion: for our purposes, it is gone. */
const isMarkedForDeletion = (error: unknown) =>
  error instanceof InvalidRequestException &&
  /marked for deletion|scheduled for deletion/i.test(error.message);

const NAME_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,256}$/;

export class SecretsManagerSigningSecretStore implements SigningSecretStore {
  readonly #client: () => SecretsManagerClient;
  readonly #prefix: string;
  readonly #cache: TtlCache<string>;

  /** `client` may be a function that builds it: then it is built on the first call that needs it. */
  constructor(
    client: SecretsManagerClient | (() => SecretsManagerClient),
    options: SigningSecretStoreOptions,
  ) {
    if (!NAME_PREFIX_PATTERN.test(options.namePrefix)) {
      throw new Error("namePrefix may hold only letters, digits and /_+=.@- (1–256 characters)");
    }
    this.#client = typeof client === "function" ? client : () => client;
    this.#prefix = options.namePrefix;
    this.#cache = new TtlCache({
      ttlMs: options.cacheTtlMs ?? 15 * 60_000,
      maxEntries: options.cacheMaxEntries ?? 10_000,
    });
  }

  secretName(webhookId: string): string {
    return `${this.#prefix}${webhookId}`;
  }

  async create(webhookId: string): Promise<IssuedSecret> {
    const secret = generateSigningSecret();
    const created = await this.#client().send(
      new CreateSecretCommand({
        Name: this.secretName(webhookId),
        SecretString: secret,
        Description: `Webhook signing secret for ${webhookId}`,
        Tags: [{ Key: "webhook-id", Value: webhookId }],
      }),
    );
    return { secret, versionId: this.#versionOf(created.VersionId) };
  }

  async rotate(webhookId: string): Promise<IssuedSecret> {
    const secret = generateSigningSecret();
    try {
      const put = await this.#client().send(
        new PutSecretValueCommand({ SecretId: this.secretName(webhookId), SecretString: secret }),
      );
      return { secret, versionId: this.#versionOf(put.VersionId) };
    } catch (error) {
      if (error instanceof ResourceNotFoundException || isMarkedForDeletion(error))
        throw new SigningSecretNotFoundError(webhookId);
      throw error;
    }
  }

  get(webhookId: string, versionIds: readonly string[]): Promise<string[]> {
    return Promise.all(
      versionIds.map((versionId) =>
        this.#cache.getOrLoad(`${webhookId}\u0000${versionId}`, () => this.#load(webhookId, versionId)),
      ),
    );
  }

  /**
   * Schedules the secret's deletion after the shortest recovery window Secrets Manager allows (a mistaken delete
   * can be undone with RestoreSecret meanwhile); IAM denies deleting without one. Deleting a secret that is gone
   * or already scheduled succeeds.
   */
  async delete(webhookId: string): Promise<void> {
    try {
      await this.#client().send(
        new DeleteSecretCommand({
          SecretId: this.secretName(webhookId),
          RecoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS,
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException || isMarkedForDeletion(error))) throw error;
    }
  }

  async #load(webhookId: string, versionId: string): Promise<string> {
    try {
      const got = await this.#client().send(
        new GetSecretValueCommand({ SecretId: this.secretName(webhookId), VersionId: versionId }),
      );
      if (typeof got.SecretString !== "string") throw new SigningSecretNotFoundError(webhookId, versionId);
      return got.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException || isMarkedForDeletion(error))
        throw new SigningSecretNotFoundError(webhookId, versionId);
      throw error;
    }
  }

  #versionOf(versionId: string | undefined): string {
    if (!versionId) throw new Error("Secrets Manager returned no VersionId");
    return versionId;
  }
}
