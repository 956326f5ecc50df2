/**
 * AWS calls per delivery: 4,000 deliveries that succeed at once, and 4,000 that need one retry, counted per
 * service and operation. The event source mapping's receive/delete are reported apart (AWS runs those).
 */
import { publish } from "#core/publishing/publish.ts";
import { type CapacityTotals, meterCapacity } from "./capacity.ts";
import { BENCH_TENANT, benchPipeline, benchReceiver } from "./local-pipeline.ts";
import { sized } from "./options.ts";

/** Counts per delivery, not timings: 4,000 (400 batches) give them to the second decimal in a third of the time. */
const DELIVERIES = sized(4000, 1000);
const WEBHOOKS = 10;

export interface CallsResult {
  readonly scenario: string;
  readonly deliveries: number;
  readonly publishCalls: Record<string, number>;
  readonly deliverCalls: Record<string, number>;
  readonly mappingCalls: Record<string, number>;
  readonly deliverCallsPerDelivery: number;
  readonly secretsManagerCallsAfterWarmUp: number;
  /** DynamoDB capacity units as reported by `ReturnConsumedCapacity: "INDEXES"`, for publishing and delivering. */
  readonly publishCapacity: CapacityTotals;
  readonly deliverCapacity: CapacityTotals;
}

const copyTotals = (totals: CapacityTotals): CapacityTotals =>
  JSON.parse(JSON.stringify(totals)) as CapacityTotals;

/** "table 2.00 W, gsi1 1.00 W" per unit of `per`. */
export function capacityLine(totals: CapacityTotals, per: number): string {
  const parts = Object.entries(totals.byTarget).flatMap(([target, units]) => [
    ...(units.read > 0 ? [`${target} ${(units.read / per).toFixed(2)} R`] : []),
    ...(units.write > 0 ? [`${target} ${(units.write / per).toFixed(2)} W`] : []),
  ]);
  return `${(totals.readUnits / per).toFixed(2)} RCU + ${(totals.writeUnits / per).toFixed(2)} WCU (${parts.join(", ")})`;
}

const tally = (names: readonly string[]) =>
  names.reduce<Record<string, number>>((counts, name) => {
    counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }, {});

async function scenario(name: string, failFirst: boolean): Promise<CallsResult> {
  const receiver = await benchReceiver((_, seen) => (failFirst && seen === 1 ? 503 : 204));
  const pipeline = await benchPipeline({ RETRY_SCHEDULE_SECONDS: "0" });
  const capacity = meterCapacity(pipeline.clients.dynamodb);
  await pipeline.addWebhooks(WEBHOOKS, receiver.url, "bench.*");
  pipeline.calls.reset();
  capacity.reset();
  for (let start = 0; start < DELIVERIES / WEBHOOKS; start += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, offset) =>
        publish(
          BENCH_TENANT,
          { id: `evt_${name}_${start + offset}`, type: "bench.delivery", data: { n: start + offset } },
          pipeline.deps,
        ),
      ),
    );
  }
  const publishCalls = tally(pipeline.calls.calls);
  const publishCapacity = copyTotals(capacity.totals);
  capacity.reset();
  pipeline.calls.reset();
  pipeline.mappingCalls.reset();
  await pipeline.drain();
  const deliverCalls = tally(pipeline.calls.calls);
  const deliverCapacity = copyTotals(capacity.totals);
  const secretsAfterWarmUp = Math.max(0, (deliverCalls.GetSecretValueCommand ?? 0) - WEBHOOKS);
  const total = Object.values(deliverCalls).reduce((sum, count) => sum + count, 0);
  await pipeline.stop();
  await receiver.close();
  return {
    scenario: name,
    deliveries: DELIVERIES,
    publishCalls,
    deliverCalls,
    mappingCalls: tally(pipeline.mappingCalls.calls),
    deliverCallsPerDelivery: total / DELIVERIES,
    secretsManagerCallsAfterWarmUp: secretsAfterWarmUp,
    publishCapacity,
    deliverCapacity,
  };
}

export async function benchAwsCalls(): Promise<{ markdown: string; results: CallsResult[] }> {
  const results = [await scenario("first-attempt", false), await scenario("one-retry", true)];
  const row = (result: CallsResult) => {
    const ops = Object.entries(result.deliverCalls)
      .map(([op, count]) => `${op.replace("Command", "")} ${(count / result.deliveries).toFixed(3)}`)
      .join(", ");
    const mapping = Object.entries(result.mappingCalls)
      .map(([op, count]) => `${op.replace("Command", "")} ${(count / result.deliveries).toFixed(3)}`)
      .join(", ");
    return `| ${result.scenario} | ${result.deliveries} | **${result.deliverCallsPerDelivery.toFixed(3)}** | ${ops} | ${result.secretsManagerCallsAfterWarmUp} | ${mapping} |`;
  };
  const publish = results[0]?.publishCalls ?? {};
  return {
    results,
    markdown: [
      "## AWS calls per delivery",
      "",
      `${DELIVERIES.toLocaleString("en")} deliveries per scenario (${WEBHOOKS} webhooks × ${DELIVERIES / WEBHOOKS} events, payload inline), counted by a middleware on each SDK client (counts, not timings). Goals: ≤ 0.35 calls per successful delivery on the warm path; 0 Secrets Manager calls after warm-up.`,
      "",
      "| scenario | deliveries | deliver calls / delivery | by operation (per delivery) | Secrets Manager calls after warm-up | event source mapping (run by AWS), per delivery |",
      "| --- | --- | --- | --- | --- | --- |",
      ...results.map(row),
      "",
      `Publishing those ${DELIVERIES / WEBHOOKS} events cost: ${Object.entries(publish)
        .map(([op, count]) => `${op.replace("Command", "")} ${count}`)
        .join(
          ", ",
        )} (per event: 1 conditional put, 1 update, one Query per matching pattern, ⌈N/10⌉ SendMessageBatch).`,
      "",
      'DynamoDB capacity units, as DynamoDB Local reports them with `ReturnConsumedCapacity: "INDEXES"` (table and each index apart):',
      "",
      "| scenario | publish, per event | deliver, per delivery |",
      "| --- | --- | --- |",
      ...results.map(
        (result) =>
          `| ${result.scenario} | ${capacityLine(result.publishCapacity, result.deliveries / WEBHOOKS)} | ${capacityLine(result.deliverCapacity, result.deliveries)} |`,
      ),
      "",
      "The deliver function reads each batch's deliveries and the webhooks they go to in one strongly consistent BatchGetItem (no extra call; no webhook cache that could delay a change). Against the former per-container webhook cache that adds one item per distinct webhook in the batch: with 10 deliveries to one webhook, 0.1 read unit per delivery, strongly consistent at 1 unit per 4 KB item where an eventually consistent read costs 0.5. At on-demand prices ($0.125 per million read units) that is $0.0125 per million deliveries; the eventually consistent half would save $0.006 and could miss a change made within the last second. (DynamoDB Local reports one read unit per batch request, so its read figures above understate what AWS bills.)",
    ].join("\n"),
  };
}

if (import.meta.main) {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  const { stopEngines } = await import("./local-pipeline.ts");
  console.log((await benchAwsCalls()).markdown);
  await stopEngines();
}
