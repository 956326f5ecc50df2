/** Runtime configuration, parsed once per container from the environment; fails fast naming the variable. */

import * as z from "zod/mini";
import { type DestinationPolicy, parsePortRanges } from "../delivery/destination-policy.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER_RATIO,
  parseSchedule,
  type RetryPolicy,
} from "../delivery/retry-policy.ts";
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from "../health/endpoint-health.ts";
import { DEFAULT_MAX_WEBHOOKS_PER_TENANT, TENANT_ID_PATTERN } from "../tenants/tenants.ts";
import { DEFAULT_RECONCILE_GRACE_SECONDS, deliveryQueue } from "./resource-definitions.ts";
import "./zod.ts";

/** `secrets-manager`: one secret per webhook ($0.40 a month each); `sealed`: AES-256-GCM in the table, one key. */
export const SECRET_STORAGES = ["secrets-manager", "sealed"] as const;
export type SecretStorage = (typeof SECRET_STORAGES)[number];

const flag = z.pipe(
  z._default(z.enum(["true", "false"]), "false"),
  z.transform((value) => value === "true"),
);
const boundedInt = (fallback: number, min: number, max: number) =>
  z._default(
    z.coerce.number().check(z.refine(Number.isInteger, "an integer"), z.minimum(min), z.maximum(max)),
    fallback,
  );

/** A string turned into a value by `parse`, whose thrown message becomes the issue. */
const parsedString = <T>(parse: (text: string) => T) =>
  z.pipe(
    z.string(),
    z.transform((text: string, context) => {
      try {
        return parse(text);
      } catch (error) {
        context.issues.push({ code: "custom", message: (error as Error).message, input: text });
        return undefined as never;
      }
    }),
  );

const environmentSchema = z.object({
  AWS_REGION: z.string().check(z.minLength(1)),
  TABLE_NAME: z.string().check(z.minLength(1)),
  DELIVERY_QUEUE_URL: z.url(),
  DEAD_LETTER_QUEUE_URL: z.url(),
  SECRET_NAME_PREFIX: z
    .string()
    .check(z.regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, "letters, digits and /_+=.@- only")),
  SECRET_STORAGE: z.optional(z.enum(SECRET_STORAGES)),
  RETRY_SCHEDULE_SECONDS: z.optional(
    parsedString((text) => (text === "" ? [...DEFAULT_RETRY_SCHEDULE_SECONDS] : parseSchedule(text))),
  ),
  DELIVERY_TIMEOUT_MS: boundedInt(15_000, 1, 60_000),
  ALLOW_HTTP_DESTINATIONS: flag,
  ALLOWED_PORTS: z._default(parsedString(parsePortRanges), [[443, 443]]),
  ALLOW_PRIVATE_DESTINATIONS: z._default(z.enum(["none", "loopback"]), "none"),
  ALLOW_AUTHORIZATION_HEADER: flag,
  STRICT_EVENT_TYPES: flag,
  RETENTION_DAYS: boundedInt(30, 1, 365),
  DEPENDENCY_BACKOFF_SECONDS: boundedInt(30, 1, 600),
  DEAD_LETTER_AFTER_RECEIVES: boundedInt(deliveryQueue.maxReceiveCount - 2, 1, 1000),
  RECONCILE_GRACE_SECONDS: boundedInt(DEFAULT_RECONCILE_GRACE_SECONDS, 1, 86_400),
  MAX_WEBHOOKS_PER_TENANT: boundedInt(DEFAULT_MAX_WEBHOOKS_PER_TENANT, 1, 10_000),
  TENANT_ID_PATH: z._default(
    z
      .string()
      .check(z.regex(/^detail(\.[A-Za-z0-9_-]+)+$/, "a dotted path under detail, e.g. detail.tenantId")),
    "detail.tenantId",
  ),
  DEFAULT_TENANT_ID: z.optional(
    z.string().check(z.regex(TENANT_ID_PATTERN, "a tenant id: 1–64 of A-Z a-z 0-9 _ . -")),
  ),
  INGEST_DEAD_LETTER_QUEUE_URL: z.optional(z.url()),
  CIRCUIT_WINDOW_SECONDS: boundedInt(DEFAULT_HEALTH_POLICY.windowSeconds, 1, 86_400),
  CIRCUIT_MIN_ATTEMPTS: boundedInt(DEFAULT_HEALTH_POLICY.minAttempts, 1, 100_000),
  CIRCUIT_FAILURE_PERCENT: boundedInt(DEFAULT_HEALTH_POLICY.failurePercent, 1, 100),
  CIRCUIT_PROBE_INTERVAL_SECONDS: boundedInt(DEFAULT_HEALTH_POLICY.probeIntervalSeconds, 1, 3600),
  AUTO_DISABLE_AFTER_SECONDS: boundedInt(DEFAULT_HEALTH_POLICY.disableAfterSeconds, 0, 30 * 86_400),
  /** The EventBridge bus (name or ARN) operational events go to; unset, they are only logged. */
  OPERATIONAL_EVENT_BUS: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9/:._-]{1,1600}$/, "an event bus name or ARN")),
  ),
  AWS_ENDPOINT_URL_EVENTBRIDGE: z.optional(z.url()),
  AWS_ENDPOINT_URL_DYNAMODB: z.optional(z.url()),
  AWS_ENDPOINT_URL_SQS: z.optional(z.url()),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: z.optional(z.url()),
});

export interface Config {
  readonly region: string;
  readonly tableName: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly secretNamePrefix: string;
  /** Where signing secrets live: one Secrets Manager secret per webhook, or sealed in the table under one key. */
  readonly secretStorage: SecretStorage;
  readonly retryPolicy: RetryPolicy;
  readonly deliveryTimeoutMs: number;
  readonly destinationPolicy: DestinationPolicy;
  readonly allowAuthorizationHeader: boolean;
  /** Subscriptions must match a catalogued event type even while the catalogue is empty. */
  readonly strictEventTypes: boolean;
  readonly retentionDays: number;
  readonly dependencyBackoffSeconds: number;
  readonly deadLetterAfterReceives: number;
  /** How long past due a live delivery or an unfinished fan-out must be before the reconciler re-enqueues it. */
  readonly reconcileGraceSeconds: number;
  readonly maxWebhooksPerTenant: number;
  /** Where an EventBridge event names its tenant, e.g. `detail.tenantId`. */
  readonly tenantIdPath: string;
  /** The tenant of EventBridge events that name none; without it such events are kept as unroutable. */
  readonly defaultTenantId?: string | undefined;
  /** Where unroutable EventBridge events are kept (with the reason); the publish function only. */
  readonly ingestDeadLetterQueueUrl?: string | undefined;
  /** The circuit breaker and auto-disable (`docs/endpoint-health.md`). */
  readonly healthPolicy: HealthPolicy;
  readonly operationalEventBus?: string | undefined;
  readonly endpoints: {
    dynamodb?: string | undefined;
    sqs?: string | undefined;
    secretsManager?: string | undefined;
    eventBridge?: string | undefined;
  };
}

export class ConfigError extends Error {
  constructor(issues: readonly string[]) {
    super(`invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** The environment through `schema`, or a ConfigError naming each failing variable. */
export function parseEnvironment<S extends z.ZodMiniType>(
  schema: S,
  environment: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const parsed = schema.safeParse(environment);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  return parsed.data;
}

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): Config {
  const env = parseEnvironment(environmentSchema, environment);
  return {
    region: env.AWS_REGION,
    tableName: env.TABLE_NAME,
    deliveryQueueUrl: env.DELIVERY_QUEUE_URL,
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL,
    secretNamePrefix: env.SECRET_NAME_PREFIX,
    secretStorage: env.SECRET_STORAGE ?? "secrets-manager",
    retryPolicy: {
      scheduleSeconds: env.RETRY_SCHEDULE_SECONDS ?? DEFAULT_RETRY_SCHEDULE_SECONDS,
      jitterRatio: JITTER_RATIO,
    },
    deliveryTimeoutMs: env.DELIVERY_TIMEOUT_MS,
    destinationPolicy: {
      allowHttp: env.ALLOW_HTTP_DESTINATIONS,
      allowedPorts: env.ALLOWED_PORTS,
      allowPrivate: env.ALLOW_PRIVATE_DESTINATIONS,
    },
    allowAuthorizationHeader: env.ALLOW_AUTHORIZATION_HEADER,
    strictEventTypes: env.STRICT_EVENT_TYPES,
    retentionDays: env.RETENTION_DAYS,
    dependencyBackoffSeconds: env.DEPENDENCY_BACKOFF_SECONDS,
    deadLetterAfterReceives: env.DEAD_LETTER_AFTER_RECEIVES,
    reconcileGraceSeconds: env.RECONCILE_GRACE_SECONDS,
    maxWebhooksPerTenant: env.MAX_WEBHOOKS_PER_TENANT,
    tenantIdPath: env.TENANT_ID_PATH,
    defaultTenantId: env.DEFAULT_TENANT_ID,
    ingestDeadLetterQueueUrl: env.INGEST_DEAD_LETTER_QUEUE_URL,
    healthPolicy: {
      windowSeconds: env.CIRCUIT_WINDOW_SECONDS,
      minAttempts: env.CIRCUIT_MIN_ATTEMPTS,
      failurePercent: env.CIRCUIT_FAILURE_PERCENT,
      probeIntervalSeconds: env.CIRCUIT_PROBE_INTERVAL_SECONDS,
      // Longer than a request can take (the delivery timeout), so a live probe never loses its lease.
      probeLeaseSeconds: Math.max(30, Math.ceil(env.DELIVERY_TIMEOUT_MS / 1000) * 2),
      disableAfterSeconds: env.AUTO_DISABLE_AFTER_SECONDS,
    },
    operationalEventBus: env.OPERATIONAL_EVENT_BUS,
    endpoints: {
      dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB,
      sqs: env.AWS_ENDPOINT_URL_SQS,
      secretsManager: env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
      eventBridge: env.AWS_ENDPOINT_URL_EVENTBRIDGE,
    },
  };
}
