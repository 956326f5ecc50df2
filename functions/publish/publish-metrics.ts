/** The publish function's metrics, shared by its API and EventBridge (ingest queue) paths. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { PublishRuntime } from "./runtime.ts";

/**
 * `PublishFailures` per event not published, with dimension `ingest` (api | eventbridge): the PublishFailures
 * alarm adds both paths. An API caller's 4xx is the caller's mistake and not counted.
 */
export function recordPublishFailures(
  runtime: PublishRuntime,
  ingest: "api" | "eventbridge",
  count = 1,
): void {
  const single = runtime.metrics.singleMetric();
  single.addDimension("ingest", ingest);
  single.addMetric("PublishFailures", MetricUnit.Count, count);
}

/** `EventsPublished` and one `FanOutSize` per newly published event (a duplicate publishes nothing new). */
export function recordFanOut(runtime: PublishRuntime, ...deliveries: readonly number[]): void {
  if (deliveries.length === 0) return;
  runtime.metrics.addMetric("EventsPublished", MetricUnit.Count, deliveries.length);
  for (const count of deliveries) runtime.metrics.addMetric("FanOutSize", MetricUnit.Count, count);
  runtime.metrics.publishStoredMetrics();
}
