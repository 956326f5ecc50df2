/**
 * The portal API's routes as plain data: each is a management route on one tenant's data (`operatorRoute`,
 * the key of `tenantRouteHandlers` and `requestModels`) or a read of the event-type catalogue, reached with a portal token instead of IAM, the tenant
 * taken from the token, and the capability it needs. The portal Lambda dispatches on them, the CDK stack builds
 * the portal API from them, and local mode serves them under `/portal`.
 */
import type { Capability } from "../portal/capabilities.ts";

export interface PortalRoute {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  /** API Gateway resource template on the portal API, e.g. `/api/webhooks/{webhookId}`. */
  readonly resource: string;
  readonly operatorRoute: string;
  readonly capability: Capability;
  readonly body: boolean;
}

const TENANT = "/tenants/{tenantId}";
const route = (
  method: PortalRoute["method"],
  path: string,
  capability: Capability,
  body = false,
): PortalRoute => ({
  method,
  resource: `/api${path}`,
  operatorRoute: `${method} ${TENANT}${path}`,
  capability,
  body,
});

/** A read of the operator's event-type catalogue, which every tenant may see (its picker shows it). */
const catalogueRead = (path: string): PortalRoute => ({
  method: "GET",
  resource: `/api${path}`,
  operatorRoute: `GET ${path}`,
  capability: "endpoints:read",
  body: false,
});

const WEBHOOK = "/webhooks/{webhookId}";
const DELIVERY = "/deliveries/{deliveryId}";

export const portalRoutes: readonly PortalRoute[] = [
  route("GET", "/webhooks", "endpoints:read"),
  route("POST", "/webhooks", "endpoints:write", true),
  route("GET", WEBHOOK, "endpoints:read"),
  route("PATCH", WEBHOOK, "endpoints:write", true),
  route("DELETE", WEBHOOK, "endpoints:write"),
  route("POST", `${WEBHOOK}/rotate-secret`, "secrets:rotate", true),
  route("POST", `${WEBHOOK}/test`, "test:send"),
  route("POST", `${WEBHOOK}/filter-test`, "endpoints:read", true),
  route("GET", `${WEBHOOK}/attempts`, "endpoints:read"),
  route("GET", `${WEBHOOK}/deliveries`, "endpoints:read"),
  route("POST", `${WEBHOOK}/recover`, "deliveries:retry", true),
  route("GET", "/events", "endpoints:read"),
  route("GET", "/events/{eventId}", "endpoints:read"),
  route("GET", DELIVERY, "endpoints:read"),
  route("GET", `${DELIVERY}/attempts`, "endpoints:read"),
  route("POST", `${DELIVERY}/retry`, "deliveries:retry"),
  catalogueRead("/event-types"),
  catalogueRead("/event-types/{name}"),
];

/** What the page is allowed to load and do: its own scripts, styles and API, nothing inline, no frames. */
export const PORTAL_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
