/**
 * The portal's signing key set, read from Secrets Manager and cached per container for `ttlMs` (5 minutes by
 * default): a key rotated in is used for signing by every container within that time, and a token naming a kid
 * this container does not know yet makes it read the set again at once — at most once per `refreshFloorMs`, so
 * forged kids cannot turn into a stream of Secrets Manager calls.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type PortalKeySet, type PortalKeySource, parseKeySet } from "#core/portal/portal-tokens.ts";

export interface PortalKeyStoreOptions {
  readonly secretId: string;
  readonly ttlMs?: number;
  readonly refreshFloorMs?: number;
  readonly now?: () => number;
}

export class SecretsManagerPortalKeyStore implements PortalKeySource {
  readonly #client: SecretsManagerClient;
  readonly #options: PortalKeyStoreOptions;
  readonly #now: () => number;
  #cached: { value: Promise<PortalKeySet>; loadedAt: number } | undefined;

  constructor(client: SecretsManagerClient, options: PortalKeyStoreOptions) {
    this.#client = client;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  keySet(fresh = false): Promise<PortalKeySet> {
    const now = this.#now();
    const cached = this.#cached;
    const age = cached ? now - cached.loadedAt : Number.POSITIVE_INFINITY;
    const stale = age >= (this.#options.ttlMs ?? 300_000);
    const mayRefresh = age >= (this.#options.refreshFloorMs ?? 10_000);
    if (cached && !stale && !(fresh && mayRefresh)) return cached.value;
    const value = this.#load();
    this.#cached = { value, loadedAt: now };
    value.catch(() => {
      if (this.#cached?.value === value) this.#cached = undefined;
    });
    return value;
  }

  async #load(): Promise<PortalKeySet> {
    const { SecretString } = await this.#client.send(
      new GetSecretValueCommand({ SecretId: this.#options.secretId }),
    );
    if (SecretString === undefined) throw new Error("the portal key secret has no string value");
    return parseKeySet(SecretString);
  }
}
