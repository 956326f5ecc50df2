/**
 * AWS calls per delivery: 10,000 deliveries that succeed at once, and 10,000 that need one retry, counted per
 * service and operation. The event source mapping's receive/delete are reported apart (AWS runs those).
 */
import { publish } from "#core/publish.ts";
import { benchPipeline, benchReceiver } from "./local-pipeline.ts";

const DELIVERIES = 10_000;
const WEBHOOKS = 10;

export interface CallsResult {
  readonly scenario: string;
  readonly deliveries: number;
  readonly publishCalls: Record<string, number>;
  readonly deliverCalls: Record<string, number>;
  readonly mappingCalls: Record<string, number>;
  readonly deliverCallsPerDelivery: number;
  readonly secretsManagerCallsAfterWarmUp: number;
}

const tally = (names: readonly string[]) =>
  names.reduce<Record<string, number>>((counts, name) => {
    counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }, {});

async function scenario(name: string, failFirst: boolean): Promise<CallsResult> {
  const receiver = await benchReceiver((_, seen) => (failFirst && seen === 1 ? 503 : 204));
  const pipeline = await benchPipeline({ RETRY_SCHEDULE_SECONDS: "0" });
  await pipeline.addWebhooks(WEBHOOKS, receiver.url, "bench.*");
  pipeline.calls.reset();
  for (let start = 0; start < DELIVERIES / WEBHOOKS; start += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, offset) =>
        publish(
          { id: `evt_${name}_${start + offset}`, type: "bench.delivery", data: { n: start + offset } },
          pipeline.deps,
        ),
      ),
    );
  }
  const publishCalls = tally(pipeline.calls.calls);
  pipeline.calls.reset();
  pipeline.mappingCalls.reset();
  await pipeline.drain();
  const deliverCalls = tally(pipeline.calls.calls);
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
    ].join("\n"),
  };
}
