/**
 * Portal Lambda: the portal API (bearer tokens) and the management API's session routes. Every failure becomes
 * a problem document; an unexpected one is logged by name only — never with the request, whose Authorization
 * header holds a token.
 */
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { type HttpResponse, problemResponse } from "#core/http/http-response.ts";
import { TooManyRequestsError } from "#core/portal/portal-tokens.ts";
import { TenantRateLimiter } from "#core/portal/tenant-rate-limit.ts";
import { DomainError, NotFoundError } from "#core/shared/errors.ts";
import { routeContext } from "#functions/api/routes.ts";
import type { PortalConfig } from "./portal-config.ts";
import { type PortalContext, portalHandlers } from "./routes.ts";
import type { PortalRuntime } from "./runtime.ts";

export function createPortalHandler(runtime: PortalRuntime, portal: PortalConfig) {
  const context: PortalContext = {
    routes: routeContext(runtime),
    keys: runtime.portalKeys,
    documents: () => runtime.documents,
    tokens: { issuer: portal.issuer, audience: portal.audience },
    portalUrl: portal.url,
    limiter: new TenantRateLimiter({ ratePerSecond: portal.ratePerSecond, burst: portal.burst }),
  };
  // Without middy: the bundle sits close to the 400 KiB limit, and the logger's context is one call.
  return async (event: APIGatewayProxyEvent, lambdaContext?: Context): Promise<HttpResponse> => {
    if (lambdaContext?.awsRequestId) runtime.logger.addContext(lambdaContext);
    const key = `${event.httpMethod} ${event.resource}`;
    const route = portalHandlers[key];
    try {
      if (!route) throw new NotFoundError(`route ${key}`);
      const response = await route(event, context);
      // The route and status only: never the request, whose Authorization header holds a token.
      runtime.logger.debug("portal call", { route: key, status: response.statusCode });
      return response;
    } catch (error) {
      if (!(error instanceof DomainError)) {
        runtime.logger.error("request failed", {
          route: key,
          error: error instanceof Error ? error.name : "unknown",
          requestId: event.requestContext?.requestId,
        });
      }
      const problem = problemResponse(error);
      if (error instanceof TooManyRequestsError)
        return {
          ...problem,
          headers: { ...problem.headers, "retry-after": String(error.retryAfterSeconds) },
        };
      return problem;
    }
  };
}
