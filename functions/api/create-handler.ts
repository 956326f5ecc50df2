/**
 * Management API Lambda: dispatches API Gateway proxy events on `<method> <resource>` to the route functions.
 * Every failure becomes an RFC 9457 problem document; an unexpected one is logged (by name, never with request
 * data) and answered with a generic 500.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { type HttpResponse, problemResponse } from "#core/http/http-response.ts";
import { DomainError, NotFoundError } from "#core/shared/errors.ts";
import { type ApiRouteContext, routeContext, routeHandlers } from "./routes.ts";
import type { ApiRuntime } from "./runtime.ts";

export function createApiHandler(runtime: ApiRuntime) {
  const context: ApiRouteContext = { ...routeContext(runtime), runtime };
  return middy(async (event: APIGatewayProxyEvent): Promise<HttpResponse> => {
    const route = routeHandlers[`${event.httpMethod} ${event.resource}`];
    try {
      if (!route) throw new NotFoundError(`route ${event.httpMethod} ${event.resource}`);
      return await route(event, context);
    } catch (error) {
      if (!(error instanceof DomainError)) {
        runtime.logger.error("request failed", {
          route: `${event.httpMethod} ${event.resource}`,
          error: error instanceof Error ? error.name : "unknown",
          requestId: event.requestContext?.requestId,
        });
      }
      return problemResponse(error);
    }
  }).use(injectLambdaContext(runtime.logger));
}
