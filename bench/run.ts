/**
 * `npm run bench`: every benchmark in one run, on this machine; rewrites BENCHMARKS.md (with the machine and the
 * date) and bench/measurements.json (what `npm run cost` prices).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { benchAwsCalls } from "./aws-calls.ts";
import { benchCapacityUnits } from "./capacity-units.ts";
import { benchColdStart } from "./cold-start.ts";
import { costMarkdown, type Measurements } from "./cost.ts";
import { benchEngines } from "./engines.ts";
import { benchFanout } from "./fanout.ts";
import { benchIngest } from "./ingest.ts";
import { benchLoad } from "./load.ts";
import { stopEngines } from "./local-pipeline.ts";
import { QUICK, sized } from "./options.ts";
import { benchOverhead } from "./overhead.ts";
import { CAPACITY_EARLIER_PASS, ENDPOINT_HEALTH_COSTS } from "./recorded.ts";
import { machineLine } from "./stats.ts";

process.env.POWERTOOLS_METRICS_DISABLED = "true";
const started = Date.now();

// The same warning a thousand times is one line (and a count at the end), not a flood.
const warnings = new Map<string, number>();
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  const key = `${warning.name}: ${warning.message}`;
  if (!warnings.has(key)) console.error(`bench: warning ${key}`);
  warnings.set(key, (warnings.get(key) ?? 0) + 1);
});

/** A stage that fails is recorded (its section says why) and the run goes on with the next one. */
const failures: { stage: string; error: string }[] = [];
/** Each stage's wall time, in the report: what the run's length is made of. */
const durations: { stage: string; seconds: number; failed: boolean }[] = [];
const step = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
  const at = Date.now();
  const seconds = () => (Date.now() - at) / 1000;
  try {
    const result = await run();
    durations.push({ stage: name, seconds: seconds(), failed: false });
    console.error(`bench: ${name} done in ${seconds().toFixed(0)} s`);
    return result;
  } catch (error) {
    const detail =
      error instanceof Error
        ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ""}`
        : String(error);
    failures.push({ stage: name, error: detail });
    durations.push({ stage: name, seconds: seconds(), failed: true });
    console.error(`bench: ${name} FAILED after ${((Date.now() - at) / 1000).toFixed(0)} s: ${detail}`);
    return undefined;
  }
};
const failed = (title: string, stage: string) =>
  `## ${title}\n\nNot measured in this run: the stage failed (${failures.find((entry) => entry.stage === stage)?.error ?? "unknown error"}).`;

// Import timings first, before any engine has run: a Java process winding down would weigh on them.
const coldStart = await step("cold start", benchColdStart);
const engines = await step("engine start-up", benchEngines);
const calls = await step("AWS calls per delivery", benchAwsCalls);
const capacity = await step("capacity units", benchCapacityUnits);
const fanout = await step("fan-out", benchFanout);
const ingest = await step("ingest paths", benchIngest);
const overhead = await step("overhead", benchOverhead);
await stopEngines().catch(() => undefined);
// Two loads, each bounded. Saturation: the issue's example rate (200 events/s × 3 webhooks), far above what two
// cores shared by the whole local stack take (publishes queue at the API: ~25 events/s accepted on a quiet machine,
// ~10 on a busy one), for 4 s only, so that its backlog drains within a minute or two and the drain rate is
// measured. Sustainable: a rate the stack keeps up with even on a busy machine (tried 8, 10 and 15 events/s × 3
// while other work ran: from 10 up, the backlog grew), so that the latency is that of a stack without a backlog.
const SATURATION_RATE = 200;
const SUSTAINABLE_RATE = 8;
// A quick run skips the saturation run: even a short one takes its backlog's two minutes to drain.
const saturation = QUICK
  ? undefined
  : await step("load (saturation)", () =>
      benchLoad(
        SATURATION_RATE,
        4,
        `the local stack at ${SATURATION_RATE} events/s × 3 webhooks for 4 s (saturation, then the drain)`,
      ),
    );
const sustainable = await step("load (sustainable)", () =>
  benchLoad(
    SUSTAINABLE_RATE,
    sized(30, 10),
    `the local stack at ${SUSTAINABLE_RATE} events/s × 3 webhooks (sustainable)`,
  ),
);

const first = calls?.results[0];
const measurements: Measurements | undefined =
  first && overhead && fanout
    ? {
        deliverCallsPerDelivery: Object.fromEntries(
          Object.entries(first.deliverCalls).map(([op, n]) => [op, n / first.deliveries]),
        ),
        mappingCallsPerDelivery: Object.fromEntries(
          Object.entries(first.mappingCalls).map(([op, n]) => [op, n / first.deliveries]),
        ),
        handlerCpuMicrosPerDelivery: overhead.result.handlerCpuMicrosPerDelivery,
        publishMsPerEvent: Object.fromEntries(
          fanout.results.map((result) => [String(result.subscribers), result.medianMs]),
        ),
        ...(capacity
          ? {
              capacity: Object.fromEntries(
                capacity.rows
                  .filter((row) => row.bodyBytes === 0)
                  .map((row) => [
                    String(row.fanout),
                    {
                      eventRead: row.perEvent.readUnits,
                      eventWrite: row.perEvent.writeUnits,
                      deliveryRead: row.perDelivery.readUnits,
                      deliveryWrite: row.perDelivery.writeUnits,
                    },
                  ]),
              ),
            }
          : {}),
        ...(ingest
          ? {
              ingest: Object.fromEntries(
                (["api", "api-batch", "eventbridge"] as const).map((path) => [
                  path,
                  Object.fromEntries(
                    ingest.results
                      .filter((result) => result.ingest === path)
                      .map(({ fanout: fanOut, callsPerEvent, eventRead, eventWrite, msPerEvent }) => [
                        String(fanOut),
                        { callsPerEvent, eventRead, eventWrite, msPerEvent },
                      ]),
                  ),
                ]),
              ),
            }
          : {}),
      }
    : undefined;
if (measurements && !QUICK)
  writeFileSync(
    new URL("./measurements.json", import.meta.url),
    `${JSON.stringify(measurements, null, 2)}\n`,
  );

/**
 * The same measurement (bench/capacity-units.ts, with its `publish` call given no tenant) run once on commit
 * cda16da, before tenants and the fresh-read delivery path: kept here as the baseline the figures above compare to.
 */
const CAPACITY_BEFORE_TENANTS = [
  "Before tenants (commit `cda16da`, same measurement, 200 events per fan-out): per published event 0.50 R + 2.00 W (table only: the conditional put and the fan-out update); per first-attempt delivery 0.00 R + 5.00 W at fan-out 1 and 10 (table 2, gsi1 2, gsi2 1), webhook configs then cached per container (the cache that let a change wait 30 s).",
  "",
  "What changed: each published event now also reads its tenant (a strongly consistent GetItem, 1 R) and writes one small gsi4 entry (the tenant's event listing, which projects only the envelope's small fields: 1 W however large the body); a delivery writes the same 5 W, and its batch read now also fetches the webhooks and their tenants strongly consistent (0.1 R per delivery at fan-out 1; DynamoDB Local reports one unit per item up to 4 KB). The sparse gsi3 (due work) costs nothing on this first-attempt path: only retrying deliveries and unfinished fan-outs enter it.",
].join("\n");

const chaosPath = ".test-reports/chaos.json";
const chaos = existsSync(chaosPath)
  ? [
      "## Conservation under chaos (from the last `npm test`)",
      "",
      "`test/e2e/conservation-under-chaos.test.ts`: the worker SIGKILLed and restarted at random, SQS cut for 1.5 s at a time, five receivers misbehaving.",
      "",
      "```json",
      readFileSync(chaosPath, "utf8").trim(),
      "```",
    ].join("\n")
  : "## Conservation under chaos\n\nRun `npm test` first; its chaos suite writes `.test-reports/chaos.json`, which this file then includes.";

const failureSection =
  failures.length === 0
    ? []
    : [
        "## Stages that failed in this run",
        "",
        "| stage | error |",
        "| --- | --- |",
        ...failures.map(({ stage, error }) => `| ${stage} | ${error.replaceAll("|", "\\|")} |`),
        "",
      ];
const warningLines =
  warnings.size === 0
    ? []
    : [
        `Process warnings (each printed once): ${[...warnings].map(([key, count]) => `${key} ×${count}`).join("; ")}.`,
        "",
      ];
const durationSection = [
  "## How long each stage took",
  "",
  "Wall time of each stage in this run (the load stages include starting and stopping the local stack).",
  "",
  "| stage | seconds |",
  "| --- | --- |",
  ...durations.map(
    ({ stage, seconds, failed }) => `| ${stage}${failed ? " (failed)" : ""} | ${seconds.toFixed(0)} |`,
  ),
  `| **whole run** | **${((Date.now() - started) / 1000).toFixed(0)}** |`,
].join("\n");
const document = [
  "# Benchmarks",
  "",
  "Written by `npm run bench`; do not edit by hand. Counts are counts; timings are medians of at least five runs unless the section says otherwise; ratios are measured in the same run.",
  "",
  `Machine: ${machineLine()}. Whole run: ${((Date.now() - started) / 1000).toFixed(0)} s.${QUICK ? " QUICK RUN (`--quick`): smaller counts and fewer runs; not for BENCHMARKS.md." : ""}`,
  "",
  ...failureSection,
  ...warningLines,
  calls?.markdown ?? failed("AWS calls per delivery", "AWS calls per delivery"),
  "",
  ENDPOINT_HEALTH_COSTS,
  "",
  capacity?.markdown ?? failed("Capacity units per event and per delivery", "capacity units"),
  "",
  CAPACITY_EARLIER_PASS,
  "",
  CAPACITY_BEFORE_TENANTS,
  "",
  fanout?.markdown ?? failed("Fan-out cost", "fan-out"),
  "",
  ingest?.markdown ?? failed("Publishing per ingest path", "ingest paths"),
  "",
  overhead?.markdown ?? failed("Delivery overhead against the floor", "overhead"),
  "",
  coldStart?.markdown ?? failed("Cold-start proxy", "cold start"),
  "",
  measurements
    ? costMarkdown(measurements)
    : "## Cost model\n\nNot computed in this run: it needs the AWS calls, fan-out and overhead stages.",
  "",
  saturation?.markdown ??
    (QUICK
      ? "## Load (saturation)\n\nSkipped in a quick run."
      : failed("Load (saturation)", "load (saturation)")),
  "",
  sustainable?.markdown ?? failed("Load (sustainable)", "load (sustainable)"),
  "",
  chaos,
  "",
  engines ?? failed("Local engine start-up", "engine start-up"),
  "",
  durationSection,
  "",
].join("\n");
if (QUICK) {
  mkdirSync(".test-reports", { recursive: true });
  writeFileSync(".test-reports/bench-quick.md", document);
} else writeFileSync("BENCHMARKS.md", document);
console.log(document);
if (failures.length > 0) process.exitCode = 1;
