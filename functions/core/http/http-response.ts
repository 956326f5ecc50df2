/** API Gateway proxy responses: JSON bodies and RFC 9457 problem documents. */
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

export function problemResponse(error: unknown): HttpResponse {
  const problem = toProblem(error);
  return {
    statusCode: problem.status,
    headers: { "content-type": "application/problem+json" },
    body: JSON.stringify(problem),
  };
}
