/** The publish function's composition root: the table, the delivery queue, and SQS for the ingest DLQ. */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import {
  deliveryQueue,
  documentsClient,
  sqsClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import type { PublishDeps } from "#core/publishing/publish.ts";
import { catalogueValidator, type DataValidator } from "#core/routing/catalogue.ts";
import { loadCatalogueTools } from "#core/routing/lazy-modules.ts";
import type { Config } from "#core/shared/config.ts";

export interface PublishRuntime extends RootBase, TableRepositories {
  readonly queue: SqsDeliveryQueue;
  readonly sqs: SQSClient;
  /** Publish-time validation of `data`, for the types that ask for it (cached per container). */
  readonly validation: DataValidator;
}

/** The catalogue's validator over a root's event-type repository (its tools load on first use). */
export const dataValidation = (root: Pick<PublishRuntime, "eventTypes" | "now">) => () =>
  catalogueValidator(root.eventTypes, loadCatalogueTools, () => root.now().getTime());

export function createPublishRuntime(config: Config, options: RootOptions = {}): PublishRuntime {
  const base = rootBase(config, options);
  const sqs = sqsClient(config, options);
  const root: PublishRuntime = withParts(base, {
    ...tableRepositories(config, documentsClient(config, options)),
    queue: deliveryQueue(config, sqs, base.now),
    sqs,
    validation: () => dataValidation(root)(),
  });
  return root;
}

/** What the core's `publish` needs, from any root that has the table and the delivery queue. */
export function publishDeps(
  runtime: Pick<PublishRuntime, "tenants" | "events" | "webhooks" | "queue" | "deliveries" | "now"> &
    Partial<Pick<PublishRuntime, "validation">>,
): PublishDeps {
  return {
    tenants: runtime.tenants,
    events: runtime.events,
    subscriptions: runtime.webhooks,
    queue: runtime.queue,
    deliveries: runtime.deliveries,
    now: runtime.now,
    validation: runtime.validation,
  };
}
