/**
 * The typed client's core: one `WebhooksClient` that signs (IAM) or carries a portal token, retries what is safe
 * to retry, turns every error answer into an `ApiProblem`, and pages through listings. Every operation's types
 * come from the API contract (`functions/core/contract/api-contract.ts`): request types are `z.input<>` of the
 * schemas the handlers parse with, response types `z.infer<>` of the response schemas.
 */
import type * as z from "zod/mini";
import type { OperationKey, Operations, Problem } from "../functions/core/contract/api-contract.ts";
import { type Credentials, joinApiUrl, signRequest } from "./sigv4.ts";

export type { OperationKey, Operations, Problem };

export type Auth =
  /** SigV4 for `execute-api` (the operator API). Credentials: the AWS SDK's default chain when absent. */
  | { readonly type: "iam"; readonly region?: string; readonly credentials?: Credentials }
  /** A portal token, sent as `Authorization: Bearer …`. */
  | { readonly type: "bearer"; readonly token: string | (() => string | Promise<string>) }
  /** No auth: local mode (`npm start`). */
  | { readonly type: "none" };

export interface RetryOptions {
  /** Attempts in all, the first included (default 4; 1 turns retries off). */
  readonly maxAttempts?: number;
  /** First backoff step (default 200 ms); each next step doubles, with full jitter. */
  readonly baseDelayMs?: number;
  /** Longest wait between attempts, `Retry-After` included (default 20 s). */
  readonly maxDelayMs?: number;
}

export interface ClientOptions {
  /** The stack's `ApiUrl` output (or `http://127.0.0.1:3000` locally). */
  readonly baseUrl: string;
  /** Default: IAM with the default credential chain. */
  readonly auth?: Auth;
  readonly retry?: RetryOptions;
  /** Another `fetch` (a proxy agent, a test double); the global one by default. */
  readonly fetch?: typeof fetch;
  /** Waits between retries; `setTimeout` by default. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1); `Math.random` by default. */
  readonly random?: () => number;
}

/** An error answer of the API, with its RFC 9457 problem document (`errors` names each failing field on a 400). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly headers: Headers;
  constructor(problem: Problem, headers: Headers) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = "ApiProblem";
    this.status = problem.status;
    this.problem = problem;
    this.headers = headers;
  }
  /** The field errors of a 400 (empty otherwise). */
  get errors(): readonly { readonly field: string; readonly message: string }[] {
    return this.problem.errors ?? [];
  }
}

// ── Types of each operation, from the contract ───────────────────────────────────────────────────────────────

type PathParameters<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? { readonly [K in Name]: string } & PathParameters<Rest>
  : unknown;
type ResourceOf<K extends string> = K extends `${string} ${infer Resource}` ? Resource : never;
type Input<S> = S extends z.ZodMiniType ? z.input<S> : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What an operation takes: path parameters, query, body and headers, each only where the route has them. */
export type Params<K extends OperationKey> = Simplify<
  (ResourceOf<K> extends `${string}{${string}` ? { readonly path: PathParameters<ResourceOf<K>> } : unknown) &
    (Operations[K] extends { query: infer Q } ? { readonly query?: Input<Q> } : unknown) &
    (Operations[K] extends { body: infer B }
      ? Operations[K] extends { bodyOptional: true }
        ? { readonly body?: Input<B> }
        : { readonly body: Input<B> }
      : unknown) & { readonly headers?: Readonly<Record<string, string>> }
>;

type SuccessBody<S> = S extends z.ZodMiniType ? z.infer<S> : undefined;
/** The body of an operation's success answer (a union when it has several success statuses). */
export type Result<K extends OperationKey> = {
  [S in keyof Operations[K]["responses"]]: SuccessBody<Operations[K]["responses"][S]>;
}[keyof Operations[K]["responses"]];

export interface Response<K extends OperationKey> {
  readonly status: number;
  readonly headers: Headers;
  readonly data: Result<K>;
}

/** Operations whose answer is a page (`{data, nextCursor}`), and the items of their pages. */
export type ListOperation = {
  [K in OperationKey]: Result<K> extends { data: unknown[]; nextCursor: string | null } ? K : never;
}[OperationKey];
export type Item<K extends ListOperation> = Result<K> extends { data: (infer T)[] } ? T : never;

export type ParamsArgument<K extends OperationKey> =
  Partial<Params<K>> extends Params<K> ? [params?: Params<K>] : [params: Params<K>];

// ── The client ───────────────────────────────────────────────────────────────────────────────────────────────

export interface RawRequest {
  readonly method: string;
  /** Path and query relative to the base URL, e.g. `/tenants?limit=10`. */
  readonly path: string;
  readonly body?: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RawResponse {
  readonly url: URL;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** Methods that mean the same when repeated: retried after a 5xx or a network error. */
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** Statuses worth retrying: API Gateway's throttling, and transient failures behind it. */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `Retry-After` as milliseconds (seconds or an HTTP date), if present and sensible. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class WebhooksClient {
  readonly #options: ClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Sends one request and answers whatever came back (no `ApiProblem`), retrying as `call` does. The escape hatch
   * `npm run api` uses; prefer `call`.
   *
   * Retries (up to `retry.maxAttempts`, full-jitter exponential backoff, `Retry-After` honoured up to
   * `retry.maxDelayMs`): a 429 for any method (API Gateway throttles before the request reaches the API, so
   * nothing ran); a 5xx or a network error only for `idempotent` requests — GET, PUT, DELETE, and anything the
   * caller marks so (the client marks a publish that carries an event `id`: the API answers a repeat of it with
   * the first answer). POST and PATCH are otherwise never repeated: a create could run twice, and a PATCH's
   * precondition would fail on its own earlier success.
   */
  async raw(
    request: RawRequest,
    idempotent = IDEMPOTENT.has(request.method.toUpperCase()),
  ): Promise<RawResponse> {
    const maxAttempts = Math.max(1, this.#options.retry?.maxAttempts ?? 4);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#send(request).then(
        (response) => ({ response }),
        (failure: unknown) => ({ failure }),
      );
      const response = "response" in outcome ? outcome.response : undefined;
      const retryable = response
        ? RETRYABLE.has(response.status) && (response.status === 429 || idempotent)
        : idempotent;
      if (!retryable || attempt >= maxAttempts) {
        if ("response" in outcome) return outcome.response;
        throw outcome.failure;
      }
      await this.#wait(attempt, response);
    }
  }

  /** Full-jitter exponential backoff, or longer when `Retry-After` asks, never past `maxDelayMs`. */
  async #wait(attempt: number, response: RawResponse | undefined): Promise<void> {
    const baseDelay = this.#options.retry?.baseDelayMs ?? 200;
    const maxDelay = this.#options.retry?.maxDelayMs ?? 20_000;
    const backoff =
      (this.#options.random ?? Math.random)() * Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
    const asked = response ? retryAfterMs(response.headers.get("retry-after")) : undefined;
    await (this.#options.sleep ?? sleepFor)(Math.min(maxDelay, Math.max(backoff, asked ?? 0)));
  }

  async #send(request: RawRequest): Promise<RawResponse> {
    const url = joinApiUrl(this.#options.baseUrl, request.path);
    const method = request.method.toUpperCase();
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      ...(request.body !== undefined ? { "content-type": "application/json" } : {}),
      ...Object.fromEntries(
        Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
      ),
    };
    const auth = this.#options.auth ?? { type: "iam" };
    if (auth.type === "bearer") {
      headers.authorization = `Bearer ${typeof auth.token === "string" ? auth.token : await auth.token()}`;
    }
    const sent =
      auth.type === "iam" ? await signRequest({ method, url, body: request.body, headers }, auth) : headers;
    const response = await this.#fetch(url, {
      method,
      headers: sent,
      ...(request.body !== undefined ? { body: request.body } : {}),
    });
    return { url, status: response.status, headers: response.headers, body: await response.text() };
  }

  /** Calls one operation; answers its status, headers and typed body, or throws an `ApiProblem`. */
  async send<K extends OperationKey>(operation: K, ...[params]: ParamsArgument<K>): Promise<Response<K>> {
    const [method = "GET", resource = "/"] = operation.split(" ");
    const given = (params ?? {}) as {
      path?: Record<string, string>;
      query?: Record<string, string | undefined>;
      body?: unknown;
      headers?: Record<string, string>;
    };
    const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = given.path?.[name];
      if (value === undefined) throw new TypeError(`${operation}: path parameter ${name} is missing`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams(
      Object.entries(given.query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ).toString();
    let body = given.body;
    // A publish without an id gets one here, before the first attempt: every retry then repeats the same event,
    // and the API answers a repeat with the first answer (nothing is sent twice).
    // A batch's events likewise, each: a retry of the batch then repeats each event, never publishes it twice.
    const publishes = method === "POST" && /^\/tenants\/\{tenantId\}\/events(\/batch)?$/.test(resource);
    if (publishes) body = withEventIds(body);
    const raw = await this.raw(
      {
        method,
        path: query ? `${path}?${query}` : path,
        body: body === undefined ? (method === "POST" ? "{}" : undefined) : JSON.stringify(body),
        ...(given.headers ? { headers: given.headers } : {}),
      },
      IDEMPOTENT.has(method) || publishes,
    );
    if (raw.status >= 400) throw new ApiProblem(problemOf(raw), raw.headers);
    return {
      status: raw.status,
      headers: raw.headers,
      data: (raw.body === "" ? undefined : JSON.parse(raw.body)) as Result<K>,
    };
  }

  /** Calls one operation and answers its typed body, or throws an `ApiProblem`. */
  async call<K extends OperationKey>(operation: K, ...params: ParamsArgument<K>): Promise<Result<K>> {
    return (await this.send(operation, ...params)).data;
  }

  /** Every item of a listing, page after page (following `nextCursor`), as they come. */
  async *paginate<K extends ListOperation>(
    operation: K,
    ...[params]: ParamsArgument<K>
  ): AsyncGenerator<Item<K>> {
    const given = (params ?? {}) as { query?: Record<string, unknown> };
    let cursor: string | null | undefined;
    do {
      const next = {
        ...given,
        query: { ...given.query, ...(cursor ? { cursor } : {}) },
      } as unknown as Params<K>;
      const page = (await this.call(operation, ...([next] as ParamsArgument<K>))) as {
        data: Item<K>[];
        nextCursor: string | null;
      };
      yield* page.data;
      cursor = page.nextCursor;
    } while (cursor);
  }
}

const newEventId = () => `evt_${crypto.randomUUID().replaceAll("-", "")}`;
const withEventId = (event: unknown) =>
  typeof event === "object" && event !== null && !("id" in event) ? { id: newEventId(), ...event } : event;

/** A publish's body with an id on the event (or on each event of a batch) that has none. */
function withEventIds(body: unknown): unknown {
  if (typeof body !== "object" || body === null) return body;
  const { events } = body as { events?: unknown };
  return Array.isArray(events) ? { ...body, events: events.map(withEventId) } : withEventId(body);
}

/** The problem document of an error answer; API Gateway's own `{"message"}` answers (403, 429) become one too. */
function problemOf(response: RawResponse): Problem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  const record = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof record.title === "string" && typeof record.detail === "string") {
    return { ...(record as Problem), status: response.status };
  }
  return {
    type: "about:blank",
    title: response.status === 403 ? "Forbidden" : response.status === 429 ? "Too many requests" : "Error",
    status: response.status,
    detail:
      typeof record.message === "string"
        ? record.message
        : response.body.slice(0, 500) || `HTTP ${response.status}`,
  };
}

/** A client for the API at `options.baseUrl`. */
export const createClient = (options: ClientOptions) => new WebhooksClient(options);
