/**
 * AWS SDK clients, one factory per service so that a function's bundle holds only the services it calls. On Lambda
 * no endpoint is set and the SDK uses the regional service; locally and in tests each service points at its
 * emulator. `createAwsClients` builds all of them, for the local stack and the tests that share one set.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface AwsEndpoints {
  readonly dynamodb?: string | undefined;
  readonly sqs?: string | undefined;
  readonly secretsManager?: string | undefined;
}

export interface AwsClientConfig {
  readonly region: string;
  readonly endpoints?: AwsEndpoints;
  /** Only for emulators, which accept any key; on AWS the default provider chain is used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface DynamoClients {
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
}

export interface AwsClients extends DynamoClients {
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
}

const baseOf = (config: AwsClientConfig) => ({
  region: config.region,
  ...(config.credentials ? { credentials: config.credentials } : {}),
});
const endpoint = (url: string | undefined) => (url ? { endpoint: url } : {});

export function createDynamoClients(config: AwsClientConfig): DynamoClients {
  const dynamodb = new DynamoDBClient({ ...baseOf(config), ...endpoint(config.endpoints?.dynamodb) });
  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
  };
}

export function createSqsClient(config: AwsClientConfig): SQSClient {
  // An emulator's queue URLs name a host of their own; send every call to the configured endpoint instead.
  return new SQSClient({
    ...baseOf(config),
    ...endpoint(config.endpoints?.sqs),
    ...(config.endpoints?.sqs ? { useQueueUrlAsEndpoint: false } : {}),
  });
}

export function createSecretsManagerClient(config: AwsClientConfig): SecretsManagerClient {
  return new SecretsManagerClient({ ...baseOf(config), ...endpoint(config.endpoints?.secretsManager) });
}

export function createAwsClients(config: AwsClientConfig): AwsClients {
  return {
    ...createDynamoClients(config),
    sqs: createSqsClient(config),
    secretsManager: createSecretsManagerClient(config),
  };
}
