/** Reconcile Lambda: run on an EventBridge schedule; re-enqueues stranded deliveries and unfinished fan-outs. */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import { DUE_SHARDS } from "#aws/table-keys.ts";
import { type ReconcileDeps, type ReconcileResult, reconcile } from "#core/delivery/reconcile.ts";
import { publishDeps } from "#functions/publish/runtime.ts";
import type { ReconcileRuntime } from "./runtime.ts";

/** The reconciler's ports, from one function's runtime. */
export function reconcileDeps(runtime: ReconcileRuntime): ReconcileDeps {
  return {
    due: runtime.deliveries,
    shards: DUE_SHARDS,
    deliveries: runtime.deliveries,
    events: runtime.events,
    queue: runtime.queue,
    publish: publishDeps(runtime),
    now: runtime.now,
    graceSeconds: runtime.config.reconcileGraceSeconds,
  };
}

export async function runReconciler(runtime: ReconcileRuntime): Promise<ReconcileResult> {
  const result = await reconcile(reconcileDeps(runtime));
  const found = result.deliveriesReenqueued + result.fanOutsResumed;
  // Zero is emitted too: the alarm then tells "nothing stranded" from "the reconciler stopped running".
  runtime.metrics.addMetric("StrandedWorkFound", MetricUnit.Count, found);
  runtime.metrics.publishStoredMetrics();
  if (found > 0) runtime.logger.warn("reconciler re-enqueued stranded work", { ...result });
  return result;
}

export function createReconcileHandler(runtime: ReconcileRuntime) {
  return middy(async (): Promise<ReconcileResult> => runReconciler(runtime)).use(
    injectLambdaContext(runtime.logger),
  );
}
