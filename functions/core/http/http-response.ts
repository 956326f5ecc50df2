/** API Gateway proxy responses: JSON bodies and RFC 9457 problem documents. */
import type { OperationKey, Operations, ResponseBody } from "../contract/api-contract.ts";
import { toProblem } from "../shared/errors.ts";

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

/** A JSON answer whose body the compiler checks against the contract's schema for this route and status. */
export function reply<K extends OperationKey, S extends keyof Operations[K]["responses"] & number>(
  _operation: K,
  status: S,
  body: ResponseBody<K, S>,
  headers: Record<string, string> = {},
): HttpResponse {
  return jsonResponse(status, body, headers);
}

export function problemResponse(error: unknown): HttpResponse {
  const problem = toProblem(error);
  return {
    statusCode: problem.status,
    headers: { "content-type": "application/problem+json" },
    body: JSON.stringify(problem),
  };
}
