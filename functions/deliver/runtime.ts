/**
 * The deliver function's composition root: the table (deliveries, events, webhooks), the signing secret store,
 * the guarded HTTP sender, and SQS, which only a retry, a backoff or a dead letter calls (built on first use).
 */
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SqsDeliveryQueue } from "#aws/delivery-queue.ts";
import { DynamoHealthControls } from "#aws/health-controls.ts";
import { type EventBridgeOperationalEvents, operationalEventsOf } from "#aws/operational-event-bus.ts";
import {
  deliveryQueue,
  documentsClient,
  secretsManagerClient,
  sqsClient,
  type TableRepositories,
  tableRepositories,
} from "#aws/repositories.ts";
import { type RootBase, type RootOptions, rootBase, withParts } from "#aws/runtime.ts";
import { signingSecretStore } from "#aws/secret-stores.ts";
import type { SigningSecretStore } from "#aws/signing-secret-store.ts";
import type { DeliverDeps, DeliverLog, DeliverMetrics } from "#core/delivery/deliver.ts";
import type { Config } from "#core/shared/config.ts";
import { createGuardedSender, type GuardedSender, type Resolver } from "#functions/http/guarded-sender.ts";

export interface DeliverRootOptions extends RootOptions {
  readonly resolver?: Resolver;
}

export interface DeliverRuntime
  extends RootBase,
    Omit<TableRepositories, "tenants" | "eventTypes" | "health"> {
  readonly queue: SqsDeliveryQueue;
  /** Rate reservations, probe leases and health transitions (the health records, in the table). */
  readonly healthControls: DynamoHealthControls;
  readonly notices: EventBridgeOperationalEvents;
  readonly secrets: SigningSecretStore;
  readonly http: GuardedSender;
}

export function createDeliverRuntime(config: Config, options: DeliverRootOptions = {}): DeliverRuntime {
  const base = rootBase(config, options);
  const documents = documentsClient(config, options);
  const { webhooks, events, deliveries } = tableRepositories(config, documents);
  return withParts(base, {
    webhooks,
    events,
    deliveries,
    queue: deliveryQueue(config, sqsClient(config, options), base.now),
    healthControls: () => new DynamoHealthControls(documents(), config.tableName),
    // The same credentials as the function's other calls (its role's, on Lambda).
    notices: () => operationalEventsOf(base, () => documents().config.credentials),
    secrets: () => signingSecretStore(config, secretsManagerClient(config, options), documents, base.now),
    http: () =>
      createGuardedSender({
        policy: config.destinationPolicy,
        timeoutMs: config.deliveryTimeoutMs,
        ...(options.resolver ? { resolver: options.resolver } : {}),
      }),
  });
}

/**
 * Attempt counts per outcome for one batch, emitted as EMF metrics when the batch ends. The tenant is not a
 * dimension (a metric per tenant would cost $0.30 a month each): each batch's document carries the attempts per
 * tenant and outcome as metadata, which Logs Insights can aggregate (`docs/operations.md`).
 */
export class BatchMetrics implements DeliverMetrics {
  readonly #metrics: Metrics;
  readonly #counts = new Map<string, number>();
  readonly #byTenant = new Map<string, Record<string, number>>();
  #attempts = 0;

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  #bump(key: string) {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  attempt(outcome: string, durationMs: number, tenantId?: string): void {
    if (tenantId !== undefined) {
      const counts = this.#byTenant.get(tenantId) ?? {};
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      this.#byTenant.set(tenantId, counts);
    }
    this.#attempts += 1;
    this.#metrics.addMetric("DeliveryLatency", MetricUnit.Milliseconds, durationMs);
    // Dimensionless totals: what the failure-rate alarm divides (an alarm cannot SEARCH across outcomes).
    this.#metrics.addMetric("DeliveryAttemptsTotal", MetricUnit.Count, 1);
    if (outcome !== "succeeded") this.#metrics.addMetric("DeliveryAttemptFailures", MetricUnit.Count, 1);
    this.#bump(`DeliveryAttempts\u0000outcome\u0000${outcome}`);
  }

  deadLettered(reason: string): void {
    this.#bump(`DeadLettered\u0000reason\u0000${reason}`);
  }

  dropped(reason: string): void {
    this.#bump(`Dropped\u0000reason\u0000${reason}`);
  }

  dependencyBackoff(cause: string): void {
    this.#bump(`DependencyBackoffs\u0000cause\u0000${cause}`);
  }

  held(cause: string): void {
    this.#bump(`DeliveriesHeld\u0000cause\u0000${cause}`);
  }

  flush(): void {
    for (const [key, count] of this.#counts) {
      const [name, dimension, value] = key.split("\u0000") as [string, string, string];
      const single = this.#metrics.singleMetric();
      single.addDimension(dimension, value);
      single.addMetric(name, MetricUnit.Count, count);
    }
    this.#counts.clear();
    if (this.#byTenant.size > 0)
      this.#metrics.addMetadata("attemptsByTenant", JSON.stringify(Object.fromEntries(this.#byTenant)));
    this.#byTenant.clear();
    // A batch without attempts (duplicates, drops, backoffs) has only the single metrics above, already written.
    if (this.#attempts > 0) this.#metrics.publishStoredMetrics();
    this.#attempts = 0;
  }
}

function deliverLog(runtime: DeliverRuntime): DeliverLog {
  return {
    info: (message, fields) => runtime.logger.info(message, fields),
    warn: (message, fields) => runtime.logger.warn(message, fields),
    error: (message, fields) => runtime.logger.error(message, fields),
  };
}

/** Ports for one batch. */
export function deliverDeps(runtime: DeliverRuntime, metrics: DeliverMetrics): DeliverDeps {
  return {
    webhooks: {
      disable: (tenantId, id, reason, sentTo) =>
        runtime.webhooks.disable(tenantId, id, reason, sentTo, runtime.now),
    },
    secrets: runtime.secrets,
    events: runtime.events,
    ledger: runtime.deliveries,
    // Read on use: the SQS client is built only when a retry, backoff or dead letter needs it.
    queue: {
      retryLater: (receiptHandle, delaySeconds) => runtime.queue.retryLater(receiptHandle, delaySeconds),
      requeue: (body, tenantId, delaySeconds) => runtime.queue.requeue(body, tenantId, delaySeconds),
      deadLetter: (letters) => runtime.queue.deadLetter(letters),
    },
    http: runtime.http,
    retryPolicy: runtime.config.retryPolicy,
    dependencyBackoffSeconds: runtime.config.dependencyBackoffSeconds,
    deadLetterAfterReceives: runtime.config.deadLetterAfterReceives,
    now: runtime.now,
    random: runtime.random,
    log: deliverLog(runtime),
    metrics,
    health: runtime.healthControls,
    healthPolicy: runtime.config.healthPolicy,
    notices: runtime.notices,
  };
}
