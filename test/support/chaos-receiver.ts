/**
 * Misbehaving webhook receivers for the chaos suite. Each one serves the webhooks of several tenants, one path
 * per webhook (`/hooks/{webhookId}`, verified with that webhook's secret), and logs every request it sees (which
 * webhook's URL, which delivery, which attempt number, when it arrived, what it answered), so that the test can
 * hold the platform's attempt log against what the receivers actually lived through.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook as StandardWebhook } from "standardwebhooks";

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with CHAOS_SEED. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type Behaviour = "flaky" | "rate-limited" | "slow" | "resetting";

/** How long the slow receiver takes to answer: longer than the sender's deadline (DELIVERY_TIMEOUT_MS). */
export const SLOW_ANSWER_MS = 900;

/** One request as the receiver saw it. */
export interface SeenRequest {
  readonly receiver: string;
  /** The webhook whose URL the request reached: the last segment of its path. */
  readonly webhookId: string;
  /** `x-webhook-delivery-id` */
  readonly deliveryId: string;
  /** `webhook-id`: the event id */
  readonly eventId: string;
  /** `x-webhook-attempt` */
  readonly attempt: number;
  /** When its headers arrived (Date.now()). */
  readonly arrivedAt: number;
  /** The status answered, or "reset" when the connection was destroyed instead; unset until answered. */
  answer?: number | "reset";
  /** Answered only after the sender's deadline had passed (the slow receiver): the sender saw a timeout. */
  late?: boolean;
  /** The body's `data.tenant` (the chaos run's producers name their tenant there); set once the body arrived. */
  bodyTenant?: string;
}

export interface ChaosReceiver {
  /** Unique per receiver, e.g. "flaky" or "flaky-moved". */
  readonly name: string;
  readonly behaviour: Behaviour;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: SeenRequest[];
  /** `${webhookId} ${webhook-id}` (webhook, event) → times acknowledged with a 2xx after verifying. */
  readonly acknowledged: Map<string, number>;
  /** Requests refused with a 401: no webhook at the path, or a signature its secret does not verify. */
  unverified: number;
  /** Serves a webhook at its own path, verified with its secret; answers that webhook's URL. */
  serve(webhookId: string, secret: string): string;
  close(): Promise<void>;
}

/** 30 % 5xx; 15 % 429 with Retry-After and 10 % 503; 10 % slower than the sender's timeout; 10 % resets. */
function misbehave(behaviour: Behaviour, roll: number): number | "reset" | "slow" | undefined {
  if (behaviour === "flaky" && roll < 0.3) return 500;
  if (behaviour === "rate-limited" && roll < 0.15) return 429;
  if (behaviour === "rate-limited" && roll < 0.25) return 503;
  if (behaviour === "slow" && roll < 0.1) return "slow";
  if (behaviour === "resetting" && roll < 0.1) return "reset";
  return undefined;
}

/** `data.tenant` of an event envelope, if the body is one that names it. */
function bodyTenant(body: string): string | undefined {
  try {
    const tenant = (JSON.parse(body) as { data?: { tenant?: unknown } }).data?.tenant;
    return typeof tenant === "string" ? tenant : undefined;
  } catch {
    return undefined;
  }
}

function verifies(secret: string, body: string, headers: Record<string, string>): boolean {
  try {
    new StandardWebhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

export async function startChaosReceiver(
  behaviour: Behaviour,
  random: () => number,
  name: string = behaviour,
): Promise<ChaosReceiver> {
  /** webhook id → its signing secret. */
  const secrets = new Map<string, string>();
  const receiver: ChaosReceiver = {
    name,
    behaviour,
    port: 0,
    requests: [],
    acknowledged: new Map(),
    unverified: 0,
    serve: () => "",
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const header = (key: string) => String(request.headers[key] ?? "");
    const path = new URL(request.url ?? "/", "http://receiver").pathname;
    const seen: SeenRequest = {
      receiver: name,
      webhookId: path.split("/").at(-1) ?? "",
      deliveryId: header("x-webhook-delivery-id"),
      eventId: header("webhook-id"),
      attempt: Number(header("x-webhook-attempt")),
      arrivedAt: Date.now(),
    };
    receiver.requests.push(seen);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const tenant = bodyTenant(body);
      if (tenant !== undefined) seen.bodyTenant = tenant;
      const misbehaviour = misbehave(behaviour, random());
      const answer = (status: number) => {
        seen.answer = status;
        response.writeHead(status, status === 429 ? { "retry-after": "1" } : {}).end();
      };
      if (misbehaviour === "reset") {
        seen.answer = "reset";
        request.socket.destroy();
        return;
      }
      if (typeof misbehaviour === "number") return answer(misbehaviour);
      const verifyAndAnswer = () => {
        const secret = secrets.get(seen.webhookId);
        if (!secret || !verifies(secret, body, request.headers as Record<string, string>)) {
          receiver.unverified += 1;
          return answer(401);
        }
        const pair = `${seen.webhookId} ${seen.eventId}`;
        receiver.acknowledged.set(pair, (receiver.acknowledged.get(pair) ?? 0) + 1);
        answer(204);
      };
      if (misbehaviour === "slow") {
        seen.late = true;
        setTimeout(verifyAndAnswer, SLOW_ANSWER_MS);
      } else verifyAndAnswer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    port,
    serve: (webhookId: string, secret: string) => {
      secrets.set(webhookId, secret);
      return `http://127.0.0.1:${port}/hooks/${webhookId}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
