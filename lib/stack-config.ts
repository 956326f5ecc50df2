/**
 * The stack's props, typed and validated. They come from CDK context (`-c stage=prod -c alarmEmail=…`, or
 * `cdk.json`), so a typo fails the synth with the offending key named.
 */
import { z } from "zod";
import { deliveryQueue } from "#core/resource-definitions.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_RETRY_DELAY_SECONDS,
  worstCaseScheduleSeconds,
} from "#core/retry-policy.ts";

const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const configShape = z.object({
  /** Part of the stack name and of the secret name prefix; never of a physical resource name. */
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,23}$/, "lowercase letters, digits and -, starting with a letter"),
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
  /** EventBridge pattern for the ingest rule; default: every custom (non-`aws.`) event on the bus. */
  eventPattern: z.record(z.string(), z.unknown()).optional(),
  logLevel: z.enum(LOG_LEVELS).default("INFO"),
  maxConcurrency: z.number().int().min(2).max(1000).default(50),
  batchingWindowSeconds: z.number().int().min(0).max(300).default(0),
  apiThrottleRatePerSecond: z.number().int().min(1).max(10_000).default(100),
  apiThrottleBurst: z.number().int().min(1).max(5000).default(200),
  deletionProtection: z.boolean().default(true),
});

export const stackConfigSchema = configShape.superRefine((config, context) => {
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
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

/** Total span of the schedule in seconds (without jitter). */
export const scheduleSpanSeconds = (config: StackConfig) =>
  config.retryScheduleSeconds.reduce((sum, step) => sum + step, 0);

const JSON_KEYS = ["retryScheduleSeconds", "eventPattern"] as const;
const BOOLEAN_KEYS = [
  "allowHttpDestinations",
  "allowPrivateDestinations",
  "allowAuthorizationHeader",
  "deletionProtection",
] as const;
const NUMBER_KEYS = [
  "retentionDays",
  "logRetentionDays",
  "maxConcurrency",
  "batchingWindowSeconds",
  "apiThrottleRatePerSecond",
  "apiThrottleBurst",
] as const;

/** Context values arrive as strings from `-c key=value` and as JSON values from cdk.json. */
function fromContext(key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if ((JSON_KEYS as readonly string[]).includes(key)) {
    try {
      return JSON.parse(value);
    } catch {
      throw new Error(`invalid stack configuration: ${key}: not valid JSON`);
    }
  }
  if ((BOOLEAN_KEYS as readonly string[]).includes(key) && (value === "true" || value === "false"))
    return value === "true";
  if ((NUMBER_KEYS as readonly string[]).includes(key) && /^\d+$/.test(value)) return Number(value);
  return value;
}

export function stackConfigFromContext(read: (key: string) => unknown): StackConfig {
  const raw: Record<string, unknown> = { stage: "dev" };
  for (const key of Object.keys(configShape.shape)) {
    const value = read(key);
    if (value !== undefined) raw[key] = fromContext(key, value);
  }
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid stack configuration: ${issues.join("; ")}`);
  }
  return parsed.data;
}
