/**
 * The stack's props, typed and validated. They come from CDK context (`-c stage=prod -c alarmEmail=…`, or
 * `cdk.json`), so a typo fails the synth with the offending key named. A `-c` value takes the same form as the
 * matching Lambda environment variable (`retryScheduleSeconds=2,5` like RETRY_SCHEDULE_SECONDS, lists
 * comma-separated); a JSON array works too, and `cdk.json` may hold real arrays, numbers and booleans.
 */
import { z } from "zod";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_RETRY_DELAY_SECONDS,
  parseSchedule,
  worstCaseScheduleSeconds,
} from "#core/delivery/retry-policy.ts";
import { DEFAULT_HEALTH_POLICY } from "#core/health/endpoint-health.ts";
import { SECRET_STORAGES } from "#core/shared/config.ts";
import { deliveryQueue, MAX_DELIVER_BATCH_SIZE } from "#core/shared/resource-definitions.ts";
import { DEFAULT_MAX_WEBHOOKS_PER_TENANT, TENANT_ID_PATTERN } from "#core/tenants/tenants.ts";

const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** An EventBridge `source` or `detail-type` matched exactly: printable ASCII, no pattern syntax. */
const exactEventValue = (what: string) =>
  z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x20-\x7e]+$/, `${what}: printable ASCII`)
    .refine((value) => value.trim() === value && !/[*?]/.test(value), {
      message: `${what} is matched exactly: no wildcards, no surrounding spaces`,
    });

/**
 * The platform's props, for the `Webhooks` construct and (as CDK context) for this repository's own app. Each is
 * documented here; `docs/deploy.md` has the table.
 */
const webhooksShape = z.object({
  /** Part of the stack name and of the secret name prefix; never of a physical resource name. */
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,23}$/, "lowercase letters, digits and -, starting with a letter")
    .default("dev"),
  retryScheduleSeconds: z
    .array(z.number().int().min(0).max(MAX_RETRY_DELAY_SECONDS))
    .min(0)
    .max(20)
    .default([...DEFAULT_RETRY_SCHEDULE_SECONDS]),
  allowHttpDestinations: z.boolean().default(false),
  allowPrivateDestinations: z.boolean().default(false),
  allowedPorts: z
    .string()
    .regex(/^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/)
    .default("443"),
  allowAuthorizationHeader: z.boolean().default(false),
  /** Subscriptions must name catalogued event types even while the catalogue is empty (docs/routing.md). */
  strictEventTypes: z.boolean().default(false),
  alarmEmail: z.email().optional(),
  alarmTopicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/)
    .optional(),
  retentionDays: z.number().int().min(1).max(365).default(30),
  logRetentionDays: z
    .number()
    .refine(
      (days) => LOG_RETENTION_DAYS.includes(days),
      `one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    )
    .default(30),
  eventBusName: z.string().min(1).max(256).default("default"),
  /** Where operational events go (docs/endpoint-health.md): a bus in this account and region, by name. */
  operationalEventBusName: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/, "an event bus name in this account (letters, digits, . _ -)")
    .default("default"),
  /** Circuit breaker: the failure-density window, the attempts it needs, the failed share that opens it. */
  circuitWindowSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_HEALTH_POLICY.windowSeconds),
  circuitMinAttempts: z.number().int().min(1).max(100_000).default(DEFAULT_HEALTH_POLICY.minAttempts),
  circuitFailurePercent: z.number().int().min(1).max(100).default(DEFAULT_HEALTH_POLICY.failurePercent),
  /** While open, one probe per this many seconds. */
  circuitProbeIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(DEFAULT_HEALTH_POLICY.probeIntervalSeconds),
  /** A webhook with no successful delivery for this many days is disabled (0: never). */
  autoDisableAfterDays: z
    .number()
    .min(0)
    .max(30)
    .default(DEFAULT_HEALTH_POLICY.disableAfterSeconds / 86_400),
  /**
   * The EventBridge ingest rule forwards events from exactly these sources (and, if given, only these
   * detail-types). No sources: no rule, and events arrive through `POST /events` only.
   */
  eventSources: z.array(exactEventValue("eventSources")).min(1).max(50).optional(),
  eventDetailTypes: z.array(exactEventValue("eventDetailTypes")).min(1).max(50).optional(),
  logLevel: z.enum(LOG_LEVELS).default("INFO"),
  /**
   * Where webhook signing secrets live: `secrets-manager` (one secret per webhook, $0.40 a month each) or `sealed`
   * (AES-256-GCM in the table under one key-encryption key in Secrets Manager; docs/secrets.md).
   */
  secretStorage: z.enum(SECRET_STORAGES).default("secrets-manager"),
  maxConcurrency: z.number().int().min(2).max(1000).default(50),
  batchingWindowSeconds: z.number().int().min(0).max(300).default(0),
  /**
   * Messages per deliver invocation (docs/scale.md). Above 10, Lambda requires a batching window of at least 1 s;
   * at most 100, so that one invocation's sends and ledger writes stay bounded.
   */
  deliverBatchSize: z.number().int().min(1).max(MAX_DELIVER_BATCH_SIZE).default(10),
  /**
   * The ingest queue's event source mapping (EventBridge → publish): how long it waits to fill a batch of 10
   * (0: invoke as soon as records are there; a backlog fills batches anyway) and how many batches at once.
   */
  ingestBatchingWindowSeconds: z.number().int().min(0).max(300).default(0),
  ingestMaxConcurrency: z.number().int().min(2).max(1000).default(50),
  apiThrottleRatePerSecond: z.number().int().min(1).max(10_000).default(100),
  apiThrottleBurst: z.number().int().min(1).max(5000).default(200),
  /** The portal API's stage throttle (all tenants together) and each tenant's own limit (docs/portal.md). */
  portalThrottleRatePerSecond: z.number().int().min(1).max(10_000).default(50),
  portalThrottleBurst: z.number().int().min(1).max(5000).default(100),
  portalTenantRatePerSecond: z.number().int().min(1).max(10_000).default(10),
  portalTenantBurst: z.number().int().min(1).max(10_000).default(20),
  deletionProtection: z.boolean().default(true),
  /** Webhooks one tenant may have; one more is a 409 naming this limit. */
  maxWebhooksPerTenant: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_WEBHOOKS_PER_TENANT),
  /** Where an EventBridge event names its tenant. */
  tenantIdPath: z
    .string()
    .regex(/^detail(\.[A-Za-z0-9_-]+)+$/, "a dotted path under detail, e.g. detail.tenantId")
    .default("detail.tenantId"),
  /** The tenant of EventBridge events that name none (e.g. AWS services' events); none: they are kept aside. */
  defaultTenantId: z.string().regex(TENANT_ID_PATTERN, "a tenant id: 1–64 of A-Z a-z 0-9 _ . -").optional(),
});

const configShape = webhooksShape.extend({
  /** Deploy into this account and region; unset, the stack deploys where the CLI's credentials and region point. */
  account: z
    .string()
    .regex(/^\d{12}$/, "a 12-digit AWS account id")
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, "an AWS region code such as eu-west-1")
    .optional(),
});

function checkTogether(config: z.infer<typeof webhooksShape>, context: z.RefinementCtx): void {
  if (config.deliverBatchSize > 10 && config.batchingWindowSeconds < 1) {
    context.addIssue({
      code: "custom",
      path: ["deliverBatchSize"],
      message: `a batch of more than 10 messages (${config.deliverBatchSize}) needs batchingWindowSeconds of at least 1 (an SQS event source mapping rule)`,
    });
  }
  const needed = worstCaseScheduleSeconds(config.retryScheduleSeconds);
  if (needed > deliveryQueue.retentionPeriodSeconds) {
    context.addIssue({
      code: "custom",
      path: ["retryScheduleSeconds"],
      message: `the schedule can take ${needed} s with jitter and a day of margin, more than the delivery queue keeps a message (${deliveryQueue.retentionPeriodSeconds} s)`,
    });
  }
  if (config.allowPrivateDestinations && /prod/i.test(config.stage)) {
    context.addIssue({
      code: "custom",
      path: ["allowPrivateDestinations"],
      message: `private destinations cannot be allowed in a stage named like production ("${config.stage}")`,
    });
  }
  if (config.eventDetailTypes && !config.eventSources) {
    context.addIssue({
      code: "custom",
      path: ["eventDetailTypes"],
      message: "detail-types filter the sources in eventSources: name the sources too",
    });
  }
  const awsSources = (config.eventSources ?? []).filter((source) => source.startsWith("aws."));
  if (awsSources.length > 0 && !config.eventDetailTypes) {
    context.addIssue({
      code: "custom",
      path: ["eventDetailTypes"],
      message: `an AWS service emits many kinds of events (${awsSources.join(", ")}): name the detail-types to forward`,
    });
  }
}

export const webhooksPropsSchema = webhooksShape.superRefine(checkTogether);
export const stackConfigSchema = configShape.superRefine(checkTogether);

/** What `new Webhooks(scope, id, props)` takes: every prop optional, with the defaults documented above. */
export type WebhooksProps = z.input<typeof webhooksPropsSchema>;
export type WebhooksConfig = z.infer<typeof webhooksPropsSchema>;
export type StackConfig = z.infer<typeof stackConfigSchema>;

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid ${what}: ${issues.join("; ")}`);
  }
  return parsed.data;
}

export function parseWebhooksProps(props: WebhooksProps): WebhooksConfig {
  return parseOrThrow(webhooksPropsSchema, props, "Webhooks props");
}

/** The ingest rule's EventBridge pattern: exactly the configured sources and detail-types, or no rule at all. */
export function ingestEventPattern(
  config: Pick<StackConfig, "eventSources" | "eventDetailTypes">,
): { source: string[]; "detail-type"?: string[] } | undefined {
  if (!config.eventSources) return undefined;
  return {
    source: [...config.eventSources],
    ...(config.eventDetailTypes ? { "detail-type": [...config.eventDetailTypes] } : {}),
  };
}

/** Keys whose value is a list: comma-separated (as in the environment variables) or a JSON array. */
const LIST_KEYS = ["retryScheduleSeconds", "eventSources", "eventDetailTypes"] as const;
const BOOLEAN_KEYS = [
  "allowHttpDestinations",
  "allowPrivateDestinations",
  "allowAuthorizationHeader",
  "strictEventTypes",
  "deletionProtection",
] as const;
const NUMBER_KEYS = [
  "retentionDays",
  "logRetentionDays",
  "maxConcurrency",
  "batchingWindowSeconds",
  "deliverBatchSize",
  "ingestBatchingWindowSeconds",
  "ingestMaxConcurrency",
  "apiThrottleRatePerSecond",
  "apiThrottleBurst",
  "portalThrottleRatePerSecond",
  "portalThrottleBurst",
  "portalTenantRatePerSecond",
  "portalTenantBurst",
  "maxWebhooksPerTenant",
  "circuitWindowSeconds",
  "circuitMinAttempts",
  "circuitFailurePercent",
  "circuitProbeIntervalSeconds",
  "autoDisableAfterDays",
] as const;

function listFromContext(key: string, value: string): unknown {
  if (value.trim().startsWith("[")) {
    try {
      return JSON.parse(value);
    } catch {
      throw new Error(`invalid stack configuration: ${key}: a JSON array that does not parse`);
    }
  }
  if (key === "retryScheduleSeconds") {
    try {
      return parseSchedule(value);
    } catch (error) {
      throw new Error(`invalid stack configuration: ${key}: ${(error as Error).message}`);
    }
  }
  return value.split(",").map((part) => part.trim());
}

/** Context values arrive as strings from `-c key=value` and as JSON values from cdk.json. */
function fromContext(key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if ((LIST_KEYS as readonly string[]).includes(key)) return listFromContext(key, value);
  if ((BOOLEAN_KEYS as readonly string[]).includes(key) && (value === "true" || value === "false"))
    return value === "true";
  if ((NUMBER_KEYS as readonly string[]).includes(key) && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

/** Keys that used to exist: refused with what replaced them, rather than silently ignored. */
const REPLACED_KEYS: Readonly<Record<string, string>> = {
  eventPattern:
    "eventPattern was replaced by eventSources (and eventDetailTypes): name the sources to forward, e.g. -c eventSources=com.example.orders",
};

export function stackConfigFromContext(read: (key: string) => unknown): StackConfig {
  for (const [key, message] of Object.entries(REPLACED_KEYS))
    if (read(key) !== undefined) throw new Error(`invalid stack configuration: ${message}`);
  const raw: Record<string, unknown> = { stage: "dev" };
  for (const key of Object.keys(configShape.shape)) {
    const value = read(key);
    if (value !== undefined) raw[key] = fromContext(key, value);
  }
  return parseOrThrow(stackConfigSchema, raw, "stack configuration");
}
