/**
 * AWS SDK clients, built once per container. On Lambda no endpoint is set and the SDK uses the regional
 * service; locally and in tests each service points at its emulator.
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

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
}

export function createAwsClients(config: AwsClientConfig): AwsClients {
  const base = { region: config.region, ...(config.credentials ? { credentials: config.credentials } : {}) };
  const endpoint = (url: string | undefined) => (url ? { endpoint: url } : {});
  const dynamodb = new DynamoDBClient({ ...base, ...endpoint(config.endpoints?.dynamodb) });
  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    // An emulator's queue URLs name a host of their own; send every call to the configured endpoint instead.
    sqs: new SQSClient({
      ...base,
      ...endpoint(config.endpoints?.sqs),
      ...(config.endpoints?.sqs ? { useQueueUrlAsEndpoint: false } : {}),
    }),
    secretsManager: new SecretsManagerClient({ ...base, ...endpoint(config.endpoints?.secretsManager) }),
  };
}
