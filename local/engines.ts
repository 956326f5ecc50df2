/**
 * The three local AWS engines, started and stopped together: DynamoDB Local (java), fauxqs (in-process)
 * and the project's Secrets Manager emulator (in-process). Each listens on a free loopback port.
 */
import { join } from "node:path";
import type { FauxqsServer } from "fauxqs";
import type { AwsClientConfig } from "#aws/clients.ts";
import { type DynamoDbLocal, startDynamoDbLocal } from "./dynamodb-local.ts";
import { startSecretsManagerEmulator } from "./secrets-manager-emulator.ts";
import { startSqsLocal } from "./sqs-local.ts";

export const LOCAL_REGION = "us-east-1";
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

export interface EngineEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly secretsManager: string;
}

export interface LocalEngines {
  readonly endpoints: EngineEndpoints;
  readonly sqs: FauxqsServer;
  readonly dynamoDbPid: number | undefined;
  stop(): Promise<void>;
}

export interface StartEnginesOptions {
  /** Persist DynamoDB and Secrets Manager state here (local mode); omit for throwaway engines (tests). */
  readonly dataDir?: string;
}

export async function startEngines(options: StartEnginesOptions = {}): Promise<LocalEngines> {
  const dataDir = options.dataDir;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const results = await Promise.allSettled(stops.splice(0).map((stop) => stop()));
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  };
  try {
    const [dynamo, sqs, secrets] = await Promise.all([
      startDynamoDbLocal(dataDir ? { dataDir: join(dataDir, "dynamodb") } : {}).then(
        (engine: DynamoDbLocal) => {
          stops.push(engine.stop);
          return engine;
        },
      ),
      // In memory even in local mode: fauxqs 2.4's SQLite persistence loses in-flight messages (a visibility
      // change after a receive fails with MessageNotInflight and the message is gone), which would break retries.
      // Local mode keeps its queues across restarts with its own journal instead (local/queue-journal.ts).
      startSqsLocal().then((engine) => {
        stops.push(engine.stop);
        return engine;
      }),
      startSecretsManagerEmulator({
        region: LOCAL_REGION,
        ...(dataDir ? { persistPath: join(dataDir, "secrets-manager.json") } : {}),
      }).then((engine) => {
        stops.push(engine.stop);
        return engine;
      }),
    ]);
    return {
      endpoints: { dynamodb: dynamo.endpoint, sqs: sqs.endpoint, secretsManager: secrets.endpoint },
      sqs: sqs.server,
      dynamoDbPid: dynamo.pid,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

export function localClientConfig(endpoints: EngineEndpoints): AwsClientConfig {
  return { region: LOCAL_REGION, endpoints, credentials: LOCAL_CREDENTIALS };
}
