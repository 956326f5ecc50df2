/**
 * The portal function's routes. Two front doors: the management API's `/tenants/{tenantId}/portal-sessions`
 * (IAM auth: the operator mints and revokes sessions), and the portal API's `/api/…` (a bearer token: the
 * tenant's customer). Every `/api` route is a management route on one tenant's data (`tenantRouteHandlers`, the
 * very functions the management API runs), with the tenant taken from the verified token instead of the path.
 */

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { revokePortalTokens } from "#aws/portal-revocation.ts";
import { headerOf, type ProxyRequest, parseJsonBody, parseWith } from "#core/http/http-request.ts";
import { type HttpResponse, jsonResponse } from "#core/http/http-response.ts";
import { type PortalRoute, portalRoutes } from "#core/http/portal-routes.ts";
import {
  bearerToken,
  createSessionSchema,
  issueToken,
  type PortalKeySource,
  requireCapability,
  type TokenSettings,
  verifyToken,
} from "#core/portal/portal-tokens.ts";
import type { TenantRateLimiter } from "#core/portal/tenant-rate-limit.ts";
import { NotFoundError } from "#core/shared/errors.ts";
import { isTenantId, requireTenant } from "#core/tenants/tenants.ts";
import { catalogueReadHandlers, type RouteContext, tenantRouteHandlers } from "#functions/api/routes.ts";

const MAX_BODY_BYTES = 4 * 1024;

export interface PortalContext {
  readonly routes: RouteContext;
  readonly keys: PortalKeySource;
  /** The table client the revocation mark is written with. */
  readonly documents: () => DynamoDBDocumentClient;
  readonly tokens: TokenSettings;
  readonly portalUrl: string;
  readonly limiter: TenantRateLimiter;
}

/** Sessions carry credentials: never cached by a browser or a proxy. */
const NO_STORE = { "cache-control": "no-store" };

function pathTenant(event: ProxyRequest): string {
  const id = event.pathParameters?.tenantId ?? "";
  if (!isTenantId(id)) throw new NotFoundError(`tenant ${id.slice(0, 64)}`);
  return id;
}

async function createSessionRoute(event: ProxyRequest, context: PortalContext): Promise<HttpResponse> {
  const { runtime } = context.routes;
  const input = parseWith(createSessionSchema, parseJsonBody(event, MAX_BODY_BYTES, true));
  const tenant = await requireTenant(runtime.tenants, pathTenant(event));
  const issued = await issueToken(tenant, input, context.keys, context.tokens, runtime.now());
  const url = new URL(context.portalUrl);
  url.hash = `token=${issued.token}`;
  return jsonResponse(
    201,
    {
      token: issued.token,
      url: url.toString(),
      expiresAt: issued.expiresAt,
      capabilities: issued.capabilities,
    },
    NO_STORE,
  );
}

async function revokeSessionsRoute(event: ProxyRequest, context: PortalContext): Promise<HttpResponse> {
  const { runtime } = context.routes;
  const tenantId = pathTenant(event);
  const now = runtime.now();
  // The next whole second: every token issued until now has an earlier `iat`; tokens minted from now on get
  // an `iat` of at least this (issueToken), so a link minted right after the revoke works.
  const notBefore = Math.floor(now.getTime() / 1000) + 1;
  await revokePortalTokens(
    context.documents(),
    runtime.config.tableName,
    runtime.tenants,
    tenantId,
    notBefore,
    now.toISOString(),
  );
  return jsonResponse(200, { revokedBefore: new Date(notBefore * 1000).toISOString() }, NO_STORE);
}

type PortalHandler = (event: ProxyRequest, context: PortalContext) => Promise<HttpResponse>;

/** A portal route: token → tenant, the tenant's rate, the capability, then the shared management route. */
function portalRoute(route: PortalRoute): PortalHandler {
  const handler = tenantRouteHandlers[route.operatorRoute] ?? catalogueReadHandlers[route.operatorRoute];
  if (!handler) throw new Error(`no management route ${route.operatorRoute} for ${route.resource}`);
  return async (event, context) => {
    const { runtime } = context.routes;
    const session = await verifyToken(
      bearerToken(headerOf(event, "authorization")),
      context.keys,
      context.tokens,
      (id) => runtime.tenants.get(id),
      runtime.now(),
    );
    context.limiter.take(session.tenantId);
    requireCapability(session, route.capability);
    const response = await handler(event, context.routes, { tenantId: session.tenantId, basePath: "/api" });
    return { ...response, headers: { ...response.headers, ...NO_STORE } };
  };
}

/** Keyed by `<METHOD> <resource>`: the management API's session routes and every portal API route. */
export const portalHandlers: Readonly<Record<string, PortalHandler>> = {
  "POST /tenants/{tenantId}/portal-sessions": createSessionRoute,
  "POST /tenants/{tenantId}/portal-sessions/revoke": revokeSessionsRoute,
  ...Object.fromEntries(
    portalRoutes.map((route) => [`${route.method} ${route.resource}`, portalRoute(route)]),
  ),
};
