/**
 * The house Lambda function: Node 24 on arm64, an ESM bundle built by esbuild (minified, source maps, the AWS SDK
 * bundled rather than taken from the runtime), an explicit log group with retention, active tracing, explicit
 * memory and timeout. The `use*` helpers set an environment variable and grant exactly what the function's
 * declared access (lib/function-access.ts) lists, together, and never drop environment the caller passed in.
 */
import { ArnFormat, type Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { SECRET_RECOVERY_WINDOW_DAYS } from "#core/signing/signing-secrets.ts";
import type { EventsAction, FunctionAccess, SecretsAction, SqsAction } from "../function-access.ts";
import {
  esbuildCommand,
  hasSources,
  LAMBDA_BUNDLING,
  lambdaName,
  lazyBundleName,
  lazyModulesOf,
  PACKAGE_ROOT,
  prebuiltLambdaDir,
} from "./lambda-bundling.ts";

export interface WebhooksFunctionProps {
  /** Path of the handler module, relative to the project root (e.g. `functions/api/handler.ts`). */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  readonly environment?: Readonly<Record<string, string>>;
  readonly reservedConcurrentExecutions?: number;
}

/** The platform resources a function's access is granted on. */
export interface FunctionResources {
  readonly table: dynamodb.ITableV2;
  readonly deliveryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The EventBridge ingest queue and its DLQ; needed by a function whose access names them. */
  readonly ingestQueue?: sqs.IQueue;
  readonly ingestDeadLetterQueue?: sqs.IQueue;
  readonly secretPrefix: string;
  /** The portal's signing key set; needed by a function whose access lists `portalKey`. */
  readonly portalKey?: secretsmanager.ISecret;
  /** The EventBridge bus operational events go to (by name, in this account and region). */
  readonly operationalEventBusName: string;
}

export class WebhooksFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WebhooksFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    // Its own role, allowed to write to its own log group only (instead of AWSLambdaBasicExecutionRole's logs:* on *).
    const role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: props.description,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const common = {
      role,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.reservedConcurrentExecutions
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
    };
    this.function = hasSources(props.entry)
      ? new NodejsFunction(this, "Function", {
          ...common,
          entry: `${PACKAGE_ROOT}${props.entry}`,
          handler: "handler",
          projectRoot: PACKAGE_ROOT,
          depsLockFilePath: `${PACKAGE_ROOT}package-lock.json`,
          bundling: {
            format: OutputFormat.ESM,
            target: LAMBDA_BUNDLING.target,
            platform: LAMBDA_BUNDLING.platform,
            minify: LAMBDA_BUNDLING.minify,
            sourceMap: LAMBDA_BUNDLING.sourcemap,
            sourcesContent: LAMBDA_BUNDLING.sourcesContent,
            mainFields: [...LAMBDA_BUNDLING.mainFields],
            // Bundle the AWS SDK too: a pinned, tree-shaken SDK instead of whatever the runtime ships.
            externalModules: [],
            banner: LAMBDA_BUNDLING.banner,
            esbuildArgs: Object.fromEntries(
              Object.entries(LAMBDA_BUNDLING.alias).map(([module, path]) => [`--alias:${module}`, path]),
            ),
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              // The modules this function loads on first use, beside its index.mjs.
              afterBundling: (inputDir: string, outputDir: string) =>
                lazyModulesOf(lambdaName(props.entry)).map((module) =>
                  esbuildCommand(`${inputDir}/${module}`, `${outputDir}/${lazyBundleName(module)}`),
                ),
            },
          },
        })
      : new lambda.Function(this, "Function", {
          ...common,
          code: lambda.Code.fromAsset(prebuiltLambdaDir(lambdaName(props.entry))),
          handler: "index.handler",
        });
  }

  setEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * Grants exactly `access` (see lib/function-access.ts) and sets the variables that name each resource; no
   * other grant helper exists, so a function can do nothing its declaration does not list.
   */
  useResources(access: FunctionAccess, resources: FunctionResources): this {
    return this.useTable(resources.table, access)
      .useQueue(resources.deliveryQueue, "DELIVERY_QUEUE_URL", access.deliveryQueue)
      .useQueue(resources.deadLetterQueue, "DEAD_LETTER_QUEUE_URL", access.deadLetterQueue)
      .useGrantedQueue(resources.ingestQueue, "ingest queue", access.ingestQueue)
      .useGrantedQueue(
        resources.ingestDeadLetterQueue,
        "ingest DLQ",
        access.ingestDeadLetterQueue,
        "INGEST_DEAD_LETTER_QUEUE_URL",
      )
      .useSecretsUnder(resources.secretPrefix, access.secrets)
      .usePortalKey(resources.portalKey, access.portalKey)
      .useEventBus(resources.operationalEventBusName, access.operationalEventBus);
  }

  /** The portal key set's own ARN (no prefix wildcard), and PORTAL_KEY_SECRET_ID naming it. */
  usePortalKey(secret: secretsmanager.ISecret | undefined, actions: readonly string[]): this {
    if (actions.length === 0) return this;
    if (!secret) throw new Error("this function's access names the portal key, but none was given");
    this.setEnvironment("PORTAL_KEY_SECRET_ID", secret.secretArn);
    this.#allow(actions, [secret.secretArn]);
    return this;
  }

  /** PutEvents on this one bus only; the variable is set only for a function that may send. */
  useEventBus(busName: string, actions: readonly EventsAction[], variable = "OPERATIONAL_EVENT_BUS"): this {
    if (actions.length === 0) return this;
    this.setEnvironment(variable, busName);
    this.#allow(actions, [
      Stack.of(this).formatArn({ service: "events", resource: "event-bus", resourceName: busName }),
    ]);
    return this;
  }

  /** The table's own ARN for `access.table`, and `<table>/index/<name>` for each index it queries. */
  useTable(
    table: dynamodb.ITableV2,
    access: Pick<FunctionAccess, "table" | "indexes">,
    variable = "TABLE_NAME",
  ): this {
    this.setEnvironment(variable, table.tableName);
    if (access.table.length > 0) this.#allow(access.table, [table.tableArn]);
    for (const [index, actions] of Object.entries(access.indexes))
      this.#allow(actions, [`${table.tableArn}/index/${index}`]);
    return this;
  }

  useQueue(queue: sqs.IQueue, variable: string, actions: readonly SqsAction[]): this {
    this.setEnvironment(variable, queue.queueUrl);
    if (actions.length > 0) this.#allow(actions, [queue.queueArn]);
    return this;
  }

  /**
   * A queue only some functions use: granted (and named in `variable`, if the code needs its URL) only when
   * `actions` lists something.
   */
  useGrantedQueue(
    queue: sqs.IQueue | undefined,
    what: string,
    actions: readonly SqsAction[],
    variable?: string,
  ): this {
    if (actions.length === 0) return this;
    if (!queue) throw new Error(`this function's access names the ${what}, but none was given`);
    if (variable) this.setEnvironment(variable, queue.queueUrl);
    this.#allow(actions, [queue.queueArn]);
    return this;
  }

  /**
   * Secrets under `prefix` only: every statement is scoped to `secret:<prefix>*`, nothing else in the account.
   * `DeleteSecret` is allowed only with a recovery window of at least `SECRET_RECOVERY_WINDOW_DAYS` days, and
   * denied outright with `ForceDeleteWithoutRecovery`.
   */
  useSecretsUnder(prefix: string, actions: readonly SecretsAction[], variable = "SECRET_NAME_PREFIX"): this {
    this.setEnvironment(variable, prefix);
    const resources = [
      Stack.of(this).formatArn({
        service: "secretsmanager",
        resource: "secret",
        resourceName: `${prefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ];
    const plain = actions.filter((action) => action !== "secretsmanager:DeleteSecret");
    if (plain.length > 0) this.#allow(plain, resources);
    if (actions.includes("secretsmanager:DeleteSecret")) {
      this.#allow(["secretsmanager:DeleteSecret"], resources, {
        NumericGreaterThanEquals: { "secretsmanager:RecoveryWindowInDays": SECRET_RECOVERY_WINDOW_DAYS },
      });
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ["secretsmanager:DeleteSecret"],
          resources,
          conditions: { Bool: { "secretsmanager:ForceDeleteWithoutRecovery": "true" } },
        }),
      );
    }
    return this;
  }

  #allow(actions: readonly string[], resources: string[], conditions?: Record<string, unknown>): void {
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...actions], resources, ...(conditions ? { conditions } : {}) }),
    );
  }
}
