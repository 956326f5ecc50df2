/** Runs the fauxqs SQS emulator in-process on a free port. */
import { type FauxqsServer, startFauxqs } from "fauxqs";

export interface SqsLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The emulator itself: local mode's queue journal inspects and restores messages through it. */
  readonly server: FauxqsServer;
  stop(): Promise<void>;
}

export async function startSqsLocal(options: { dataDir?: string; port?: number } = {}): Promise<SqsLocal> {
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    server,
    stop: () => server.stop(),
  };
}
