/** Fan-out cost: SDK calls and publish wall time per event, for N = 1, 10, 100 and 1,000 subscribers. */
import { publish } from "#core/publishing/publish.ts";
import { BENCH_TENANT, benchPipeline } from "./local-pipeline.ts";
import { QUICK, sized } from "./options.ts";
import { median } from "./stats.ts";

const SIZES = QUICK ? [1, 10, 100] : [1, 10, 100, 1000];
const RUNS = sized(5, 3);

export interface FanoutResult {
  readonly subscribers: number;
  readonly calls: Record<string, number>;
  readonly medianMs: number;
}

export async function benchFanout(): Promise<{ markdown: string; results: FanoutResult[] }> {
  const results: FanoutResult[] = [];
  for (const size of SIZES) {
    // One tenant with up to 1000 subscribers: above the default per-tenant limit (50).
    const pipeline = await benchPipeline({ MAX_WEBHOOKS_PER_TENANT: "10000" });
    await pipeline.addWebhooks(size, "http://127.0.0.1:9/unused", "fan.*");
    const samples: number[] = [];
    let calls: Record<string, number> = {};
    for (let run = 0; run < RUNS; run += 1) {
      pipeline.calls.reset();
      const started = performance.now();
      await publish(BENCH_TENANT, { type: "fan.event", data: { run } }, pipeline.deps);
      samples.push(performance.now() - started);
      calls = pipeline.calls.calls.reduce<Record<string, number>>((counts, name) => {
        counts[name.replace("Command", "")] = (counts[name.replace("Command", "")] ?? 0) + 1;
        return counts;
      }, {});
    }
    results.push({ subscribers: size, calls, medianMs: median(samples) });
    await pipeline.stop();
  }
  const perBatch = results.map((result) => result.medianMs / Math.ceil(result.subscribers / 10));
  return {
    results,
    markdown: [
      "## Fan-out cost",
      "",
      `One event published to N subscribers (pattern \`fan.*\`, so three patterns are looked up: \`fan.event\`, \`fan.*\`, \`*\`). Calls are counts; wall time is the median of ${RUNS} publishes against the local engines. Goal: 1 conditional put + one Query per matching pattern + ⌈N/10⌉ SendMessageBatch (+ 1 update marking the fan-out done), wall time linear in ⌈N/10⌉.`,
      "",
      "| subscribers N | calls per event | ⌈N/10⌉ | publish wall time (median) | per SendMessageBatch |",
      "| --- | --- | --- | --- | --- |",
      ...results.map(
        (result, index) =>
          `| ${result.subscribers} | ${Object.entries(result.calls)
            .map(([op, count]) => `${op} ${count}`)
            .join(
              ", ",
            )} | ${Math.ceil(result.subscribers / 10)} | ${result.medianMs.toFixed(1)} ms | ${perBatch[index]?.toFixed(2)} ms |`,
      ),
    ].join("\n"),
  };
}
