/**
 * DynamoDB capacity units per published event and per first-attempt delivery, at fan-out 1 and 10, as DynamoDB
 * Local reports them with `ReturnConsumedCapacity: "INDEXES"` (table and each index apart). Run alone with
 * `node bench/capacity-units.ts`; `npm run bench` includes it.
 */
import { publish } from "#core/publishing/publish.ts";
import { type CapacityTotals, meterCapacity } from "./capacity.ts";
import { BENCH_TENANT, benchPipeline, benchReceiver, stopEngines } from "./local-pipeline.ts";
import { sized } from "./options.ts";

const EVENTS = sized(200, 40);

export interface CapacityRow {
  readonly fanout: number;
  readonly perEvent: CapacityTotals;
  readonly perDelivery: CapacityTotals;
}

const scaled = (totals: CapacityTotals, per: number): CapacityTotals => ({
  readUnits: totals.readUnits / per,
  writeUnits: totals.writeUnits / per,
  byTarget: Object.fromEntries(
    Object.entries(totals.byTarget).map(([target, units]) => [
      target,
      { read: units.read / per, write: units.write / per },
    ]),
  ),
});

const line = (totals: CapacityTotals) =>
  `${totals.readUnits.toFixed(2)} R + ${totals.writeUnits.toFixed(2)} W (${Object.entries(totals.byTarget)
    .map(([target, units]) => `${target} ${units.read.toFixed(2)} R / ${units.write.toFixed(2)} W`)
    .join(", ")})`;

export async function benchCapacityUnits(): Promise<{ markdown: string; rows: CapacityRow[] }> {
  const rows: CapacityRow[] = [];
  for (const fanout of [1, 10]) {
    const receiver = await benchReceiver(() => 204);
    const pipeline = await benchPipeline({ RETRY_SCHEDULE_SECONDS: "0" });
    const meter = meterCapacity(pipeline.clients.dynamodb);
    await pipeline.addWebhooks(fanout, receiver.url, "bench.*");
    meter.reset();
    for (let n = 0; n < EVENTS; n += 1)
      await publish(BENCH_TENANT, { id: `evt_cu_${n}`, type: "bench.units", data: { n } }, pipeline.deps);
    const perEvent = scaled(meter.totals, EVENTS);
    meter.reset();
    await pipeline.drain();
    rows.push({ fanout, perEvent, perDelivery: scaled(meter.totals, EVENTS * fanout) });
    await pipeline.stop();
    await receiver.close();
  }
  return {
    rows,
    markdown: [
      "## Capacity units per event and per delivery",
      "",
      `${EVENTS} events per fan-out, each delivered at the first attempt; read (R) and write (W) units as DynamoDB Local reports them with \`ReturnConsumedCapacity: "INDEXES"\` (table and each index apart).`,
      "",
      "| fan-out | per published event | per first-attempt delivery |",
      "| --- | --- | --- |",
      ...rows.map((row) => `| ${row.fanout} | ${line(row.perEvent)} | ${line(row.perDelivery)} |`),
    ].join("\n"),
  };
}

if (import.meta.main) {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  console.log((await benchCapacityUnits()).markdown);
  await stopEngines();
}
