/**
 * A small, faithful Secrets Manager emulator: an HTTP server speaking the AWS JSON 1.1 protocol
 * (`X-Amz-Target: secretsmanager.<Action>`) so the real `@aws-sdk/client-secrets-manager` works against it
 * unchanged. It keeps state in memory and implements the actions this platform uses, with AWS's staging-label
 * rules (AWSCURRENT / AWSPREVIOUS) and AWS-shaped errors.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";

const CURRENT = "AWSCURRENT";
const PREVIOUS = "AWSPREVIOUS";
const MAX_BODY_BYTES = 1024 * 1024;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const TOKEN_PATTERN = /^[A-Za-z0-9-]{32,64}$/;
const MAX_SECRET_BYTES = 65_536;
const READ_ONLY_ACTIONS = new Set(["GetSecretValue", "DescribeSecret"]);

export class SecretsManagerError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
  }
}

const notFound = () =>
  new SecretsManagerError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
const invalidParameter = (message: string) => new SecretsManagerError("InvalidParameterException", message);
const invalidRequest = (message: string) => new SecretsManagerError("InvalidRequestException", message);
const markedForDeletion = () =>
  invalidRequest("You can't perform this operation on the secret because it was marked for deletion.");

interface SecretVersion {
  readonly versionId: string;
  readonly secretString: string | undefined;
  readonly secretBinary: string | undefined;
  readonly createdDate: number;
  readonly stages: Set<string>;
}

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  description: string | undefined;
  readonly tags: readonly { Key: string; Value: string }[];
  readonly createdDate: number;
  lastChangedDate: number;
  lastAccessedDate: number | undefined;
  deletionDate: number | undefined;
  readonly versions: Map<string, SecretVersion>;
}

type Input = Record<string, unknown>;

function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameter(`${field} must be a string.`);
  return value;
}

function requiredString(input: Input, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined || value === "") throw invalidParameter(`You must provide a value for ${field}.`);
  return value;
}

function optionalStringList(input: Input, field: string): string[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw invalidParameter(`${field} must be a list of strings.`);
  }
  return value;
}

function secretValue(input: Input): { secretString: string | undefined; secretBinary: string | undefined } {
  const secretString = optionalString(input, "SecretString");
  const secretBinary = optionalString(input, "SecretBinary");
  if (secretString !== undefined && secretBinary !== undefined) {
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  const size = Buffer.byteLength(secretString ?? "") + Buffer.from(secretBinary ?? "", "base64").length;
  if (size > MAX_SECRET_BYTES)
    throw invalidParameter("The secret value exceeds the maximum size of 65536 bytes.");
  return { secretString, secretBinary };
}

function versionToken(input: Input): string {
  const token = optionalString(input, "ClientRequestToken") ?? randomUUID();
  if (!TOKEN_PATTERN.test(token)) {
    throw invalidParameter("ClientRequestToken must be 32 to 64 letters, digits or hyphens.");
  }
  return token;
}

const nowSeconds = (clock: () => number) => clock() / 1000;

export interface SecretsManagerStoreOptions {
  readonly region?: string;
  readonly accountId?: string;
  /** Keep the state in this JSON file (local mode), written after every change and read at start. */
  readonly persistPath?: string;
  /** Milliseconds since the epoch; injectable so tests can pass a recovery window without waiting. */
  readonly clock?: () => number;
}

/** The emulator's state and the semantics of each action, independent of HTTP. */
export class SecretsManagerStore {
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #clock: () => number;

  readonly #persistPath: string | undefined;

  constructor(options: SecretsManagerStoreOptions = {}) {
    this.#region = options.region ?? "us-east-1";
    this.#accountId = options.accountId ?? "000000000000";
    this.#clock = options.clock ?? Date.now;
    this.#persistPath = options.persistPath;
    if (this.#persistPath && existsSync(this.#persistPath))
      this.#load(readFileSync(this.#persistPath, "utf8"));
  }

  #load(text: string): void {
    const saved = JSON.parse(text) as (Omit<StoredSecret, "versions"> & {
      versions: (Omit<SecretVersion, "stages"> & { stages: string[] })[];
    })[];
    for (const secret of saved) {
      const versions = new Map(
        secret.versions.map((version) => [
          version.versionId,
          { ...version, stages: new Set(version.stages) },
        ]),
      );
      this.#secrets.set(secret.name, { ...secret, versions });
    }
  }

  #persist(): void {
    if (!this.#persistPath) return;
    const snapshot = [...this.#secrets.values()].map((secret) => ({
      ...secret,
      versions: [...secret.versions.values()].map((version) => ({ ...version, stages: [...version.stages] })),
    }));
    mkdirSync(dirname(this.#persistPath), { recursive: true });
    writeFileSync(`${this.#persistPath}.tmp`, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(`${this.#persistPath}.tmp`, this.#persistPath);
  }

  /** Dispatches one action; throws `SecretsManagerError` for anything AWS would refuse. */
  handle(action: string, input: Input): Record<string, unknown> {
    const result = this.#dispatch(action, input);
    if (!READ_ONLY_ACTIONS.has(action)) this.#persist();
    return result;
  }

  #dispatch(action: string, input: Input): Record<string, unknown> {
    switch (action) {
      case "CreateSecret":
        return this.#create(input);
      case "GetSecretValue":
        return this.#getValue(input);
      case "PutSecretValue":
        return this.#putValue(input);
      case "UpdateSecretVersionStage":
        return this.#updateStage(input);
      case "DescribeSecret":
        return this.#describe(input);
      case "DeleteSecret":
        return this.#delete(input);
      case "RestoreSecret":
        return this.#restore(input);
      default:
        throw new SecretsManagerError("UnknownOperationException", `Unknown operation ${action}.`);
    }
  }

  #expirePendingDeletions(): void {
    const now = nowSeconds(this.#clock);
    for (const [name, secret] of this.#secrets) {
      if (secret.deletionDate !== undefined && secret.deletionDate <= now) this.#secrets.delete(name);
    }
  }

  /** Finds a secret by name, full ARN, or ARN without its random suffix, as AWS does. */
  #find(secretId: string): StoredSecret {
    this.#expirePendingDeletions();
    const byName = this.#secrets.get(secretId);
    if (byName) return byName;
    for (const secret of this.#secrets.values()) {
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    throw notFound();
  }

  #findLive(input: Input): StoredSecret {
    const secret = this.#find(requiredString(input, "SecretId"));
    if (secret.deletionDate !== undefined) throw markedForDeletion();
    return secret;
  }

  #create(input: Input): Record<string, unknown> {
    const name = requiredString(input, "Name");
    if (!NAME_PATTERN.test(name)) {
      throw invalidParameter(
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
      );
    }
    const value = secretValue(input);
    const versionId = versionToken(input);
    this.#expirePendingDeletions();
    const existing = this.#secrets.get(name);
    if (existing?.deletionDate !== undefined) {
      throw invalidRequest(
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (existing)
      throw new SecretsManagerError(
        "ResourceExistsException",
        `The operation failed because the secret ${name} already exists.`,
      );
    const now = nowSeconds(this.#clock);
    const secret: StoredSecret = {
      arn: `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${randomBytes(3).toString("hex")}`,
      name,
      description: optionalString(input, "Description"),
      tags: Array.isArray(input.Tags) ? (input.Tags as { Key: string; Value: string }[]) : [],
      createdDate: now,
      lastChangedDate: now,
      lastAccessedDate: undefined,
      deletionDate: undefined,
      versions: new Map(),
    };
    const hasValue = value.secretString !== undefined || value.secretBinary !== undefined;
    if (hasValue)
      secret.versions.set(versionId, { versionId, ...value, createdDate: now, stages: new Set([CURRENT]) });
    this.#secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, ...(hasValue ? { VersionId: versionId } : {}) };
  }

  #getValue(input: Input): Record<string, unknown> {
    const secret = this.#findLive(input);
    const versionId = optionalString(input, "VersionId");
    const stage = optionalString(input, "VersionStage");
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.get(versionId);
      if (!version || (stage !== undefined && !version.stages.has(stage))) {
        throw new SecretsManagerError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      }
    } else {
      const wanted = stage ?? CURRENT;
      version = [...secret.versions.values()].find((candidate) => candidate.stages.has(wanted));
      if (!version) {
        throw new SecretsManagerError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for staging label: ${wanted}`,
        );
      }
    }
    secret.lastAccessedDate = nowSeconds(this.#clock);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
      VersionStages: [...version.stages],
      CreatedDate: version.createdDate,
    };
  }

  #putValue(input: Input): Record<string, unknown> {
    const secret = this.#findLive(input);
    const value = secretValue(input);
    if (value.secretString === undefined && value.secretBinary === undefined) {
      throw invalidParameter("You must provide either SecretString or SecretBinary.");
    }
    const versionId = versionToken(input);
    const stages = optionalStringList(input, "VersionStages") ?? [CURRENT];
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (existing.secretString === value.secretString && existing.secretBinary === value.secretBinary) {
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: versionId,
          VersionStages: [...existing.stages],
        };
      }
      throw new SecretsManagerError(
        "ResourceExistsException",
        `You can't modify an existing version, you can only create a new version. VersionId: ${versionId}`,
      );
    }
    const now = nowSeconds(this.#clock);
    const version: SecretVersion = { versionId, ...value, createdDate: now, stages: new Set() };
    secret.versions.set(versionId, version);
    for (const stage of stages) this.#attachStage(secret, stage, version);
    this.#pruneDeprecatedVersions(secret);
    secret.lastChangedDate = now;
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...version.stages] };
  }

  /** Moves `stage` onto `target`; moving AWSCURRENT hands AWSPREVIOUS to the version that had it. */
  #attachStage(secret: StoredSecret, stage: string, target: SecretVersion): void {
    for (const version of secret.versions.values()) {
      if (version === target || !version.stages.has(stage)) continue;
      version.stages.delete(stage);
      if (stage === CURRENT) {
        for (const other of secret.versions.values()) other.stages.delete(PREVIOUS);
        version.stages.add(PREVIOUS);
      }
    }
    target.stages.add(stage);
  }

  /** AWS drops versions that carry no staging label once more than 100 exist. */
  #pruneDeprecatedVersions(secret: StoredSecret): void {
    const deprecated = [...secret.versions.values()].filter((version) => version.stages.size === 0);
    const excess = secret.versions.size - 100;
    for (const version of deprecated.slice(0, Math.max(0, excess))) secret.versions.delete(version.versionId);
  }

  #updateStage(input: Input): Record<string, unknown> {
    const secret = this.#findLive(input);
    const stage = requiredString(input, "VersionStage");
    const moveTo = optionalString(input, "MoveToVersionId");
    const removeFrom = optionalString(input, "RemoveFromVersionId");
    const holder = [...secret.versions.values()].find((version) => version.stages.has(stage));
    if (moveTo === undefined && removeFrom === undefined) {
      throw invalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both.");
    }
    if (removeFrom !== undefined) {
      if (!secret.versions.has(removeFrom)) throw notFound();
      if (holder?.versionId !== removeFrom) {
        throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}.`);
      }
    }
    if (moveTo !== undefined) {
      const target = secret.versions.get(moveTo);
      if (!target) throw notFound();
      if (holder && holder !== target && holder.versionId !== removeFrom) {
        throw invalidParameter(
          `The staging label ${stage} is currently attached to version ${holder.versionId}. When you move a label to a different version, you must specify its current version id as RemoveFromVersionId.`,
        );
      }
      this.#attachStage(secret, stage, target);
    } else if (holder) {
      if (stage === CURRENT)
        throw invalidParameter("You can't remove the AWSCURRENT staging label without moving it.");
      holder.stages.delete(stage);
    }
    secret.lastChangedDate = nowSeconds(this.#clock);
    return { ARN: secret.arn, Name: secret.name };
  }

  #describe(input: Input): Record<string, unknown> {
    const secret = this.#find(requiredString(input, "SecretId"));
    const versionIdsToStages: Record<string, string[]> = {};
    for (const version of secret.versions.values()) {
      if (version.stages.size > 0) versionIdsToStages[version.versionId] = [...version.stages];
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      CreatedDate: secret.createdDate,
      LastChangedDate: secret.lastChangedDate,
      ...(secret.lastAccessedDate !== undefined ? { LastAccessedDate: secret.lastAccessedDate } : {}),
      ...(secret.deletionDate !== undefined ? { DeletedDate: secret.deletionDate } : {}),
      Tags: secret.tags,
      VersionIdsToStages: versionIdsToStages,
    };
  }

  #delete(input: Input): Record<string, unknown> {
    const secret = this.#find(requiredString(input, "SecretId"));
    const force = input.ForceDeleteWithoutRecovery === true;
    const windowDays = input.RecoveryWindowInDays;
    if (force && windowDays !== undefined) {
      throw invalidParameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    const now = nowSeconds(this.#clock);
    if (force) {
      this.#secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: now };
    }
    if (secret.deletionDate !== undefined) throw markedForDeletion();
    const days = windowDays ?? 30;
    if (typeof days !== "number" || !Number.isInteger(days) || days < 7 || days > 30) {
      throw invalidParameter("RecoveryWindowInDays must be an integer from 7 to 30.");
    }
    secret.deletionDate = now + days * 86_400;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletionDate };
  }

  #restore(input: Input): Record<string, unknown> {
    const secret = this.#find(requiredString(input, "SecretId"));
    secret.deletionDate = undefined;
    return { ARN: secret.arn, Name: secret.name };
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new SecretsManagerError("SerializationException", "Request body too large.", 413);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseInput(body: string): Input {
  let parsed: unknown;
  try {
    parsed = body === "" ? {} : JSON.parse(body);
  } catch {
    throw new SecretsManagerError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SecretsManagerError("SerializationException", "The request body must be a JSON object.");
  }
  return parsed as Input;
}

function send(response: ServerResponse, status: number, payload: unknown, errorType?: string): void {
  const body = JSON.stringify(payload);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": randomUUID(),
    ...(errorType ? { "x-amzn-errortype": errorType } : {}),
  });
  response.end(body);
}

async function route(
  store: SecretsManagerStore,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    const target = request.headers["x-amz-target"];
    if (request.method !== "POST" || typeof target !== "string" || !target.startsWith("secretsmanager.")) {
      throw new SecretsManagerError(
        "UnknownOperationException",
        "Expected POST with X-Amz-Target: secretsmanager.<Action>.",
      );
    }
    const input = parseInput(await readBody(request));
    send(response, 200, store.handle(target.slice("secretsmanager.".length), input));
  } catch (error) {
    const known =
      error instanceof SecretsManagerError
        ? error
        : new SecretsManagerError("InternalServiceError", "An error occurred on the server side.", 500);
    send(response, known.status, { __type: known.code, message: known.message }, known.code);
  }
}

export interface SecretsManagerEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly store: SecretsManagerStore;
  stop(): Promise<void>;
}

export async function startSecretsManagerEmulator(
  options: SecretsManagerStoreOptions & { port?: number; host?: string } = {},
): Promise<SecretsManagerEmulator> {
  const store = new SecretsManagerStore(options);
  const server: Server = createServer((request, response) => void route(store, request, response));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    store,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
