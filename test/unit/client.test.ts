/**
 * The typed client against a real HTTP server on 127.0.0.1 that answers from a script: what it sends for each
 * operation, which failures it retries (and how long it waits), the `ApiProblem` it throws, its pagination, and
 * that it offers one function per documented operation.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type Receiver, startReceiver } from "#test/support/receivers.ts";
import * as clientModule from "../../client/index.ts";
import {
  ApiProblem,
  type ClientOptions,
  createClient,
  createWebhook,
  getTenant,
  type Item,
  listWebhooks,
  type Params,
  publishEvents,
  type Result,
  retryAfterMs,
} from "../../client/index.ts";

/** What the server answers, in order (then 200 `{}`): a status with a JSON body, or a dropped connection. */
interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly hangUp?: boolean;
}

let server: Receiver;
let base: string;
let replies: Reply[] = [];
const received = () => server.requests;

beforeAll(async () => {
  server = await startReceiver(() => {
    const reply = replies.shift() ?? { status: 200, body: {} };
    if (reply.hangUp) return { reset: true };
    const problem =
      reply.status >= 400 && typeof reply.body === "object" && reply.body !== null && "title" in reply.body;
    return {
      status: reply.status,
      headers: {
        "content-type": problem ? "application/problem+json" : "application/json",
        ...reply.headers,
      },
      body: reply.body === undefined ? "" : JSON.stringify(reply.body),
    };
  });
  base = server.url;
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  replies = [];
});

const waits: number[] = [];
const client = (options: Partial<ClientOptions> = {}) => {
  waits.length = 0;
  return createClient({
    baseUrl: base,
    auth: { type: "none" },
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
};
const problem = (status: number, detail: string, errors?: { field: string; message: string }[]) => ({
  type: "about:blank",
  title: "Invalid request",
  status,
  detail,
  ...(errors ? { errors } : {}),
});

describe("requests", () => {
  it("sends each operation to its method and path, with encoded path parameters, query and JSON body", async () => {
    replies = [{ status: 201, body: { id: "wh_1", secret: "whsec_x" } }];
    const created = await createWebhook(client(), {
      path: { tenantId: "acme/eu" },
      body: { url: "https://hooks.example.com/in", eventTypes: ["order.*"] },
    });
    expect(created.secret).toBe("whsec_x");
    expect(received()[0]).toMatchObject({ method: "POST", path: "/hooks/tenants/acme%2Feu/webhooks" });
    expect(received()[0]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(received()[0]?.body ?? "")).toEqual({
      url: "https://hooks.example.com/in",
      eventTypes: ["order.*"],
    });

    await listWebhooks(client(), {
      path: { tenantId: "acme" },
      query: { limit: "2", event_type: "order.paid" },
    });
    expect(received()[1]).toMatchObject({
      method: "GET",
      path: "/hooks/tenants/acme/webhooks?limit=2&event_type=order.paid",
    });
    expect(received()[1]?.body).toBe("");

    await client().call("PATCH /tenants/{tenantId}/webhooks/{webhookId}", {
      path: { tenantId: "acme", webhookId: "wh_1" },
      body: { active: false },
      headers: { "If-Match": '"3"' },
    });
    expect(received()[2]?.headers["if-match"]).toBe('"3"');
  });

  it("carries a portal token as a bearer token, from a string or a function", async () => {
    await getTenant(client({ auth: { type: "bearer", token: "tok_1" } }), { path: { tenantId: "a" } });
    await getTenant(client({ auth: { type: "bearer", token: async () => "tok_2" } }), {
      path: { tenantId: "a" },
    });
    expect(received().map((request) => request.headers.authorization)).toEqual([
      "Bearer tok_1",
      "Bearer tok_2",
    ]);
  });

  it("signs with SigV4 for execute-api when the auth is IAM", async () => {
    await client({
      auth: {
        type: "iam",
        region: "eu-west-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "TOKEN" },
      },
    }).call("GET /dlq");
    expect(received()[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host/,
    );
    expect(received()[0]?.headers["x-amz-security-token"]).toBe("TOKEN");
  });
});

describe("errors", () => {
  it("throws an ApiProblem carrying the problem document and its field errors", async () => {
    replies = [
      {
        status: 400,
        body: problem(400, "url: scheme must be https", [{ field: "url", message: "scheme must be https" }]),
      },
    ];
    const error = await createWebhook(client(), {
      path: { tenantId: "a" },
      body: { url: "http://x", eventTypes: ["a"] },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiProblem);
    expect((error as ApiProblem).status).toBe(400);
    expect((error as ApiProblem).errors).toEqual([{ field: "url", message: "scheme must be https" }]);
    expect((error as ApiProblem).problem.detail).toBe("url: scheme must be https");
  });

  it("turns API Gateway's own answers ({message}) into problem documents too", async () => {
    replies = [{ status: 403, body: { message: "Missing Authentication Token" } }];
    const error = (await client()
      .call("GET /tenants")
      .catch((caught: unknown) => caught)) as ApiProblem;
    expect(error).toBeInstanceOf(ApiProblem);
    expect(error.problem).toMatchObject({
      status: 403,
      title: "Forbidden",
      detail: "Missing Authentication Token",
    });
  });
});

describe("retries", () => {
  it("retries a GET on 503 and 500 with growing, jittered backoff, then answers", async () => {
    replies = [
      { status: 503, body: problem(503, "busy") },
      { status: 500, body: problem(500, "oops") },
      { status: 200, body: { id: "a" } },
    ];
    await expect(getTenant(client(), { path: { tenantId: "a" } })).resolves.toEqual({ id: "a" });
    expect(received()).toHaveLength(3);
    expect(waits).toEqual([100, 200]); // 0.5 × 200 ms, 0.5 × 400 ms
  });

  it("waits as long as Retry-After asks (seconds or a date), within maxDelayMs", async () => {
    replies = [
      { status: 429, body: { message: "Too Many Requests" }, headers: { "retry-after": "3" } },
      { status: 429, body: { message: "Too Many Requests" }, headers: { "retry-after": "120" } },
      { status: 200, body: {} },
    ];
    await client({ retry: { maxDelayMs: 10_000 } }).call("GET /dlq");
    expect(waits).toEqual([3000, 10_000]);
    expect(retryAfterMs("Wed, 01 Jan 2031 00:00:10 GMT", Date.parse("2031-01-01T00:00:00Z"))).toBe(10_000);
    expect(retryAfterMs("soon")).toBeUndefined();
  });

  it("gives up after maxAttempts and throws the last problem", async () => {
    replies = Array.from({ length: 5 }, () => ({ status: 502, body: { message: "Bad Gateway" } }));
    const error = (await client({ retry: { maxAttempts: 3 } })
      .call("GET /tenants")
      .catch((caught: unknown) => caught)) as ApiProblem;
    expect(error.status).toBe(502);
    expect(received()).toHaveLength(3);
  });

  it("never repeats a create or a PATCH after a 5xx (it may have run), but does after a 429 (it did not)", async () => {
    replies = [{ status: 503, body: problem(503, "busy") }];
    await expect(
      createWebhook(client(), {
        path: { tenantId: "a" },
        body: { url: "https://x.example", eventTypes: ["a"] },
      }),
    ).rejects.toBeInstanceOf(ApiProblem);
    expect(received()).toHaveLength(1);

    replies = [{ status: 500, body: problem(500, "oops") }];
    await expect(
      client().call("PATCH /tenants/{tenantId}/webhooks/{webhookId}", {
        path: { tenantId: "a", webhookId: "wh_1" },
        body: { active: true },
      }),
    ).rejects.toBeInstanceOf(ApiProblem);
    expect(received()).toHaveLength(2);

    replies = [
      { status: 429, body: { message: "Too Many Requests" } },
      { status: 201, body: { id: "wh_2" } },
    ];
    await createWebhook(client(), {
      path: { tenantId: "a" },
      body: { url: "https://x.example", eventTypes: ["a"] },
    });
    expect(received()).toHaveLength(4);
  });

  it("retries a publish after a 5xx or a dropped connection with the same event id, one it chose when none was given", async () => {
    replies = [
      { status: 502, body: { message: "Bad Gateway" } },
      { hangUp: true, status: 0 },
      { status: 202, body: {} },
    ];
    await client().call("POST /tenants/{tenantId}/events", {
      path: { tenantId: "a" },
      body: { type: "a.b", data: {} },
    });
    expect(received()).toHaveLength(3);
    const ids = received().map((request) => (JSON.parse(request.body) as { id: string }).id);
    expect(ids[0]).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(1);
    replies = [{ status: 202, body: {} }];
    await client().call("POST /tenants/{tenantId}/events", {
      path: { tenantId: "a" },
      body: { id: "order-42", type: "a.b", data: {} },
    });
    expect(JSON.parse(received().at(-1)?.body ?? "").id).toBe("order-42");
  });

  it("gives every event of a batch lacking an id one before the first attempt, and retries the batch with the same ids", async () => {
    replies = [
      { status: 503, body: problem(503, "busy") },
      { hangUp: true, status: 0 },
      { status: 200, body: { results: [] } },
    ];
    await publishEvents(client(), {
      path: { tenantId: "a" },
      body: {
        events: [
          { type: "a.b", data: { n: 1 } },
          { id: "order-42", type: "a.b", data: { n: 2 } },
          { type: "a.c", data: { n: 3 } },
        ],
      },
    });
    expect(received()).toHaveLength(3);
    const sent = received().map(
      (request) => (JSON.parse(request.body) as { events: { id: string; data: unknown }[] }).events,
    );
    const [first = [], ...retries] = sent;
    expect(first.map((event) => event.id)).toEqual([
      expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      "order-42",
      expect.stringMatching(/^evt_[0-9a-f]{32}$/),
    ]);
    expect(first[0]?.id).not.toBe(first[2]?.id);
    expect(first.map((event) => event.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const retry of retries) expect(retry).toEqual(first);
  });

  it("retries a GET whose connection dropped, and rethrows the network error once out of attempts", async () => {
    replies = [
      { hangUp: true, status: 0 },
      { status: 200, body: { id: "a" } },
    ];
    await expect(getTenant(client(), { path: { tenantId: "a" } })).resolves.toEqual({ id: "a" });
    replies = [
      { hangUp: true, status: 0 },
      { hangUp: true, status: 0 },
    ];
    await expect(client({ retry: { maxAttempts: 2 } }).call("GET /tenants")).rejects.toThrow(TypeError);
  });
});

describe("pagination", () => {
  it("follows nextCursor until the last page, keeping the query", async () => {
    replies = [
      { status: 200, body: { data: [{ id: "1" }, { id: "2" }], nextCursor: "c1" } },
      { status: 200, body: { data: [{ id: "3" }], nextCursor: null } },
    ];
    const ids: string[] = [];
    for await (const webhook of client().paginate("GET /tenants/{tenantId}/webhooks", {
      path: { tenantId: "acme" },
      query: { limit: "2", active: "true" },
    }))
      ids.push(webhook.id);
    expect(ids).toEqual(["1", "2", "3"]);
    expect(received().map((request) => request.path)).toEqual([
      "/hooks/tenants/acme/webhooks?limit=2&active=true",
      "/hooks/tenants/acme/webhooks?limit=2&active=true&cursor=c1",
    ]);
  });
});

describe("the client's surface", () => {
  it("has one function per operator operation of docs/openapi.json, named by its operationId", () => {
    const document = JSON.parse(
      readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"),
    ) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    // The portal API's operations (`/api/…`) are the same operations, reached with a portal token.
    const operationIds = Object.entries(document.paths)
      .filter(([path]) => !path.startsWith("/api/"))
      .flatMap(([, item]) => Object.values(item).map((operation) => operation.operationId))
      .sort();
    const functions = Object.keys(clientModule).filter((name) => operationIds.includes(name));
    expect(functions.sort()).toEqual(operationIds);
  });

  it("types requests and answers from the contract", () => {
    expectTypeOf<Result<"GET /tenants/{tenantId}/webhooks/{webhookId}">>().toHaveProperty("eventTypes");
    expectTypeOf<Item<"GET /tenants">>().toHaveProperty("webhookCount");
    expectTypeOf<Result<"DELETE /tenants/{tenantId}/webhooks/{webhookId}">>().toEqualTypeOf<undefined>();
    expectTypeOf<Params<"GET /tenants/{tenantId}">>().toEqualTypeOf<{
      readonly path: { readonly tenantId: string };
      readonly headers?: Readonly<Record<string, string>>;
    }>();
    // The compiler refuses what the API would refuse in shape (tsc checks these lines: `npm run typecheck`).
    const typed = client();
    const never = () => {
      // @ts-expect-error: a webhook needs eventTypes
      void createWebhook(typed, { path: { tenantId: "a" }, body: { url: "https://x" } });
      // @ts-expect-error: no such path parameter
      void getTenant(typed, { path: { id: "a" } });
      // @ts-expect-error: limit is a query string
      void typed.call("GET /tenants", { query: { limit: 5 } });
      // @ts-expect-error: not an operation
      void typed.call("GET /nowhere");
    };
    expect(never).toBeTypeOf("function");
  });
});
