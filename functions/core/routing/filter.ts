/**
 * Payload filters: Amazon EventBridge's content-filter syntax over the event envelope (`type`, `source`, `data`).
 * A filter is an object whose keys name fields; a field holds either a nested object or a list of matchers, and
 * matches when any matcher in its list matches the event's value there. Every field must match (AND); `$or`
 * lists alternative filters at the same level. Matchers: exact values (string, number, boolean, null), `prefix`,
 * `suffix` (each optionally `{"equals-ignore-case": …}`), `equals-ignore-case`, `anything-but` (values, or a
 * prefix/suffix/equals-ignore-case/wildcard), `numeric` ranges, `exists` and `wildcard` (`*` only; matched
 * greedily in linear passes, never with a backtracking regex). No matcher runs code or a regular expression.
 *
 * Validation is iterative where input depth is unbounded, and every limit below is checked before evaluation
 * could cost more than the bounded filter allows. Evaluation never throws on a validated filter.
 */
import { nestsWithin } from "../shared/nesting.ts";

export type Filter = Readonly<Record<string, unknown>>;

export const FILTER_LIMITS = {
  /** The filter serialized as JSON. */
  maxBytes: 4096,
  /** Levels of nested field objects, the filter itself being level 1 (`$or` branches count as a level). */
  maxDepth: 8,
  /** Matchers and listed values in the whole filter. */
  maxValues: 100,
  /** Alternatives in one `$or`. */
  maxOrBranches: 10,
  /** Characters in one string value or field name. */
  maxStringLength: 256,
  /** `*` in one wildcard pattern. */
  maxWildcards: 8,
  /** Numbers: EventBridge's range and precision (six decimal places), which DynamoDB also stores exactly. */
  maxNumber: 5e9,
} as const;

/** The fields a filter may name at its top level: the envelope's routing fields and the payload. */
export const FILTERABLE_FIELDS = ["type", "source", "data"] as const;

export interface FilterIssue {
  /** e.g. `filter.data.amount[0].numeric` */
  readonly field: string;
  readonly message: string;
}

export interface FailedClause {
  /** Where in the event the failing clause looks, e.g. `data.amount` (`$or` for a failed set of alternatives). */
  readonly path: string;
  /** The clause itself, as written in the filter. */
  readonly clause: unknown;
}

export type FilterResult =
  | { readonly matches: true }
  | { readonly matches: false; readonly failedClause: FailedClause };

/** The event fields a filter sees. */
export interface FilterableEvent {
  readonly type: string;
  readonly source?: string | undefined;
  readonly data: unknown;
}

const STRING_OPERATORS = new Set(["prefix", "suffix", "equals-ignore-case", "wildcard"]);
const OPERATORS = new Set([...STRING_OPERATORS, "anything-but", "numeric", "exists"]);
const LOWER_BOUNDS = new Set([">", ">="]);
const UPPER_BOUNDS = new Set(["<", "<="]);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `data.amount` / `data["odd.key"]` / `data.items[0]` */
function pathOf(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key);
  if (!plain) return `${base}[${JSON.stringify(key)}]`;
  return base === "" ? key : `${base}.${key}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: each check records its issues and answers whether the value was sound.

const MATCHER_MESSAGE = "a value (string, number, boolean, null) or an object with one operator";

class Checker {
  readonly issues: FilterIssue[] = [];
  values = 0;

  issue(field: string, message: string): false {
    if (this.issues.length < 20) this.issues.push({ field, message });
    return false;
  }

  countValue(field: string): boolean {
    this.values += 1;
    if (this.values === FILTER_LIMITS.maxValues + 1)
      this.issue(field, `a filter holds at most ${FILTER_LIMITS.maxValues} matchers and values`);
    return this.values <= FILTER_LIMITS.maxValues;
  }

  string(field: string, value: unknown, what = "a string"): boolean {
    if (typeof value !== "string") return this.issue(field, `must be ${what}`);
    if (value.length > FILTER_LIMITS.maxStringLength)
      return this.issue(field, `at most ${FILTER_LIMITS.maxStringLength} characters`);
    return true;
  }

  number(field: string, value: unknown): boolean {
    if (typeof value !== "number" || !Number.isFinite(value)) return this.issue(field, "must be a number");
    if (Math.abs(value) > FILTER_LIMITS.maxNumber || Number(value.toFixed(6)) !== value)
      return this.issue(field, "a number from -5e9 to 5e9 with at most six decimal places");
    return true;
  }

  /** A string, or `{"equals-ignore-case": string}` (for prefix and suffix). */
  affix(field: string, value: unknown): boolean {
    const message = 'a string, or {"equals-ignore-case": string}';
    if (!isPlainObject(value)) return this.string(field, value, message);
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== "equals-ignore-case") return this.issue(field, message);
    return this.string(`${field}["equals-ignore-case"]`, value["equals-ignore-case"]);
  }

  wildcard(field: string, value: unknown): boolean {
    if (!this.string(field, value)) return false;
    const parsed = parseWildcard(value as string);
    return typeof parsed === "string" ? this.issue(field, parsed) : true;
  }

  /** One value, or a non-empty list of them, each checked by `each`. */
  oneOrMany(field: string, value: unknown, each: (field: string, value: unknown) => boolean): boolean {
    if (!Array.isArray(value)) return each(field, value);
    if (value.length === 0) return this.issue(field, "at least one value");
    return value.every(
      (item, index) => this.countValue(pathOf(field, index)) && each(pathOf(field, index), item),
    );
  }

  anythingButOperator(field: string, value: Record<string, unknown>): boolean {
    const keys = Object.keys(value);
    const [operator] = keys;
    if (keys.length !== 1 || operator === undefined || !STRING_OPERATORS.has(operator))
      return this.issue(field, "one of prefix, suffix, equals-ignore-case or wildcard");
    const inner = pathOf(field, operator);
    const operand = value[operator];
    if (operator === "prefix" || operator === "suffix") return this.string(inner, operand);
    if (operator === "wildcard") return this.oneOrMany(inner, operand, (f, v) => this.wildcard(f, v));
    return this.oneOrMany(inner, operand, (f, v) => this.string(f, v));
  }

  anythingBut(field: string, value: unknown): boolean {
    if (isPlainObject(value)) return this.anythingButOperator(field, value);
    if (Array.isArray(value) && new Set(value.map((item) => typeof item)).size > 1)
      return this.issue(field, "a list of strings or a list of numbers, not both");
    return this.oneOrMany(field, value, (f, v) =>
      typeof v === "number"
        ? this.number(f, v)
        : this.string(
            f,
            v,
            "a string, a number, a list of them, or {prefix|suffix|equals-ignore-case|wildcard}",
          ),
    );
  }

  numeric(field: string, value: unknown): boolean {
    if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4))
      return this.issue(field, 'a range such as [">", 0, "<=", 5] or ["=", 5]');
    const bounds: Partial<Record<"=" | "lower" | "upper", number>> = {};
    for (let index = 0; index < value.length; index += 2)
      if (!this.bound(field, index, value, bounds)) return false;
    if (bounds.lower !== undefined && bounds.upper !== undefined && bounds.lower >= bounds.upper)
      return this.issue(field, "the lower bound must be below the upper bound");
    return true;
  }

  /** One `operator, number` pair of a numeric range, recorded in `bounds`. */
  bound(
    field: string,
    index: number,
    range: readonly unknown[],
    bounds: Partial<Record<"=" | "lower" | "upper", number>>,
  ): boolean {
    const operator: unknown = range[index];
    const operand: unknown = range[index + 1];
    const at = pathOf(field, index);
    if (typeof operator !== "string" || !["=", ...LOWER_BOUNDS, ...UPPER_BOUNDS].includes(operator))
      return this.issue(at, "one of =, >, >=, <, <=");
    if (!this.number(pathOf(field, index + 1), operand)) return false;
    const side = operator === "=" ? "=" : LOWER_BOUNDS.has(operator) ? "lower" : "upper";
    if (side === "=" && range.length > 2) return this.issue(at, "= stands alone");
    if (bounds[side] !== undefined) return this.issue(at, "at most one lower and one upper bound");
    bounds[side] = operand as number;
    return true;
  }

  operator(field: string, operator: string, operand: unknown): boolean {
    switch (operator) {
      case "prefix":
      case "suffix":
        return this.affix(field, operand);
      case "equals-ignore-case":
        return this.string(field, operand);
      case "wildcard":
        return this.wildcard(field, operand);
      case "anything-but":
        return this.anythingBut(field, operand);
      case "numeric":
        return this.numeric(field, operand);
      case "exists":
        return typeof operand === "boolean" || this.issue(field, "true or false");
      default:
        return this.issue(
          field,
          `unknown operator; use one of ${[...OPERATORS].join(", ")} (cidr and regular expressions are not supported)`,
        );
    }
  }

  matcher(field: string, matcher: unknown): boolean {
    if (!this.countValue(field)) return false;
    if (matcher === null || typeof matcher === "boolean") return true;
    if (typeof matcher === "number") return this.number(field, matcher);
    if (typeof matcher === "string") return this.string(field, matcher);
    if (!isPlainObject(matcher)) return this.issue(field, MATCHER_MESSAGE);
    const keys = Object.keys(matcher);
    const [operator] = keys;
    if (keys.length !== 1 || operator === undefined)
      return this.issue(field, "an operator object holds exactly one operator");
    return this.operator(pathOf(field, operator), operator, matcher[operator]);
  }

  alternatives(field: string, value: unknown, topLevel: boolean): boolean {
    if (!Array.isArray(value) || value.length < 2)
      return this.issue(field, "a list of at least two alternative filters");
    if (value.length > FILTER_LIMITS.maxOrBranches)
      return this.issue(field, `at most ${FILTER_LIMITS.maxOrBranches} alternatives`);
    return value.map((branch, index) => this.pattern(pathOf(field, index), branch, topLevel)).every(Boolean);
  }

  field(at: string, key: string, value: unknown, topLevel: boolean): boolean {
    if (key.startsWith("$")) return this.issue(at, "unknown operator; only $or is supported at field level");
    if (topLevel && !(FILTERABLE_FIELDS as readonly string[]).includes(key))
      return this.issue(at, `a filter matches ${FILTERABLE_FIELDS.join(", ")}; not ${key.slice(0, 64)}`);
    // DynamoDB's marshalling (and any plain assignment) cannot keep an own "__proto__" key: refuse it here.
    if (key === "__proto__") return this.issue(at, "__proto__ is not a field name a filter can match");
    if (key.length === 0 || key.length > FILTER_LIMITS.maxStringLength)
      return this.issue(at, `field names have 1 to ${FILTER_LIMITS.maxStringLength} characters`);
    if (Array.isArray(value)) {
      if (value.length === 0) return this.issue(at, "at least one matcher");
      return value.map((matcher, index) => this.matcher(pathOf(at, index), matcher)).every(Boolean);
    }
    if (!isPlainObject(value))
      return this.issue(at, 'a list of matchers, e.g. ["value"], or an object of nested fields');
    if (topLevel && key !== "data") return this.issue(at, 'a list of matchers, e.g. ["value"]');
    return this.pattern(at, value, false);
  }

  pattern(field: string, pattern: unknown, topLevel: boolean): boolean {
    if (!isPlainObject(pattern)) return this.issue(field, "an object of fields");
    const keys = Object.keys(pattern);
    if (keys.length === 0) return this.issue(field, "name at least one field");
    return keys
      .map((key) => {
        const at = field === "" ? key : pathOf(field, key);
        return key === "$or"
          ? this.alternatives(at, pattern[key], topLevel)
          : this.field(at, key, pattern[key], topLevel);
      })
      .every(Boolean);
  }
}

/**
 * Issues with a filter, each naming its path under `prefix` (empty when the filter is valid). Size and depth are
 * checked first, without recursion, so that no input can make validation itself expensive.
 */
export function validateFilter(filter: unknown, prefix = "filter"): FilterIssue[] {
  const at = (path: string) => (path === "" || prefix === "" ? prefix || path : `${prefix}.${path}`);
  if (!isPlainObject(filter)) return [{ field: prefix, message: "an object of fields" }];
  // Objects and the matcher lists inside them: a field at level n sits 2n deep; an operator's operand 2 more.
  if (!nestsWithin(filter, FILTER_LIMITS.maxDepth * 2 + 4))
    return [{ field: prefix, message: `nested at most ${FILTER_LIMITS.maxDepth} levels deep` }];
  const bytes = Buffer.byteLength(JSON.stringify(filter));
  if (bytes > FILTER_LIMITS.maxBytes)
    return [
      { field: prefix, message: `at most ${FILTER_LIMITS.maxBytes} bytes as JSON (this one has ${bytes})` },
    ];
  const checker = new Checker();
  checker.pattern("", filter, true);
  const depthIssue = deeperThan(filter, FILTER_LIMITS.maxDepth);
  if (depthIssue) checker.issue(depthIssue, `nested at most ${FILTER_LIMITS.maxDepth} levels deep`);
  return checker.issues.map((issue) => ({ field: at(issue.field), message: issue.message }));
}

/** The path of a field object nested deeper than `limit` levels (the filter and each `$or` branch count). */
function deeperThan(filter: Record<string, unknown>, limit: number): string | undefined {
  const pending: [Record<string, unknown>, string, number][] = [[filter, "", 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [pattern, path, depth] = next;
    if (depth > limit) return path;
    for (const [key, value] of Object.entries(pattern)) {
      const at = path === "" ? key : pathOf(path, key);
      if (key === "$or" && Array.isArray(value))
        value.forEach((branch, index) => {
          if (isPlainObject(branch)) pending.push([branch, pathOf(at, index), depth + 1]);
        });
      else if (isPlainObject(value)) pending.push([value, at, depth + 1]);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Wildcards

/** The literal pieces between unescaped `*` (`\*` is a literal star, `\\` a backslash), or why it is invalid. */
export function parseWildcard(pattern: string): string[] | string {
  const pieces: string[] = [];
  let current = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index] as string;
    if (char === "\\") {
      const escaped = pattern[index + 1];
      if (escaped !== "*" && escaped !== "\\") return "\\ escapes only * and \\";
      current += escaped;
      index += 1;
    } else if (char === "*") {
      if (pattern[index + 1] === "*") return "consecutive * are not allowed";
      pieces.push(current);
      current = "";
    } else current += char;
  }
  pieces.push(current);
  if (pieces.length - 1 > FILTER_LIMITS.maxWildcards) return `at most ${FILTER_LIMITS.maxWildcards} *`;
  return pieces;
}

/**
 * Glob matching with `*` only: the first piece anchors the start, the last the end, the ones between are found
 * left to right, each at its earliest position (which is optimal for `*`-only patterns). O(pieces × length).
 */
function wildcardMatches(pattern: string, value: string): boolean {
  const pieces = parseWildcard(pattern);
  if (typeof pieces === "string") return false;
  if (pieces.length === 1) return value === pieces[0];
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  const end = value.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = value.indexOf(piece, position);
    if (found === -1 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

const lower = (text: string) => text.toLowerCase();

function affixMatches(operand: unknown, value: string, test: (value: string, affix: string) => boolean) {
  if (typeof operand === "string") return test(value, operand);
  if (isPlainObject(operand) && typeof operand["equals-ignore-case"] === "string")
    return test(lower(value), lower(operand["equals-ignore-case"]));
  return false;
}

const startsWith = (value: string, affix: string) => value.startsWith(affix);
const endsWith = (value: string, affix: string) => value.endsWith(affix);
const listOf = (operand: unknown): unknown[] => (Array.isArray(operand) ? operand : [operand]);

function anythingButMatches(operand: unknown, value: unknown): boolean {
  if (isPlainObject(operand)) {
    if (typeof value !== "string") return false;
    if ("prefix" in operand) return !affixMatches(operand.prefix, value, startsWith);
    if ("suffix" in operand) return !affixMatches(operand.suffix, value, endsWith);
    if ("wildcard" in operand)
      return !listOf(operand.wildcard).some((pattern) => wildcardMatches(String(pattern), value));
    return !listOf(operand["equals-ignore-case"]).some((item) => lower(String(item)) === lower(value));
  }
  return !listOf(operand).some((item) => item === value);
}

function numericMatches(operand: unknown, value: unknown): boolean {
  if (typeof value !== "number" || !Array.isArray(operand)) return false;
  for (let index = 0; index + 1 < operand.length; index += 2) {
    const bound = operand[index + 1] as number;
    switch (operand[index]) {
      case "=":
        if (!(value === bound)) return false;
        break;
      case ">":
        if (!(value > bound)) return false;
        break;
      case ">=":
        if (!(value >= bound)) return false;
        break;
      case "<":
        if (!(value < bound)) return false;
        break;
      case "<=":
        if (!(value <= bound)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Whether one leaf value (never an object or array) satisfies one matcher (`exists` is decided by the caller). */
function leafMatches(matcher: unknown, value: unknown): boolean {
  if (!isPlainObject(matcher)) return matcher === value;
  const [operator] = Object.keys(matcher);
  const operand = operator === undefined ? undefined : matcher[operator];
  switch (operator) {
    case "prefix":
      return typeof value === "string" && affixMatches(operand, value, startsWith);
    case "suffix":
      return typeof value === "string" && affixMatches(operand, value, endsWith);
    case "equals-ignore-case":
      return typeof value === "string" && typeof operand === "string" && lower(value) === lower(operand);
    case "wildcard":
      return typeof value === "string" && typeof operand === "string" && wildcardMatches(operand, value);
    case "anything-but":
      return anythingButMatches(operand, value);
    case "numeric":
      return numericMatches(operand, value);
    default:
      return false;
  }
}

/** The values under `key` in `node`, looking through arrays (an array of objects is searched element by element). */
function valuesAt(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((element) => valuesAt(element, key));
  if (isPlainObject(node) && Object.hasOwn(node, key)) return [node[key]];
  return [];
}

/** Scalars under a field, arrays flattened (an event array matches when any element does). */
function leavesOf(values: unknown[]): unknown[] {
  const leaves: unknown[] = [];
  const pending = [...values];
  for (let next = pending.pop(); pending.length > 0 || next !== undefined; next = pending.pop()) {
    if (Array.isArray(next)) pending.push(...next);
    else if (!isPlainObject(next)) leaves.push(next);
  }
  return leaves;
}

function fieldMatches(matchers: readonly unknown[], values: unknown[]): boolean {
  const leaves = leavesOf(values);
  return matchers.some((matcher) => {
    if (isPlainObject(matcher) && "exists" in matcher) return leaves.length > 0 === (matcher.exists === true);
    return leaves.some((leaf) => leafMatches(matcher, leaf));
  });
}

function evaluate(pattern: Record<string, unknown>, node: unknown, path: string): FailedClause | undefined {
  for (const [key, clause] of Object.entries(pattern)) {
    if (key === "$or") {
      const branches = clause as Record<string, unknown>[];
      if (!branches.some((branch) => evaluate(branch, node, path) === undefined))
        return { path: path === "" ? "$or" : `${path}.$or`, clause };
      continue;
    }
    const at = path === "" ? key : pathOf(path, key);
    const values = valuesAt(node, key);
    if (Array.isArray(clause)) {
      if (!fieldMatches(clause, values)) return { path: at, clause };
      continue;
    }
    const failure = evaluateNested(clause as Record<string, unknown>, values, at);
    if (failure) return failure;
  }
  return undefined;
}

/** A nested pattern holds if it holds for one of the objects there (nested fields of a missing object are missing). */
function evaluateNested(
  pattern: Record<string, unknown>,
  values: unknown[],
  path: string,
): FailedClause | undefined {
  const candidates = objectsOf(values);
  let first: FailedClause | undefined;
  for (const target of candidates.length > 0 ? candidates : [{}]) {
    const failure = evaluate(pattern, target, path);
    if (!failure) return undefined;
    first ??= failure;
  }
  return first;
}

/** The objects under a field (arrays of objects searched element by element). */
function objectsOf(values: unknown[]): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  const pending = [...values];
  for (let next = pending.pop(); pending.length > 0 || next !== undefined; next = pending.pop()) {
    if (Array.isArray(next)) pending.push(...next);
    else if (isPlainObject(next)) objects.push(next);
  }
  return objects;
}

/**
 * Whether `event` passes `filter` (a filter that `validateFilter` accepted), and if not, the first clause that
 * failed. No filter matches everything.
 */
export function matchFilter(filter: Filter | undefined, event: FilterableEvent): FilterResult {
  if (!filter) return { matches: true };
  const envelope = {
    type: event.type,
    ...(event.source === undefined ? {} : { source: event.source }),
    data: event.data,
  };
  const failedClause = evaluate(filter, envelope, "");
  return failedClause ? { matches: false, failedClause } : { matches: true };
}
