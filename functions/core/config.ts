/** Runtime configuration, parsed once per container from the environment; fails fast naming the variable. */
import { z } from "zod";
import { type DestinationPolicy, parsePortRanges } from "./destination-policy.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER_RATIO,
  parseSchedule,
  type RetryPolicy,
} from "./retry-policy.ts";

const flag = z
  .enum(["true", "false"])
  .default("false")
  .transform((value) => value === "true");
const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

const environmentSchema = z.object({
  AWS_REGION: z.string().min(1),
  TABLE_NAME: z.string().min(1),
  DELIVERY_QUEUE_URL: z.url(),
  DEAD_LETTER_QUEUE_URL: z.url(),
  SECRET_NAME_PREFIX: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, "letters, digits and /_+=.@- only"),
  RETRY_SCHEDULE_SECONDS: z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined || text === "") return DEFAULT_RETRY_SCHEDULE_SECONDS;
      try {
        return parseSchedule(text);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  DELIVERY_TIMEOUT_MS: positiveInt(15_000, 60_000),
  ALLOW_HTTP_DESTINATIONS: flag,
  ALLOWED_PORTS: z
    .string()
    .default("443")
    .transform((text, context) => {
      try {
        return parsePortRanges(text);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  ALLOW_PRIVATE_DESTINATIONS: z.enum(["none", "loopback"]).default("none"),
  ALLOW_AUTHORIZATION_HEADER: flag,
  RETENTION_DAYS: positiveInt(30, 365),
  WEBHOOK_CACHE_TTL_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  DEPENDENCY_BACKOFF_SECONDS: positiveInt(30, 900),
  AWS_ENDPOINT_URL_DYNAMODB: z.url().optional(),
  AWS_ENDPOINT_URL_SQS: z.url().optional(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: z.url().optional(),
});

export interface Config {
  readonly region: string;
  readonly tableName: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly secretNamePrefix: string;
  readonly retryPolicy: RetryPolicy;
  readonly deliveryTimeoutMs: number;
  readonly destinationPolicy: DestinationPolicy;
  readonly allowAuthorizationHeader: boolean;
  readonly retentionDays: number;
  readonly webhookCacheTtlMs: number;
  readonly dependencyBackoffSeconds: number;
  readonly endpoints: {
    dynamodb?: string | undefined;
    sqs?: string | undefined;
    secretsManager?: string | undefined;
  };
}

export class ConfigError extends Error {
  constructor(issues: readonly string[]) {
    super(`invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(environment: Readonly<Record<string, string | undefined>>): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const env = parsed.data;
  return {
    region: env.AWS_REGION,
    tableName: env.TABLE_NAME,
    deliveryQueueUrl: env.DELIVERY_QUEUE_URL,
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL,
    secretNamePrefix: env.SECRET_NAME_PREFIX,
    retryPolicy: { scheduleSeconds: env.RETRY_SCHEDULE_SECONDS, jitterRatio: JITTER_RATIO },
    deliveryTimeoutMs: env.DELIVERY_TIMEOUT_MS,
    destinationPolicy: {
      allowHttp: env.ALLOW_HTTP_DESTINATIONS,
      allowedPorts: env.ALLOWED_PORTS,
      allowPrivate: env.ALLOW_PRIVATE_DESTINATIONS,
    },
    allowAuthorizationHeader: env.ALLOW_AUTHORIZATION_HEADER,
    retentionDays: env.RETENTION_DAYS,
    webhookCacheTtlMs: env.WEBHOOK_CACHE_TTL_MS,
    dependencyBackoffSeconds: env.DEPENDENCY_BACKOFF_SECONDS,
    endpoints: {
      dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB,
      sqs: env.AWS_ENDPOINT_URL_SQS,
      secretsManager: env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    },
  };
}
