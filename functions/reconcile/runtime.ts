/** The reconcile function's composition root: the table and the delivery queue. */
import type { SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import {
  deliveryQueue,
  documentsClient,
  sqsClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import type { DataValidator } from "#core/routing/catalogue.ts";
import type { Config } from "#core/shared/config.ts";
import { dataValidation } from "#functions/publish/runtime.ts";

export interface ReconcileRuntime extends RootBase, TableRepositories {
  readonly queue: SqsDeliveryQueue;
  /** A resumed fan-out publishes through the same core as the publish function. */
  readonly validation: DataValidator;
}

export function createReconcileRuntime(config: Config, options: RootOptions = {}): ReconcileRuntime {
  const base = rootBase(config, options);
  const root: ReconcileRuntime = withParts(base, {
    ...tableRepositories(config, documentsClient(config, options)),
    queue: deliveryQueue(config, sqsClient(config, options), base.now),
    validation: () => dataValidation(root)(),
  });
  return root;
}
