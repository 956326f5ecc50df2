/** Checks that `npm start` can have its API port before it starts anything (the engines take seconds). */
import { createServer } from "node:net";

export class PortUnavailableError extends Error {
  readonly port: number;
  readonly code: string;

  constructor(port: number, code: string) {
    super(
      code === "EADDRINUSE"
        ? `Port ${port} is in use: stop the other process or run with SW_PORT=<port>.`
        : `Port ${port} cannot be used (${code}): run with SW_PORT=<port>, e.g. SW_PORT=3001.`,
    );
    this.name = "PortUnavailableError";
    this.port = port;
    this.code = code;
  }
}

/** A TCP port number from the environment (1–65535), or an error naming the variable. */
export function parsePort(value: string | undefined, fallback: number, variable: string): number {
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535)
    throw new Error(`${variable} must be a TCP port from 1 to 65535 (got "${value}").`);
  return port;
}

/** Binds `host:port` for a moment and lets it go; throws `PortUnavailableError` if that fails. */
export function assertPortFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(new PortUnavailableError(port, error.code ?? "unknown")),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
