/** Runs the fauxqs SQS emulator in-process on a free port. */
import { startFauxqs } from "fauxqs";

export interface SqsLocal {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startSqsLocal(options: { dataDir?: string; port?: number } = {}): Promise<SqsLocal> {
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, port: server.port, stop: () => server.stop() };
}
