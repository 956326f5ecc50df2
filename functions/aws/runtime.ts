/**
 * What every function's composition root shares: configuration, logger, metrics, clock, and lazily built parts.
 * Each Lambda has its own root (`functions/<name>/runtime.ts`) that builds only the clients and repositories its
 * code calls, each on first use: a bundle holds only the SDK clients its function uses, and a client the first
 * invocation does not need (the deliver function's SQS client, the api's Secrets Manager client) is not built
 * until a request needs it. The local stack and the tests compose the same roots, over clients they share.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Config } from "#core/shared/config.ts";
import type { AwsClientConfig, AwsClients } from "./clients.ts";

export const SERVICE_NAME = "serverless-webhooks";
export const METRICS_NAMESPACE = "ServerlessWebhooks";

export interface RootOptions {
  /** Pre-built clients (the local stack shares one set; tests count their calls); built from the config otherwise. */
  readonly clients?: Partial<AwsClients>;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
}

export interface RootBase {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  readonly random: () => number;
}

export function rootBase(config: Config, options: RootOptions): RootBase {
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  return {
    config,
    logger,
    // Its own warnings go through the function's logger (structured, at the configured level), not raw stdout.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger }),
    now: options.now ?? (() => new Date()),
    random: options.random ?? Math.random,
  };
}

export const clientConfigOf = (config: Config): AwsClientConfig => ({
  region: config.region,
  endpoints: config.endpoints,
});

/** A value built on first call, then kept. */
export function once<T>(make: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: make() };
    return built.value;
  };
}

export type Factories<T> = { readonly [K in keyof T]: () => T[K] };

/** `values` plus properties built on first read, then kept (the parts of a composition root). */
export function withParts<A extends object, B extends object>(values: A, factories: Factories<B>): A & B {
  const root = { ...values } as A & B;
  for (const key of Object.keys(factories) as (keyof B & string)[]) {
    Object.defineProperty(root, key, { get: once(factories[key]), enumerable: true });
  }
  return root;
}
