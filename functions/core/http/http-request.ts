/** Reading API Gateway proxy requests at the edge: JSON bodies and query strings, through zod. */
import type * as z from "zod/mini";
import { PayloadTooLargeError, ValidationError } from "../shared/errors.ts";

export interface ProxyRequest {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
  readonly headers?: Record<string, string | undefined> | null;
  readonly pathParameters?: Record<string, string | undefined> | null;
}

export function parseJsonBody(
  event: ProxyRequest,
  maxBytes: number,
  optional = false,
  what = "the event",
): unknown {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? "", "base64").toString("utf8")
    : (event.body ?? "");
  if (Buffer.byteLength(raw) > maxBytes) throw new PayloadTooLargeError(maxBytes, what);
  if (raw.trim() === "") {
    if (optional) return {};
    throw new ValidationError([{ field: "body", message: "a JSON body is required" }]);
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError([{ field: "body", message: "not valid JSON" }]);
  }
}

export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, prefix = ""): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error, prefix);
  return parsed.data;
}

export const queryOf = (event: ProxyRequest): Record<string, string> =>
  Object.fromEntries(
    Object.entries(event.queryStringParameters ?? {}).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );

export function headerOf(event: ProxyRequest, name: string): string | undefined {
  const key = Object.keys(event.headers ?? {}).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : (event.headers?.[key] ?? undefined);
}
