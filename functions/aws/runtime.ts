/**
 * Wires the adapters once per container: SDK clients, repositories, caches, the guarded HTTP sender, logger and
 * metrics. Handlers build one `Runtime` at init and hand its ports to the pure core.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { DeliverDeps, DeliverLog, DeliverMetrics } from "#core/delivery/deliver.ts";
import type { PublishDeps } from "#core/publishing/publish.ts";
import { catalogueValidator, type DataValidator } from "#core/routing/catalogue.ts";
import { loadCatalogueTools } from "#core/routing/lazy-modules.ts";
import type { Config } from "#core/shared/config.ts";
import { createGuardedSender, type GuardedSender, type Resolver } from "#functions/http/guarded-sender.ts";
import { type AwsClients, createAwsClients } from "./clients.ts";
import { SqsDeliveryQueue } from "./delivery-queue.ts";
import { DynamoDeliveryRepository } from "./delivery-repository.ts";
import { DynamoEventRepository } from "./event-repository.ts";
import { DynamoEventTypeRepository } from "./event-type-repository.ts";
import { DynamoHealthControls } from "./health-controls.ts";
import { DynamoHealthRepository } from "./health-repository.ts";
import { EventBridgeOperationalEvents } from "./operational-event-bus.ts";
import { SecretsManagerSigningSecretStore } from "./signing-secret-store.ts";
import { DynamoTenantRepository } from "./tenant-repository.ts";
import { DynamoWebhookRepository } from "./webhook-repository.ts";

export const SERVICE_NAME = "serverless-webhooks";
export const METRICS_NAMESPACE = "ServerlessWebhooks";

export interface RuntimeOptions {
  /** Pre-built clients (tests count their calls); built from the config otherwise. */
  readonly clients?: AwsClients;
  readonly resolver?: Resolver;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
}

export interface Runtime {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly tenants: DynamoTenantRepository;
  readonly webhooks: DynamoWebhookRepository;
  readonly events: DynamoEventRepository;
  /** The global event-type catalogue. */
  readonly eventTypes: DynamoEventTypeRepository;
  /** Publish-time validation of `data`, for the types that ask for it (cached per container). */
  readonly validation: DataValidator;
  readonly deliveries: DynamoDeliveryRepository;
  readonly health: DynamoHealthRepository;
  readonly notices: EventBridgeOperationalEvents;
  readonly queue: SqsDeliveryQueue;
  readonly secrets: SecretsManagerSigningSecretStore;
  readonly http: GuardedSender;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  readonly random: () => number;
}

export function createRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const clients = options.clients ?? createAwsClients({ region: config.region, endpoints: config.endpoints });
  const now = options.now ?? (() => new Date());
  const webhooks = new DynamoWebhookRepository(
    clients.documents,
    config.tableName,
    config.maxWebhooksPerTenant,
  );
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const eventTypes = new DynamoEventTypeRepository(clients.documents, config.tableName);
  return {
    config,
    clients,
    health: new DynamoHealthRepository(clients.documents, config.tableName),
    notices: new EventBridgeOperationalEvents(
      {
        bus: config.operationalEventBus,
        region: config.region,
        endpoint: config.endpoints.eventBridge,
        // The same credentials as every other call of this function (its role's, on Lambda).
        credentials: clients.dynamodb.config.credentials,
      },
      {
        info: (message, fields) => logger.info(message, fields),
        error: (message, fields) => logger.error(message, fields),
      },
      (count) => {
        const single = metrics.singleMetric();
        single.addMetric("OperationalEventsFailed", MetricUnit.Count, count);
      },
    ),
    tenants: new DynamoTenantRepository(clients.documents, config.tableName),
    webhooks,
    eventTypes,
    validation: catalogueValidator(eventTypes, loadCatalogueTools, () => now().getTime()),
    events: new DynamoEventRepository(clients.documents, config.tableName, config.retentionDays),
    deliveries: new DynamoDeliveryRepository(clients.documents, config.tableName, config.retentionDays),
    queue: new SqsDeliveryQueue(clients.sqs, config, now),
    secrets: new SecretsManagerSigningSecretStore(clients.secretsManager, {
      namePrefix: config.secretNamePrefix,
    }),
    http: createGuardedSender({
      policy: config.destinationPolicy,
      timeoutMs: config.deliveryTimeoutMs,
      ...(options.resolver ? { resolver: options.resolver } : {}),
    }),
    logger,
    metrics,
    now,
    random: options.random ?? Math.random,
  };
}

export function publishDeps(runtime: Runtime): PublishDeps {
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

/**
 * Attempt counts per outcome for one batch, emitted as EMF metrics when the batch ends. The tenant is not a
 * dimension (a metric per tenant would cost $0.30 a month each): each batch's document carries the attempts per
 * tenant and outcome as metadata, which Logs Insights can aggregate (`docs/operations.md`).
 */
export class BatchMetrics implements DeliverMetrics {
  readonly #metrics: Metrics;
  readonly #counts = new Map<string, number>();
  readonly #byTenant = new Map<string, Record<string, number>>();

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
    this.#metrics.publishStoredMetrics();
  }
}

function deliverLog(logger: Logger): DeliverLog {
  return {
    info: (message, fields) => logger.info(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    error: (message, fields) => logger.error(message, fields),
  };
}

/** Ports for one batch. */
export function deliverDeps(runtime: Runtime, metrics: DeliverMetrics): DeliverDeps {
  return {
    webhooks: {
      disable: (tenantId, id, reason, sentTo) =>
        runtime.webhooks.disable(tenantId, id, reason, sentTo, runtime.now),
    },
    secrets: runtime.secrets,
    events: runtime.events,
    ledger: runtime.deliveries,
    queue: runtime.queue,
    http: runtime.http,
    retryPolicy: runtime.config.retryPolicy,
    dependencyBackoffSeconds: runtime.config.dependencyBackoffSeconds,
    deadLetterAfterReceives: runtime.config.deadLetterAfterReceives,
    now: runtime.now,
    random: runtime.random,
    log: deliverLog(runtime.logger),
    metrics,
    health: new DynamoHealthControls(runtime.clients.documents, runtime.config.tableName),
    healthPolicy: runtime.config.healthPolicy,
    notices: runtime.notices,
  };
}
