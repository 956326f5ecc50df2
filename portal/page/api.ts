/**
 * The page's calls to the portal API: same origin (`api/` next to the page), the session's token as a bearer,
 * problem documents turned into `ApiError`s (with their field errors), 401 into `SessionExpiredError`.
 */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly issues: readonly FieldIssue[];
  constructor(status: number, message: string, issues: readonly FieldIssue[] = []) {
    super(message);
    this.status = status;
    this.issues = issues;
  }
}

export class SessionExpiredError extends ApiError {}

const TOKEN_KEY = "portal.token";

/** The token from the link's fragment (then removed from the address bar and history), or the tab's stored one. */
export function takeToken(): string | undefined {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromLink = fragment.get("token");
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new SessionExpiredError(401, "no session");
  const response = await fetch(new URL(`api${path}`, document.baseURI), {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    cache: "no-store",
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed as T;
  const problem = (parsed ?? {}) as { detail?: string; title?: string; errors?: FieldIssue[] };
  const message = problem.detail ?? problem.title ?? `request failed (${response.status})`;
  if (response.status === 401) throw new SessionExpiredError(401, message);
  throw new ApiError(response.status, message, problem.errors ?? []);
}

export interface Endpoint {
  readonly id: string;
  readonly url: string;
  readonly eventTypes: string[];
  readonly headers: Record<string, string>;
  readonly description: string | null;
  readonly active: boolean;
  readonly disabledReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
  readonly previousSecretValidUntil: string | null;
}

export interface Attempt {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  readonly status: "succeeded" | "failed";
  readonly statusCode?: number;
  readonly responseBody?: string;
  readonly durationMs: number;
  readonly errorClass?: string;
  readonly timestamp: string;
}

export interface Delivery {
  readonly id: string;
  readonly eventId: string;
  readonly webhookId: string;
  readonly eventType: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt?: string;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  readonly reason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A type of the operator's catalogue, as `GET /api/event-types` shows it. */
export interface EventType {
  readonly name: string;
  readonly description: string;
  readonly example: unknown;
  readonly deprecated: boolean;
  readonly archived: boolean;
}

export interface Page<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}
