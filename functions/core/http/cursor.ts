/**
 * Opaque pagination cursors: base64url of the store's position. A cursor is only accepted if it is exactly a
 * position of the listing it is given to — the attributes that listing's positions have, no more and no fewer,
 * each of the shape that listing's items have — so a forged one is a 400, never a store error.
 */
import { ValidationError } from "../shared/errors.ts";

export type Position = Record<string, string>;

/**
 * What a position of one listing looks like: every attribute it has, as the exact value (the listing's own
 * partition) or a pattern the whole value must match. Named groups that occur in several patterns must capture
 * the same text, so the parts of a position cannot disagree (the webhook id in the table key and in the index
 * key, say).
 */
export type CursorShape = Readonly<Record<string, string | RegExp>>;

const MAX_VALUE_LENGTH = 1024;

export function encodeCursor(position: Record<string, unknown> | undefined): string | undefined {
  return position ? Buffer.from(JSON.stringify(position)).toString("base64url") : undefined;
}

const invalid = () => new ValidationError([{ field: "cursor", message: "not a cursor from this listing" }]);

function parse(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
}

/**
 * Whether `value` is what `expected` allows; the named groups it captures must agree with those `groups`
 * already holds (from other attributes), and are added to it.
 */
function fits(value: unknown, expected: string | RegExp | undefined, groups: Map<string, string>): boolean {
  if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH || expected === undefined) return false;
  if (typeof expected === "string") return value === expected;
  const match = expected.exec(value);
  if (match?.index !== 0 || match[0] !== value) return false;
  for (const [group, captured] of Object.entries(match.groups ?? {})) {
    if (captured === undefined) continue;
    if ((groups.get(group) ?? captured) !== captured) return false;
    groups.set(group, captured);
  }
  return true;
}

/** The position `cursor` stands for, if it has exactly `shape`; a `ValidationError` naming `cursor` otherwise. */
export function decodeCursor(cursor: string | undefined, shape: CursorShape): Position | undefined {
  if (cursor === undefined) return undefined;
  const parsed = parse(cursor);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid();
  const entries = Object.entries(parsed);
  if (entries.length !== Object.keys(shape).length) throw invalid();
  const groups = new Map<string, string>();
  for (const [name, value] of entries)
    if (!(Object.hasOwn(shape, name) && fits(value, shape[name], groups))) throw invalid();
  return Object.fromEntries(entries) as Position;
}
