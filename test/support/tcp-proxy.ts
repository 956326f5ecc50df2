/** A TCP proxy on loopback that a test can take down and bring back, to make a dependency briefly unreachable. */

import type { AddressInfo } from "node:net";
import { createConnection, createServer, type Socket } from "node:net";

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** While down, new connections are reset and open ones are cut. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let available = true;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (!available) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(targetPort, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    down: () => {
      available = false;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    up: () => {
      available = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
