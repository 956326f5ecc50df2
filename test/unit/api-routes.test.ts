/** Route matching as API Gateway does it (the local shim and the contract check both use it). */
import { describe, expect, it } from "vitest";
import { matchRoute } from "#core/http/api-routes.ts";

const routeOf = (method: string, path: string) => {
  const match = matchRoute(method, path);
  return match.kind === "route" ? `${match.route.method} ${match.route.resource}` : match;
};

describe("matchRoute", () => {
  it("prefers a literal resource over a {parameter} one, then the method on it", () => {
    expect(routeOf("POST", "/tenants/t1/events/batch")).toBe("POST /tenants/{tenantId}/events/batch");
    // API Gateway never falls back to `/events/{eventId}` for a method only that resource has.
    expect(routeOf("GET", "/tenants/t1/events/batch")).toEqual({
      kind: "method_not_allowed",
      allowed: ["POST"],
    });
    expect(routeOf("GET", "/tenants/t1/events/evt_1")).toBe("GET /tenants/{tenantId}/events/{eventId}");
    expect(routeOf("GET", "/tenants/t1/events/batches")).toBe("GET /tenants/{tenantId}/events/{eventId}");
    expect(routeOf("POST", "/tenants/t1/events")).toBe("POST /tenants/{tenantId}/events");
    expect(routeOf("GET", "/event-types/openapi.json")).toBe("GET /event-types/openapi.json");
    expect(routeOf("PUT", "/event-types/order.paid")).toBe("PUT /event-types/{name}");
    expect(routeOf("PUT", "/event-types/openapi.json")).toEqual({
      kind: "method_not_allowed",
      allowed: ["GET"],
    });
    expect(routeOf("GET", "/tenants/t1/nothing")).toEqual({ kind: "not_found" });
  });
});
