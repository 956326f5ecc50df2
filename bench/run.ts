/**
 * `npm run bench`: every benchmark in one run, on this machine; rewrites BENCHMARKS.md (with the machine and the
 * date) and bench/measurements.json (what `npm run cost` prices).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { benchAwsCalls } from "./aws-calls.ts";
import { benchColdStart } from "./cold-start.ts";
import { costMarkdown, type Measurements } from "./cost.ts";
import { benchEngines } from "./engines.ts";
import { benchFanout } from "./fanout.ts";
import { benchLoad } from "./load.ts";
import { stopEngines } from "./local-pipeline.ts";
import { benchOverhead } from "./overhead.ts";
import { machineLine } from "./stats.ts";

process.env.POWERTOOLS_METRICS_DISABLED = "true";
const started = Date.now();
const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  const at = Date.now();
  const result = await run();
  console.error(`bench: ${name} done in ${((Date.now() - at) / 1000).toFixed(0)} s`);
  return result;
};

const engines = await step("engine start-up", benchEngines);
const coldStart = await step("cold start", benchColdStart);
const calls = await step("AWS calls per delivery", benchAwsCalls);
const fanout = await step("fan-out", benchFanout);
const overhead = await step("overhead", benchOverhead);
await stopEngines();
// The example load (200 events/s × 3 webhooks) saturates two cores shared by the whole local stack; a
// second run at a rate the machine sustains shows the latency without a backlog.
const saturation = await step("load (saturation)", () =>
  benchLoad(
    Number(process.env.LOAD_RATE ?? 200),
    Number(process.env.LOAD_SECONDS ?? 30),
    "the local stack at 200 events/s × 3 webhooks (saturation)",
  ),
);
const sustainable = await step("load (sustainable)", () =>
  benchLoad(40, 30, "the local stack at 40 events/s × 3 webhooks (sustainable)"),
);

const first = calls.results[0];
const measurements: Measurements = {
  deliverCallsPerDelivery: Object.fromEntries(
    Object.entries(first?.deliverCalls ?? {}).map(([op, n]) => [op, n / (first?.deliveries ?? 1)]),
  ),
  mappingCallsPerDelivery: Object.fromEntries(
    Object.entries(first?.mappingCalls ?? {}).map(([op, n]) => [op, n / (first?.deliveries ?? 1)]),
  ),
  handlerCpuMicrosPerDelivery: overhead.result.handlerCpuMicrosPerDelivery,
  publishMsPerEvent: Object.fromEntries(
    fanout.results.map((result) => [String(result.subscribers), result.medianMs]),
  ),
};
writeFileSync(new URL("./measurements.json", import.meta.url), `${JSON.stringify(measurements, null, 2)}\n`);

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

const document = [
  "# Benchmarks",
  "",
  "Written by `npm run bench`; do not edit by hand. Counts are counts; timings are medians of at least five runs unless the section says otherwise; ratios are measured in the same run.",
  "",
  `Machine: ${machineLine()}. Whole run: ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  "",
  calls.markdown,
  "",
  fanout.markdown,
  "",
  overhead.markdown,
  "",
  coldStart.markdown,
  "",
  costMarkdown(measurements),
  "",
  saturation.markdown,
  "",
  sustainable.markdown,
  "",
  chaos,
  "",
  engines,
  "",
].join("\n");
writeFileSync("BENCHMARKS.md", document);
console.log(document);
