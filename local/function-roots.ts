/**
 * The four functions' composition roots over one set of clients: how the local stack, the tests and the benchmarks
 * run the functions in one process, each with its own ports and caches as on Lambda.
 */
import type { RootOptions } from "#aws/runtime.ts";
import type { Config } from "#core/shared/config.ts";
import { createApiRuntime } from "#functions/api/runtime.ts";
import { createDeliverRuntime, type DeliverRootOptions } from "#functions/deliver/runtime.ts";
import { createPublishRuntime } from "#functions/publish/runtime.ts";
import { createReconcileRuntime } from "#functions/reconcile/runtime.ts";

export function createFunctionRoots(config: Config, options: RootOptions & DeliverRootOptions = {}) {
  return {
    api: createApiRuntime(config, options),
    publish: createPublishRuntime(config, options),
    deliver: createDeliverRuntime(config, options),
    reconcile: createReconcileRuntime(config, options),
  };
}

export type FunctionRoots = ReturnType<typeof createFunctionRoots>;
