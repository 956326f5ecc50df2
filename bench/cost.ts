/**
 * `npm run cost`: dollars per million deliveries from the call counts and handler time measured by `npm run bench`
 * (bench/measurements.json), with the list prices below. Printed, and written into BENCHMARKS.md by the bench.
 * The alarms' fixed cost comes from the stack itself: its template is synthesized (without bundling) and counted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "#lib/app.ts";
import { INGEST_PATHS, type IngestMeasurement, type IngestPath } from "./ingest.ts";

interface TemplateResources {
  readonly Resources: Record<string, { Type: string; Properties?: { Metrics?: { MetricStat?: unknown }[] } }>;
}

/**
 * Alarms and the metrics they read in a synthesized template: CloudWatch bills an alarm per metric it reads, so a
 * single-metric alarm counts one and a metric-math alarm each metric of its expression (not the expression).
 */
export function alarmsIn(template: TemplateResources): { alarms: number; metrics: number } {
  const alarms = Object.values(template.Resources).filter(
    (resource) => resource.Type === "AWS::CloudWatch::Alarm",
  );
  const metrics = alarms.reduce(
    (sum, alarm) =>
      sum + (alarm.Properties?.Metrics?.filter((query) => query.MetricStat !== undefined).length ?? 1),
    0,
  );
  return { alarms: alarms.length, metrics };
}

/** The alarms of the stack as `cdk deploy` creates it with the default props. */
export function stackAlarms(): { alarms: number; metrics: number } {
  const outdir = mkdtempSync(join(tmpdir(), "sw-cost-"));
  try {
    const { app, stack } = createApp({
      outdir,
      context: { stage: "cost", "aws:cdk:bundling-stacks": [] },
    });
    return alarmsIn(app.synth().getStackArtifact(stack.artifactId).template as TemplateResources);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** us-east-1 list prices, one table. Check them before relying on the result. */
const PRICES = {
  lambdaGbSecondArm: {
    usd: 0.0000133334,
    unit: "GB-second (arm64)",
    source: "https://aws.amazon.com/lambda/pricing/",
    asOf: "2026-11",
  },
  lambdaRequest: {
    usd: 0.2 / 1e6,
    unit: "request",
    source: "https://aws.amazon.com/lambda/pricing/",
    asOf: "2026-11",
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    unit: "request (64 KiB chunk), standard queue",
    source: "https://aws.amazon.com/sqs/pricing/",
    asOf: "2026-11",
  },
  dynamoWrite: {
    usd: 0.625 / 1e6,
    unit: "write request unit (on-demand)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    asOf: "2026-11",
  },
  dynamoRead: {
    usd: 0.125 / 1e6,
    unit: "read request unit (on-demand)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    asOf: "2026-11",
  },
  apiGatewayRequest: {
    usd: 3.5 / 1e6,
    unit: "REST API request (first 333 M)",
    source: "https://aws.amazon.com/api-gateway/pricing/",
    asOf: "2026-11",
  },
  eventBridgeEvent: {
    usd: 1.0 / 1e6,
    unit: "custom event published",
    source: "https://aws.amazon.com/eventbridge/pricing/",
    asOf: "2026-11",
  },
  eventBridgeApiDestination: {
    usd: 0.2 / 1e6,
    unit: "API destination invocation",
    source: "https://aws.amazon.com/eventbridge/pricing/",
    asOf: "2026-11",
  },
  secretMonth: {
    usd: 0.4,
    unit: "secret per month",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
    asOf: "2026-11",
  },
  secretsApiCall: {
    usd: 0.05 / 1e4,
    unit: "Secrets Manager API call",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
    asOf: "2026-11",
  },
  logsIngestGb: {
    usd: 0.5,
    unit: "GB of CloudWatch Logs ingested",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    asOf: "2026-11",
  },
  alarmMonth: {
    usd: 0.1,
    unit: "standard alarm per month",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    asOf: "2026-11",
  },
  dashboardMonth: {
    usd: 3,
    unit: "dashboard per month",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    asOf: "2026-11",
  },
} as const;

export interface Measurements {
  /** Deliver Lambda SDK calls per successful first-attempt delivery, by operation. */
  readonly deliverCallsPerDelivery: Record<string, number>;
  /** Event source mapping calls (ReceiveMessage, DeleteMessageBatch) per delivery. */
  readonly mappingCallsPerDelivery: Record<string, number>;
  /** Handler CPU per delivery in µs (deliver handler, measured). */
  readonly handlerCpuMicrosPerDelivery: number;
  /** Publish wall time per event in ms for N = 1 and 10 (measured). */
  readonly publishMsPerEvent: Record<string, number>;
  /**
   * DynamoDB units DynamoDB Local reported (`ReturnConsumedCapacity: "INDEXES"`, table and indexes), per fan-out:
   * per published event and per first-attempt delivery, the deliver transaction priced item by item
   * (bench/capacity.ts, `TransactionReplay`: DynamoDB Local under-reports TransactWriteItems).
   */
  readonly capacity?: Record<
    string,
    { eventRead: number; eventWrite: number; deliveryRead: number; deliveryWrite?: number }
  >;
  /** Publishing per ingest path and fan-out (bench/ingest.ts): calls, units and wall time per event. */
  readonly ingest?: Partial<Record<IngestPath, Record<string, IngestMeasurement>>>;
}

/** What the model assumes beyond the measurements. */
export const ASSUMPTIONS = {
  deliverMemoryGb: 1,
  publishMemoryGb: 0.5,
  /** The receiver's answer time dominates a delivery's duration; ten POSTs of a batch run in parallel. */
  receiverLatencyMs: 200,
  batchSize: 10,
  /**
   * Used only when no capacity measurement is at hand (the measured figure replaces them): a first-attempt
   * delivery's transaction, the delivery and the attempt item at 2 units each (a transactional write is billed
   * double), their index entries gsi1 (2) and gsi2 (1).
   */
  writeUnitsPerDelivery: 7,
  readUnitsPerDelivery: 1,
  writeUnitsPerEvent: 3,
  readUnitsPerEvent: 1.5,
  /** Sealed secret storage: the key-encryption key is re-read once per warm container every 5 minutes. */
  warmDeliverContainers: 50,
  logBytesPerDelivery: 450,
  logBytesPerEvent: 400,
};

/** The EventBridge ingest queue: EventBridge's SendMessage per event, the mapping's receive and delete per batch. */
const INGEST_QUEUE_REQUESTS_PER_EVENT = 1 + 2 / INGEST_PATHS.eventbridge.eventsPerInvocation;

export function costPerMillionDeliveries(measured: Measurements, fanOut: number, ingest: IngestPath) {
  const a = ASSUMPTIONS;
  const p = PRICES;
  const deliveries = 1e6;
  const events = deliveries / fanOut;
  const path = INGEST_PATHS[ingest];
  const units = measured.capacity?.[String(fanOut)];
  const publishing = measured.ingest?.[ingest]?.[String(fanOut)];
  const mapping = Object.values(measured.mappingCallsPerDelivery).reduce((sum, n) => sum + n, 0);
  const batchSeconds =
    (a.receiverLatencyMs + (measured.handlerCpuMicrosPerDelivery * a.batchSize) / 1000) / 1000;
  const deliverGbSeconds = (deliveries / a.batchSize) * batchSeconds * a.deliverMemoryGb;
  const publishMs =
    publishing?.msPerEvent ??
    measured.publishMsPerEvent[String(fanOut)] ??
    measured.publishMsPerEvent["1"] ??
    30;
  const publishGbSeconds = events * (publishMs / 1000) * a.publishMemoryGb;
  const sendsPerEvent = publishing?.callsPerEvent.SendMessageBatch ?? Math.ceil(fanOut / 10);
  const lines: Record<string, number> = {
    "deliver Lambda":
      (deliveries / a.batchSize) * p.lambdaRequest.usd + deliverGbSeconds * p.lambdaGbSecondArm.usd,
    "publish Lambda":
      (events / path.eventsPerInvocation) * p.lambdaRequest.usd + publishGbSeconds * p.lambdaGbSecondArm.usd,
    SQS:
      (events * sendsPerEvent +
        deliveries * mapping +
        (ingest === "eventbridge" ? events * INGEST_QUEUE_REQUESTS_PER_EVENT : 0)) *
      p.sqsRequest.usd,
    DynamoDB:
      deliveries *
        ((units?.deliveryWrite ?? a.writeUnitsPerDelivery) * p.dynamoWrite.usd +
          (units?.deliveryRead ?? a.readUnitsPerDelivery) * p.dynamoRead.usd) +
      events *
        ((publishing?.eventWrite ?? units?.eventWrite ?? a.writeUnitsPerEvent) * p.dynamoWrite.usd +
          (publishing?.eventRead ?? units?.eventRead ?? a.readUnitsPerEvent) * p.dynamoRead.usd),
    "Secrets Manager":
      deliveries * (measured.deliverCallsPerDelivery.GetSecretValueCommand ?? 0) * p.secretsApiCall.usd,
    "CloudWatch Logs":
      ((deliveries * a.logBytesPerDelivery + events * a.logBytesPerEvent) / 1e9) * p.logsIngestGb.usd,
    ...(ingest === "eventbridge"
      ? { EventBridge: events * p.eventBridgeEvent.usd }
      : { "API Gateway": (events / path.eventsPerRequest) * p.apiGatewayRequest.usd }),
  };
  return { lines, total: Object.values(lines).reduce((sum, value) => sum + value, 0) };
}

/** A sealed secret version's item (keys, ciphertext, IV, tag, key version, timestamps), rounded up. */
const SEALED_ITEM_BYTES = 400;
const DYNAMO_STORAGE_GB_MONTH = 0.25;
const sealedKeyReads = () => ASSUMPTIONS.warmDeliverContainers * 12 * 24 * 30 * PRICES.secretsApiCall.usd;
const sealedMonthly = (webhooks: number) =>
  PRICES.secretMonth.usd +
  sealedKeyReads() +
  ((webhooks * 2 * SEALED_ITEM_BYTES) / 1e9) * DYNAMO_STORAGE_GB_MONTH;

export function costMarkdown(
  measured: Measurements,
  alarms: { alarms: number; metrics: number } = stackAlarms(),
): string {
  const scenarios = [1, 10].flatMap((fanOut) =>
    (Object.keys(INGEST_PATHS) as IngestPath[]).map((ingest) => [fanOut, ingest] as const),
  );
  const computed = scenarios.map(([fanOut, ingest]) => ({
    fanOut,
    ingest,
    ...costPerMillionDeliveries(measured, fanOut, ingest),
  }));
  const services = [...new Set(computed.flatMap((row) => Object.keys(row.lines)))];
  const apiDestinations = (fanOut: number) =>
    (1e6 / fanOut) * PRICES.eventBridgeEvent.usd + 1e6 * PRICES.eventBridgeApiDestination.usd;
  return [
    "## Cost model",
    "",
    `Dollars per million deliveries that succeed at the first attempt, from the measured call counts, handler CPU and DynamoDB capacity units above (${measured.capacity ? "read and write units per event and per delivery as measured at each fan-out, the deliver transaction priced item by item" : "no capacity measurement in this run: DynamoDB from the assumptions"}), priced with the table below. Assumptions: ${Object.entries(
      ASSUMPTIONS,
    )
      .map(([key, value]) => `${key} = ${value}`)
      .join(", ")}. A retry costs roughly one more delivery's Lambda, DynamoDB and SQS share.`,
    "",
    `| $ per million deliveries | ${computed.map((row) => `fan-out ${row.fanOut}, ${INGEST_PATHS[row.ingest].label}`).join(" | ")} |`,
    `| --- | ${computed.map(() => "---").join(" | ")} |`,
    ...services.map(
      (service) =>
        `| ${service} | ${computed.map((row) => (row.lines[service] === undefined ? "—" : `$${row.lines[service]?.toFixed(2)}`)).join(" | ")} |`,
    ),
    `| **total** | ${computed.map((row) => `**$${row.total.toFixed(2)}**`).join(" | ")} |`,
    `| EventBridge API destinations, for comparison (events put + invocations; no fan-out management, signatures, retries history or redrive API) | ${computed.map((row) => `$${apiDestinations(row.fanOut).toFixed(2)}`).join(" | ")} |`,
    "",
    `Publishing is priced per ingest path from "Publishing per ingest path" above: Lambda invocations per event (1, 1/100, 1/10), the measured wall time per event, SendMessageBatch calls and DynamoDB units per event. The EventBridge path adds its ingest queue: EventBridge's SendMessage per event and the mapping's receive and delete per batch of ten (${INGEST_QUEUE_REQUESTS_PER_EVENT.toFixed(1)} requests per event). EventBridge is priced as custom events (PutEvents, $1.00 per million); AWS management events that AWS services put on the default bus are ingested free, which takes that line off.`,
    "",
    `Fixed monthly cost besides the secrets: ${alarms.alarms} alarms reading ${alarms.metrics} metrics ($${(alarms.metrics * PRICES.alarmMonth.usd).toFixed(2)}: a metric-math alarm is billed per metric) and the dashboard ($${PRICES.dashboardMonth.usd.toFixed(2)}). The signing secrets, by \`secretStorage\`:`,
    "",
    "| signing secrets, a month | 1,000 webhooks | 10,000 webhooks |",
    "| --- | --- | --- |",
    `| \`secrets-manager\` (default): one secret per webhook at $${PRICES.secretMonth.usd.toFixed(2)} | $${(1000 * PRICES.secretMonth.usd).toFixed(2)} | $${(10_000 * PRICES.secretMonth.usd).toFixed(2)} |`,
    `| \`sealed\`: one key-encryption key ($${PRICES.secretMonth.usd.toFixed(2)}), re-read every 5 minutes by each of ${ASSUMPTIONS.warmDeliverContainers} warm containers ($${sealedKeyReads().toFixed(2)}), and the sealed items in the table (${SEALED_ITEM_BYTES} bytes per secret version, two versions during a rotation: under $0.01 of storage) | $${sealedMonthly(1000).toFixed(2)} | $${sealedMonthly(10_000).toFixed(2)} |`,
    "",
    "| price | USD | unit | source | as of |",
    "| --- | --- | --- | --- | --- |",
    ...Object.entries(PRICES).map(([name, price]) => {
      const usd =
        price.usd < 0.01 ? `$${Number((price.usd * 1e6).toPrecision(6))} per million` : `$${price.usd}`;
      return `| ${name} | ${usd} | ${price.unit} | ${price.source} | ${price.asOf} |`;
    }),
  ].join("\n");
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const path = new URL("./measurements.json", import.meta.url);
  if (!existsSync(path)) {
    console.error("No bench/measurements.json yet: run `npm run bench` first.");
    process.exit(1);
  }
  console.log(costMarkdown(JSON.parse(readFileSync(path, "utf8")) as Measurements));
}
