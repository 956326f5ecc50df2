/**
 * Publishing per ingest path: what one published event costs when events arrive one per request (`POST …/events`),
 * ten per invocation (EventBridge through the ingest queue) or a hundred per request (`POST …/events/batch`), at
 * fan-out 1 and 10. SDK calls and DynamoDB capacity units per event are counts; the wall time per event is the
 * median over the batches of a run. Run alone with `node bench/ingest.ts`; `npm run bench` includes it.
 */
import { publishBatch } from "#core/publishing/publish.ts";
import { type CapacityTotals, meterCapacity } from "./capacity.ts";
import { BENCH_TENANT, benchPipeline, stopEngines } from "./local-pipeline.ts";
import { sized } from "./options.ts";
import { median } from "./stats.ts";

const EVENTS = sized(500, 100);

/** How events reach the publish function: events per invocation, and per API Gateway request (none: EventBridge). */
export const INGEST_PATHS = {
  api: { label: "API, one event per request", eventsPerInvocation: 1, eventsPerRequest: 1 },
  "api-batch": { label: "API, batches of 100", eventsPerInvocation: 100, eventsPerRequest: 100 },
  eventbridge: { label: "EventBridge via the ingest queue", eventsPerInvocation: 10, eventsPerRequest: 0 },
} as const;
export type IngestPath = keyof typeof INGEST_PATHS;

export interface IngestMeasurement {
  /** SDK calls per published event, by operation. */
  readonly callsPerEvent: Record<string, number>;
  readonly eventRead: number;
  readonly eventWrite: number;
  /** Wall time of one invocation's publishing, per event (median over the run's invocations). */
  readonly msPerEvent: number;
}

export interface IngestResult extends IngestMeasurement {
  readonly ingest: IngestPath;
  readonly fanout: number;
  readonly capacity: CapacityTotals;
}

async function measure(ingest: IngestPath, fanout: number): Promise<IngestResult> {
  const pipeline = await benchPipeline();
  const meter = meterCapacity(pipeline.clients.dynamodb);
  await pipeline.addWebhooks(fanout, "http://127.0.0.1:9/unused", "bench.*");
  const batch = INGEST_PATHS[ingest].eventsPerInvocation;
  pipeline.calls.reset();
  meter.reset();
  const samples: number[] = [];
  for (let start = 0; start < EVENTS; start += batch) {
    const items = Array.from({ length: Math.min(batch, EVENTS - start) }, (_, offset) => ({
      tenantId: BENCH_TENANT,
      request: { id: `evt_${ingest}_${start + offset}`, type: "bench.ingest", data: { n: start + offset } },
    }));
    const started = performance.now();
    const outcomes = await publishBatch(items, pipeline.deps);
    samples.push((performance.now() - started) / items.length);
    const failed = outcomes.find((outcome) => !outcome.ok);
    if (failed && !failed.ok) throw failed.error;
  }
  const callsPerEvent: Record<string, number> = {};
  for (const name of pipeline.calls.calls) {
    const op = name.replace("Command", "");
    callsPerEvent[op] = (callsPerEvent[op] ?? 0) + 1 / EVENTS;
  }
  const capacity = meter.totals;
  await pipeline.stop();
  return {
    ingest,
    fanout,
    callsPerEvent,
    eventRead: capacity.readUnits / EVENTS,
    eventWrite: capacity.writeUnits / EVENTS,
    msPerEvent: median(samples),
    capacity,
  };
}

const round = (value: number) => Number(value.toFixed(3));

export async function benchIngest(): Promise<{ markdown: string; results: IngestResult[] }> {
  const results: IngestResult[] = [];
  for (const fanout of [1, 10])
    for (const ingest of Object.keys(INGEST_PATHS) as IngestPath[])
      results.push(await measure(ingest, fanout));
  const units = (result: IngestResult) =>
    `${round(result.eventRead)} R + ${round(result.eventWrite)} W (${Object.entries(result.capacity.byTarget)
      .map(
        ([target, spent]) => `${target} ${round(spent.read / EVENTS)} R / ${round(spent.write / EVENTS)} W`,
      )
      .join(", ")})`;
  return {
    results,
    markdown: [
      "## Publishing per ingest path",
      "",
      `${EVENTS} events per row through the publishing core (\`publishBatch\`), as many per call as the path hands the publish function: one (\`POST …/events\`), ten (an SQS batch of the EventBridge ingest queue), a hundred (\`POST …/events/batch\`). A batch reads its tenant once, looks each matching pattern up once and fills SendMessageBatch requests across its events; each event is still stored by its own conditional put (idempotent per id) and marked fanned out by its own update. Calls and units are per event (counts); wall time is the median per event over the run's calls, against the local engines.`,
      "",
      "| ingest | fan-out | calls per event | DynamoDB units per event | wall time per event (median) |",
      "| --- | --- | --- | --- | --- |",
      ...results.map(
        (result) =>
          `| ${INGEST_PATHS[result.ingest].label} | ${result.fanout} | ${Object.entries(result.callsPerEvent)
            .map(([op, count]) => `${op} ${round(count)}`)
            .join(", ")} | ${units(result)} | ${result.msPerEvent.toFixed(2)} ms |`,
      ),
    ].join("\n"),
  };
}

if (import.meta.main) {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  console.log((await benchIngest()).markdown);
  await stopEngines();
}
