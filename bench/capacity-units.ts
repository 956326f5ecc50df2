/**
 * DynamoDB capacity units per published event and per first-attempt delivery, at fan-out 1 and 10 (and at fan-out 1
 * against a receiver that answers 200 with a body), as DynamoDB Local reports them with
 * `ReturnConsumedCapacity: "INDEXES"` (table and each index apart), the deliver transaction priced item by item
 * (see `TransactionReplay`). Run alone with `node bench/capacity-units.ts`; `npm run bench` includes it.
 */
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoClients } from "#aws/clients.ts";
import { publish } from "#core/publishing/publish.ts";
import { webhooksTable } from "#core/shared/resource-definitions.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "#local/engines.ts";
import { createTableInput } from "#local/provision.ts";
import { type CapacityTotals, meterCapacity, type TransactionReplay } from "./capacity.ts";
import { BENCH_TENANT, benchPipeline, benchReceiver, engines, stopEngines } from "./local-pipeline.ts";
import { sized } from "./options.ts";

const EVENTS = sized(200, 40);
/** A receiver that answers 200 with a JSON acknowledgement of this size (bytes). */
const ACK_BODY_BYTES = 2048;

export interface CapacityRow {
  readonly scenario: string;
  readonly fanout: number;
  /** Bytes of the receiver's 2xx body (0: a 204); the cost model prices the 204 rows. */
  readonly bodyBytes: number;
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

let shadows = 0;
/** An unmetered client and an empty table of the same definition, to price transactions on. */
async function transactionReplay(): Promise<TransactionReplay> {
  const { endpoints } = await engines();
  const { dynamodb, documents } = createDynamoClients({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoints,
  });
  shadows += 1;
  const shadowTable = `capacity-shadow-${process.pid}-${shadows}`;
  await dynamodb.send(new CreateTableCommand(createTableInput(webhooksTable, shadowTable)));
  return { documents, shadowTable };
}

async function measure(scenario: string, fanout: number, ackBody?: string): Promise<CapacityRow> {
  const receiver = ackBody ? await benchReceiver(() => 200, ackBody) : await benchReceiver(() => 204);
  const pipeline = await benchPipeline({ RETRY_SCHEDULE_SECONDS: "0" });
  const meter = meterCapacity(pipeline.clients.dynamodb, await transactionReplay());
  await pipeline.addWebhooks(fanout, receiver.url, "bench.*");
  meter.reset();
  for (let n = 0; n < EVENTS; n += 1)
    await publish(BENCH_TENANT, { id: `evt_cu_${n}`, type: "bench.units", data: { n } }, pipeline.deps);
  const perEvent = scaled(meter.totals, EVENTS);
  meter.reset();
  await pipeline.drain();
  const bodyBytes = ackBody ? Buffer.byteLength(ackBody) : 0;
  const row = { scenario, fanout, bodyBytes, perEvent, perDelivery: scaled(meter.totals, EVENTS * fanout) };
  await pipeline.stop();
  await receiver.close();
  return row;
}

export async function benchCapacityUnits(): Promise<{ markdown: string; rows: CapacityRow[] }> {
  const ack = JSON.stringify({ received: true, note: "x".repeat(ACK_BODY_BYTES - 31) });
  const rows = [
    await measure("fan-out 1, receiver answers 204", 1),
    await measure("fan-out 10, receiver answers 204", 10),
    await measure(`fan-out 1, receiver answers 200 with a ${ACK_BODY_BYTES}-byte body`, 1, ack),
  ];
  return {
    rows,
    markdown: [
      "## Capacity units per event and per delivery",
      "",
      `${EVENTS} events per scenario, each delivered at the first attempt; read (R) and write (W) units as DynamoDB Local reports them with \`ReturnConsumedCapacity: "INDEXES"\` (table and each index apart). DynamoDB Local under-reports a TransactWriteItems of many items, so each write of the deliver transaction is priced apart: replayed from the item's previous state into an identical shadow table, its table units doubled (a transactional write costs 2 units per KB) and its index entries counted once (indexes are updated after the transaction, as plain writes).`,
      "",
      "| scenario | per published event | per first-attempt delivery |",
      "| --- | --- | --- |",
      ...rows.map((row) => `| ${row.scenario} | ${line(row.perEvent)} | ${line(row.perDelivery)} |`),
    ].join("\n"),
  };
}

if (import.meta.main) {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  console.log((await benchCapacityUnits()).markdown);
  await stopEngines();
}
