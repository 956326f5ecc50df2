/**
 * The house Lambda function: Node 24 on arm64, an ESM bundle built by esbuild (minified, source maps, the AWS SDK
 * bundled rather than taken from the runtime), an explicit log group with retention, active tracing, explicit
 * memory and timeout. The `use*` helpers set an environment variable and grant exactly what it needs together,
 * and never drop environment the caller passed in.
 */
import { ArnFormat, type Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

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

const PROJECT_ROOT = new URL("../..", import.meta.url).pathname;

export type QueueUse = "send" | "consume" | "send+consume";

export class WebhooksFunction extends Construct {
  readonly function: NodejsFunction;
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
    this.function = new NodejsFunction(this, "Function", {
      role,
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
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
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        platform: "node",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ["module", "main"],
        // Bundle the AWS SDK too: a pinned, tree-shaken SDK instead of whatever the runtime ships.
        externalModules: [],
        // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
        esbuildArgs: {
          "--alias:@aws-sdk/credential-provider-node": `${PROJECT_ROOT}functions/aws/lambda-credentials.ts`,
        },
      },
    });
  }

  setEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  useTable(table: dynamodb.ITableV2, access: "read" | "readWrite", variable = "TABLE_NAME"): this {
    this.setEnvironment(variable, table.tableName);
    if (access === "read") table.grantReadData(this.function);
    else table.grantReadWriteData(this.function);
    return this;
  }

  useQueue(queue: sqs.IQueue, variable: string, use: QueueUse): this {
    this.setEnvironment(variable, queue.queueUrl);
    if (use !== "consume") queue.grantSendMessages(this.function);
    if (use !== "send") queue.grantConsumeMessages(this.function);
    return this;
  }

  /** Secrets under `prefix` only: the grant is scoped to `secret:<prefix>*`, nothing else in the account. */
  useSecretsUnder(prefix: string, actions: readonly string[], variable = "SECRET_NAME_PREFIX"): this {
    this.setEnvironment(variable, prefix);
    const stack = Stack.of(this);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: [
          stack.formatArn({
            service: "secretsmanager",
            resource: "secret",
            resourceName: `${prefix}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    return this;
  }
}
