/**
 * Opaque pagination cursors: base64url of the store's position. A cursor is only accepted for the listing it
 * came from (its partition attributes must match), so a forged one is a 400, never a store error.
 */
import { ValidationError } from "./errors.ts";

export type Position = Record<string, string>;

export function encodeCursor(position: Record<string, unknown> | undefined): string | undefined {
  return position ? Buffer.from(JSON.stringify(position)).toString("base64url") : undefined;
}

const invalid = () => new ValidationError([{ field: "cursor", message: "not a cursor from this listing" }]);

export function decodeCursor(
  cursor: string | undefined,
  expected: Readonly<Record<string, string>>,
  allowed: readonly string[],
): Position | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid();
  const entries = Object.entries(parsed);
  if (
    entries.length === 0 ||
    entries.some(([key, value]) => !allowed.includes(key) || typeof value !== "string" || value.length > 1024)
  ) {
    throw invalid();
  }
  const position = parsed as Position;
  if (Object.entries(expected).some(([key, value]) => position[key] !== value)) throw invalid();
  return position;
}
