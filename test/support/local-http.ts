/** Talking to a running `npm start` the way a user does: JSON over HTTP, and waiting for a condition. */
import { createClient } from "../../client/index.ts";

/** Polls `probe` until it returns something other than undefined; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 40_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A JSON caller of the local API at `base`, through the typed client's raw requests (no auth, no retries). */
export function jsonCaller(base: string) {
  const client = createClient({ baseUrl: base, auth: { type: "none" }, retry: { maxAttempts: 1 } });
  return async (method: string, path: string, body?: unknown) => {
    const response = await client.raw({
      method,
      path,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      json: (response.body ? JSON.parse(response.body) : {}) as Record<string, unknown>,
    };
  };
}
