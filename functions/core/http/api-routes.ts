/**
 * The management API's routes as plain data: the API Lambda dispatches on them, the CDK stack builds one API
 * Gateway resource/method per entry (a model on each body), and local mode maps HTTP paths onto them.
 */
export type RouteTarget = "api" | "publish" | "portal";

export interface ApiRoute {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** API Gateway resource template, e.g. `/tenants/{tenantId}/webhooks/{webhookId}`. */
  readonly resource: string;
  readonly target: RouteTarget;
  /** Whether the method takes a JSON body (API Gateway validates it against a model). */
  readonly body: boolean;
}

const TENANT = "/tenants/{tenantId}";
const WEBHOOK = `${TENANT}/webhooks/{webhookId}`;
const DELIVERY = `${TENANT}/deliveries/{deliveryId}`;

export const apiRoutes: readonly ApiRoute[] = [
  { method: "GET", resource: "/tenants", target: "api", body: false },
  { method: "PUT", resource: TENANT, target: "api", body: true },
  { method: "GET", resource: TENANT, target: "api", body: false },
  { method: "DELETE", resource: TENANT, target: "api", body: false },
  { method: "POST", resource: `${TENANT}/webhooks`, target: "api", body: true },
  { method: "GET", resource: `${TENANT}/webhooks`, target: "api", body: false },
  { method: "GET", resource: WEBHOOK, target: "api", body: false },
  { method: "PATCH", resource: WEBHOOK, target: "api", body: true },
  { method: "DELETE", resource: WEBHOOK, target: "api", body: false },
  { method: "POST", resource: `${WEBHOOK}/rotate-secret`, target: "api", body: true },
  { method: "POST", resource: `${WEBHOOK}/test`, target: "api", body: false },
  { method: "POST", resource: `${WEBHOOK}/filter-test`, target: "api", body: true },
  { method: "GET", resource: `${WEBHOOK}/attempts`, target: "api", body: false },
  { method: "POST", resource: `${WEBHOOK}/recover`, target: "api", body: true },
  { method: "GET", resource: `${WEBHOOK}/deliveries`, target: "api", body: false },
  { method: "POST", resource: `${TENANT}/events`, target: "publish", body: true },
  // Static: wins over `{eventId}` (as in API Gateway), so no event may be called `batch` (docs/api.md).
  { method: "POST", resource: `${TENANT}/events/batch`, target: "publish", body: true },
  { method: "GET", resource: `${TENANT}/events`, target: "api", body: false },
  { method: "GET", resource: `${TENANT}/events/{eventId}`, target: "api", body: false },
  { method: "GET", resource: DELIVERY, target: "api", body: false },
  { method: "GET", resource: `${DELIVERY}/attempts`, target: "api", body: false },
  { method: "POST", resource: `${DELIVERY}/retry`, target: "api", body: false },
  // Portal sessions: minted and revoked by the portal function, which holds the signing key (docs/portal.md).
  { method: "POST", resource: `${TENANT}/portal-sessions`, target: "portal", body: true },
  { method: "POST", resource: `${TENANT}/portal-sessions/revoke`, target: "portal", body: false },
  { method: "GET", resource: "/dlq", target: "api", body: false },
  { method: "POST", resource: "/dlq/redrive", target: "api", body: true },
  // The operators' event-type catalogue (global). The static resource is listed before the {name} one, so that
  // local mode prefers it as API Gateway does.
  { method: "GET", resource: "/event-types", target: "api", body: false },
  { method: "GET", resource: "/event-types/openapi.json", target: "api", body: false },
  { method: "PUT", resource: "/event-types/{name}", target: "api", body: true },
  { method: "GET", resource: "/event-types/{name}", target: "api", body: false },
  { method: "DELETE", resource: "/event-types/{name}", target: "api", body: false },
];

export type RouteMatch<R extends { readonly method: string; readonly resource: string } = ApiRoute> =
  | { readonly kind: "route"; readonly route: R; readonly pathParameters: Record<string, string> }
  | { readonly kind: "method_not_allowed"; readonly allowed: string[] }
  | { readonly kind: "not_found" };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const expected = template.split("/");
  const actual = path.split("/");
  if (expected.length !== actual.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, part] of expected.entries()) {
    const value = actual[index] ?? "";
    if (part.startsWith("{") && part.endsWith("}")) {
      if (value === "") return undefined;
      try {
        parameters[part.slice(1, -1)] = decodeURIComponent(value);
      } catch {
        return undefined;
      }
    } else if (part !== value) {
      return undefined;
    }
  }
  return parameters;
}

/** Whether `a` is the more specific of two templates that match the same path: a literal at the first difference. */
function moreSpecific(a: string, b: string): boolean {
  const other = b.split("/");
  for (const [index, part] of a.split("/").entries()) {
    const literal = !part.startsWith("{");
    if (literal !== !(other[index] ?? "").startsWith("{")) return literal;
  }
  return false;
}

/** Finds the route for an HTTP method and path (trailing slash ignored), as API Gateway would. */
export function matchRoute(method: string, path: string): RouteMatch;
export function matchRoute<R extends { readonly method: string; readonly resource: string }>(
  method: string,
  path: string,
  routes: readonly R[],
): RouteMatch<R>;
export function matchRoute(
  method: string,
  path: string,
  routes: readonly { readonly method: string; readonly resource: string }[] = apiRoutes,
): RouteMatch<{ readonly method: string; readonly resource: string }> {
  const normalized = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const matching = routes.flatMap((route) => {
    const pathParameters = matchTemplate(route.resource, normalized);
    return pathParameters ? [{ route, pathParameters }] : [];
  });
  // API Gateway picks the resource first, a literal segment over a `{parameter}` one, then the method on it: a
  // method that only the less specific resource has is not reached (`GET …/events/batch` is not an event).
  const best = matching.reduce<string | undefined>(
    (chosen, { route }) =>
      chosen === undefined || moreSpecific(route.resource, chosen) ? route.resource : chosen,
    undefined,
  );
  const candidates = matching.filter((candidate) => candidate.route.resource === best);
  const exact = candidates.find((candidate) => candidate.route.method === method.toUpperCase());
  if (exact) return { kind: "route", ...exact };
  if (candidates.length > 0)
    return { kind: "method_not_allowed", allowed: candidates.map((candidate) => candidate.route.method) };
  return { kind: "not_found" };
}
