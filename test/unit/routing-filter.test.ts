/**
 * Payload filters: every operator against hand-written cases (EventBridge's documented semantics), property tests
 * (a filter built to match a generated event matches it; one changed leaf makes it fail, and the failed clause
 * names that leaf), and the limits that keep hostile filters cheap to refuse.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FILTER_LIMITS,
  type Filter,
  type FilterableEvent,
  matchFilter,
  validateFilter,
} from "#core/routing/filter.ts";

const event = (data: Record<string, unknown>, type = "order.paid", source = "shop"): FilterableEvent => ({
  type,
  source,
  data,
});
const matches = (filter: Filter, data: Record<string, unknown>, type?: string) => {
  expect(validateFilter(filter)).toEqual([]);
  return matchFilter(filter, event(data, type)).matches;
};

describe("each operator, as EventBridge documents it", () => {
  it("exact values match by type and value; any listed value is enough", () => {
    expect(matches({ data: { state: ["paid", "shipped"] } }, { state: "shipped" })).toBe(true);
    expect(matches({ data: { state: ["paid"] } }, { state: "Paid" })).toBe(false);
    expect(matches({ data: { n: [5] } }, { n: 5 })).toBe(true);
    expect(matches({ data: { n: [5] } }, { n: "5" })).toBe(false);
    expect(matches({ data: { flag: [true] } }, { flag: true })).toBe(true);
    expect(matches({ data: { gone: [null] } }, { gone: null })).toBe(true);
    expect(matches({ data: { gone: [null] } }, {})).toBe(false);
    expect(matches({ type: ["order.paid"], source: ["shop"] }, {})).toBe(true);
    expect(matches({ type: ["order.refunded"] }, {})).toBe(false);
  });

  it("prefix and suffix, optionally ignoring case", () => {
    expect(matches({ data: { region: [{ prefix: "eu-" }] } }, { region: "eu-west-1" })).toBe(true);
    expect(matches({ data: { region: [{ prefix: "eu-" }] } }, { region: "EU-west-1" })).toBe(false);
    expect(
      matches({ data: { region: [{ prefix: { "equals-ignore-case": "eu-" } }] } }, { region: "EU-west-1" }),
    ).toBe(true);
    expect(matches({ data: { file: [{ suffix: ".png" }] } }, { file: "a.png" })).toBe(true);
    expect(
      matches({ data: { file: [{ suffix: { "equals-ignore-case": ".png" } }] } }, { file: "A.PNG" }),
    ).toBe(true);
    expect(matches({ data: { file: [{ suffix: ".png" }] } }, { file: 5 })).toBe(false);
  });

  it("equals-ignore-case", () => {
    expect(matches({ data: { s: [{ "equals-ignore-case": "PAID" }] } }, { s: "paid" })).toBe(true);
    expect(matches({ data: { s: [{ "equals-ignore-case": "PAID" }] } }, { s: "paidx" })).toBe(false);
  });

  it("anything-but: values, lists, prefix, suffix, ignore-case, wildcard; never a missing field", () => {
    expect(matches({ data: { s: [{ "anything-but": "test" }] } }, { s: "live" })).toBe(true);
    expect(matches({ data: { s: [{ "anything-but": "test" }] } }, { s: "test" })).toBe(false);
    expect(matches({ data: { s: [{ "anything-but": "test" }] } }, {})).toBe(false);
    expect(matches({ data: { n: [{ "anything-but": [1, 2] }] } }, { n: 3 })).toBe(true);
    expect(matches({ data: { n: [{ "anything-but": [1, 2] }] } }, { n: 2 })).toBe(false);
    expect(matches({ data: { r: [{ "anything-but": { prefix: "us-" } }] } }, { r: "eu-1" })).toBe(true);
    expect(matches({ data: { r: [{ "anything-but": { prefix: "us-" } }] } }, { r: "us-1" })).toBe(false);
    expect(matches({ data: { f: [{ "anything-but": { suffix: ".tmp" } }] } }, { f: "a.tmp" })).toBe(false);
    expect(
      matches({ data: { s: [{ "anything-but": { "equals-ignore-case": ["A", "b"] } }] } }, { s: "B" }),
    ).toBe(false);
    expect(matches({ data: { p: [{ "anything-but": { wildcard: "*/lib/*" } }] } }, { p: "src/lib/x" })).toBe(
      false,
    );
    expect(matches({ data: { p: [{ "anything-but": { wildcard: "*/lib/*" } }] } }, { p: "src/app/x" })).toBe(
      true,
    );
  });

  it("numeric ranges and equality, on numbers only", () => {
    const range = { data: { amount: [{ numeric: [">", 100, "<=", 500] }] } };
    expect(matches(range, { amount: 100 })).toBe(false);
    expect(matches(range, { amount: 100.5 })).toBe(true);
    expect(matches(range, { amount: 500 })).toBe(true);
    expect(matches(range, { amount: 500.000001 })).toBe(false);
    expect(matches(range, { amount: "200" })).toBe(false);
    expect(matches({ data: { n: [{ numeric: ["=", 3.5] }] } }, { n: 3.5 })).toBe(true);
    expect(matches({ data: { n: [{ numeric: [">=", 0] }] } }, { n: -0.000001 })).toBe(false);
    expect(matches({ data: { n: [{ numeric: ["<", 0] }] } }, { n: -1 })).toBe(true);
  });

  it("exists: true for a present leaf, false for a missing field (also under a missing object)", () => {
    expect(matches({ data: { c: [{ exists: true }] } }, { c: 0 })).toBe(true);
    expect(matches({ data: { c: [{ exists: true }] } }, {})).toBe(false);
    expect(matches({ data: { c: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ data: { c: [{ exists: false }] } }, { c: null })).toBe(false);
    expect(matches({ data: { a: { b: [{ exists: false }] } } }, {})).toBe(true);
    expect(matches({ data: { a: { b: [{ exists: true }] } } }, {})).toBe(false);
    // Leaves only, as in EventBridge: an object is not a value that "exists".
    expect(matches({ data: { a: [{ exists: true }] } }, { a: { b: 1 } })).toBe(false);
  });

  it("wildcards: * anywhere, escapes, and no backtracking blow-up on adversarial values", () => {
    expect(matches({ data: { k: [{ wildcard: "img/*.png" }] } }, { k: "img/a/b.png" })).toBe(true);
    expect(matches({ data: { k: [{ wildcard: "img/*.png" }] } }, { k: "img/a.jpg" })).toBe(false);
    expect(matches({ data: { k: [{ wildcard: "a*b*c" }] } }, { k: "abc" })).toBe(true);
    expect(matches({ data: { k: [{ wildcard: "a*b*c" }] } }, { k: "acb" })).toBe(false);
    expect(matches({ data: { k: [{ wildcard: "ab*ba" }] } }, { k: "aba" })).toBe(false);
    expect(matches({ data: { k: [{ wildcard: "lit\\*eral" }] } }, { k: "lit*eral" })).toBe(true);
    expect(matches({ data: { k: [{ wildcard: "lit\\*eral" }] } }, { k: "litXeral" })).toBe(false);
    // The shape that makes a backtracking matcher exponential: many stars, a long near-miss value.
    const pattern = "*a*a*a*a*a*a*a*b";
    const value = "a".repeat(200_000);
    expect(matches({ data: { k: [{ wildcard: pattern }] } }, { k: value })).toBe(false);
  });

  it("$or at any level: one alternative is enough; a failure names $or", () => {
    const filter = { data: { $or: [{ a: [1] }, { b: [{ prefix: "x" }] }] } };
    expect(matches(filter, { a: 1 })).toBe(true);
    expect(matches(filter, { b: "xyz" })).toBe(true);
    expect(matchFilter(filter, event({ a: 2, b: "y" }))).toEqual({
      matches: false,
      failedClause: { path: "data.$or", clause: filter.data.$or },
    });
    expect(matches({ $or: [{ type: ["a.b"] }, { source: ["shop"] }] }, {})).toBe(true);
  });

  it("arrays in the event: any element may match; an array of objects is searched element by element", () => {
    expect(matches({ data: { tags: ["vip"] } }, { tags: ["new", "vip"] })).toBe(true);
    expect(matches({ data: { tags: ["vip"] } }, { tags: ["new"] })).toBe(false);
    const items = { data: { items: { sku: ["A"], qty: [{ numeric: [">", 5] }] } } };
    expect(matches(items, { items: [{ sku: "A", qty: 10 }] })).toBe(true);
    // sku A and a large qty exist, but not in the same item.
    expect(
      matches(items, {
        items: [
          { sku: "A", qty: 1 },
          { sku: "B", qty: 10 },
        ],
      }),
    ).toBe(false);
  });

  it("a failure names the first failing clause by its path in the event", () => {
    const filter = {
      type: ["order.paid"],
      data: { customer: { tier: ["gold"] }, amount: [{ numeric: [">", 10] }] },
    };
    expect(matchFilter(filter, event({ customer: { tier: "silver" }, amount: 50 }))).toEqual({
      matches: false,
      failedClause: { path: "data.customer.tier", clause: ["gold"] },
    });
    expect(matchFilter(filter, event({ customer: { tier: "gold" }, amount: 5 }))).toEqual({
      matches: false,
      failedClause: { path: "data.amount", clause: [{ numeric: [">", 10] }] },
    });
    expect(matchFilter({ data: { "odd.key": ["x"] } }, event({ "odd.key": "y" }))).toEqual({
      matches: false,
      failedClause: { path: 'data["odd.key"]', clause: ["x"] },
    });
    expect(matchFilter(undefined, event({}))).toEqual({ matches: true });
  });
});

describe("validation names the path of each problem", () => {
  const fields = (filter: unknown) => validateFilter(filter).map((issue) => issue.field);

  it("operators, operands and shapes", () => {
    expect(fields({ data: { amount: [{ numeric: [">", "x"] }] } })).toEqual([
      "filter.data.amount[0].numeric[1]",
    ]);
    expect(fields({ data: { amount: [{ numeric: ["~", 1] }] } })).toEqual([
      "filter.data.amount[0].numeric[0]",
    ]);
    expect(fields({ data: { amount: [{ numeric: [">", 5, "<", 1] }] } })).toEqual([
      "filter.data.amount[0].numeric",
    ]);
    expect(fields({ data: { amount: [{ numeric: [">", 1, ">", 2] }] } })).toEqual([
      "filter.data.amount[0].numeric[2]",
    ]);
    expect(fields({ data: { s: [{ regex: "a+" }] } })).toEqual(["filter.data.s[0].regex"]);
    expect(fields({ data: { s: [{ $where: "1" }] } })).toEqual(["filter.data.s[0].$where"]);
    expect(fields({ data: { s: [{ cidr: "10.0.0.0/8" }] } })).toEqual(["filter.data.s[0].cidr"]);
    expect(fields({ data: { s: [{ prefix: "a", suffix: "b" }] } })).toEqual(["filter.data.s[0]"]);
    expect(fields({ data: { s: [] } })).toEqual(["filter.data.s"]);
    expect(fields({ data: { s: "paid" } })).toEqual(["filter.data.s"]);
    expect(fields({ data: { s: [[1]] } })).toEqual(["filter.data.s[0]"]);
    expect(fields({ tenantId: ["t"] })).toEqual(["filter.tenantId"]);
    expect(fields({ type: { nested: ["x"] } })).toEqual(["filter.type"]);
    expect(fields({ data: { $and: [] } })).toEqual(["filter.data.$and"]);
    expect(fields({ data: { $or: [{ a: [1] }] } })).toEqual(["filter.data.$or"]);
    expect(fields({ data: { w: [{ wildcard: "a**b" }] } })).toEqual(["filter.data.w[0].wildcard"]);
    expect(fields({ data: { w: [{ wildcard: "a\\b" }] } })).toEqual(["filter.data.w[0].wildcard"]);
    expect(fields({ data: { e: [{ exists: "yes" }] } })).toEqual(["filter.data.e[0].exists"]);
    expect(fields({ data: { n: [1e10] } })).toEqual(["filter.data.n[0]"]);
    expect(fields({ data: { n: [0.1234567] } })).toEqual(["filter.data.n[0]"]);
    expect(fields({ data: { ab: [{ "anything-but": ["a", 1] }] } })).toEqual([
      "filter.data.ab[0].anything-but",
    ]);
    expect(fields({})).toEqual(["filter"]);
    expect(fields([])).toEqual(["filter"]);
  });

  it("limits: size, depth, number of values, alternatives, wildcards, string length", () => {
    const manyValues = {
      data: { v: Array.from({ length: FILTER_LIMITS.maxValues + 1 }, (_, i) => `v${i}`) },
    };
    expect(validateFilter(manyValues)[0]?.message).toMatch(/at most 100/);
    const big = { data: { v: ["x".repeat(FILTER_LIMITS.maxBytes)] } };
    expect(validateFilter(big)[0]?.message).toMatch(/bytes/);
    let deep: Record<string, unknown> = { leaf: [1] };
    for (let level = 0; level < FILTER_LIMITS.maxDepth; level += 1) deep = { n: deep };
    expect(validateFilter({ data: deep })[0]?.message).toMatch(/nested at most/);
    const ors = {
      data: { $or: Array.from({ length: FILTER_LIMITS.maxOrBranches + 1 }, () => ({ a: [1] })) },
    };
    expect(fields(ors)).toEqual(["filter.data.$or"]);
    expect(fields({ data: { w: [{ wildcard: "*a".repeat(FILTER_LIMITS.maxWildcards + 1) }] } })).toEqual([
      "filter.data.w[0].wildcard",
    ]);
    expect(fields({ data: { s: ["x".repeat(FILTER_LIMITS.maxStringLength + 1)] } })).toEqual([
      "filter.data.s[0]",
    ]);
    // Just within every limit: accepted.
    let withinDepth: Record<string, unknown> = { leaf: [1] };
    for (let level = 0; level < FILTER_LIMITS.maxDepth - 2; level += 1) withinDepth = { n: withinDepth };
    expect(validateFilter({ data: withinDepth })).toEqual([]);
  });

  it("hostile inputs are refused without walking them: deep nesting, huge arrays, long strings", () => {
    let nested: unknown = [1];
    for (let level = 0; level < 20_000; level += 1) nested = { a: nested };
    expect(validateFilter({ data: nested })).toEqual([
      { field: "filter", message: `nested at most ${FILTER_LIMITS.maxDepth} levels deep` },
    ]);
    const huge = { data: { v: Array.from({ length: 200_000 }, () => 1) } };
    expect(validateFilter(huge)[0]?.field).toBe("filter");
    expect(validateFilter({ data: { v: ["a".repeat(1_000_000)] } })[0]?.field).toBe("filter");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties: filters built from a generated event, and one leaf changed.

type Leaf = string | number | boolean | null;
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
const text = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes("*") && !s.includes("\\"));
const leaf: fc.Arbitrary<Leaf> = fc.oneof(
  text,
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.boolean(),
  fc.constant(null),
);
/** Nested objects up to 5 levels, scalar leaves, no arrays (arrays are covered by the cases above). */
const data: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
  node: fc.dictionary(key, fc.oneof({ depthSize: "small", maxDepth: 4 }, leaf, tie("node")), {
    minKeys: 1,
    maxKeys: 4,
  }),
})).node;

function leavesOf(value: Record<string, unknown>, path: string[] = []): [string[], Leaf][] {
  return Object.entries(value).flatMap(([k, v]) =>
    v !== null && typeof v === "object"
      ? leavesOf(v as Record<string, unknown>, [...path, k])
      : [[[...path, k], v as Leaf]],
  );
}

type Kind =
  | "exact"
  | "prefix"
  | "suffix"
  | "ignore-case"
  | "wildcard"
  | "numeric"
  | "exists"
  | "anything-but";

/** A matcher `value` satisfies, of the requested kind when the value allows it (else exact). */
function matcherFor(value: Leaf, kind: Kind, cut: number): unknown {
  if (typeof value === "string") {
    const at = 1 + (cut % value.length);
    switch (kind) {
      case "prefix":
        return { prefix: value.slice(0, at) };
      case "suffix":
        return { suffix: value.slice(value.length - at) };
      case "ignore-case":
        return { "equals-ignore-case": value.toUpperCase() };
      case "wildcard":
        return { wildcard: `${value.slice(0, at - 1)}*${value.slice(at)}` };
      case "anything-but":
        return { "anything-but": `${value}~` };
      case "exists":
        return { exists: true };
      default:
        return value;
    }
  }
  if (typeof value === "number") {
    if (kind === "numeric") return { numeric: [">", value - 1 - (cut % 7), "<=", value + (cut % 5)] };
    if (kind === "anything-but") return { "anything-but": [value + 1, value - 1] };
    if (kind === "exists") return { exists: true };
  }
  return value;
}

/** Puts `matcher` at `path` in a filter over `data`. */
function place(filter: Record<string, unknown>, path: string[], matcher: unknown) {
  filter.data ??= {};
  let node = filter.data as Record<string, unknown>;
  for (const part of path.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = [matcher];
}

/** A copy of `data` with the leaf at `path` replaced (`undefined`: removed). */
function setAt(data: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(data);
  let node = copy;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  if (value === undefined) delete node[path.at(-1) as string];
  else node[path.at(-1) as string] = value;
  return copy;
}

/** A value the matcher cannot match (for exists: true, the field's absence, written as `undefined`). */
function breaking(matcher: unknown, value: Leaf): unknown {
  if (matcher !== null && typeof matcher === "object") {
    const operator = Object.keys(matcher)[0];
    if (operator === "exists") return undefined;
    // The very value it excludes.
    if (operator === "anything-but") return typeof value === "string" ? `${value}~` : (value as number) + 1;
    if (operator === "numeric") return (value as number) + 1000;
    // prefix, suffix, equals-ignore-case, wildcard: no string matcher matches a number.
    return 12345;
  }
  if (typeof value === "string") return `${value}~`;
  if (typeof value === "number") return value + 1;
  return typeof value === "boolean" ? !value : "not-null";
}

const kinds: Kind[] = [
  "exact",
  "prefix",
  "suffix",
  "ignore-case",
  "wildcard",
  "numeric",
  "exists",
  "anything-but",
];

describe("properties", () => {
  const scenario = fc
    .record({
      data,
      picks: fc.array(fc.record({ index: fc.nat(), kind: fc.constantFrom(...kinds), cut: fc.nat(1000) }), {
        minLength: 1,
        maxLength: 6,
      }),
      changed: fc.nat(),
    })
    .map(({ data: generated, picks, changed }) => {
      const leaves = leavesOf(generated);
      const chosen = new Map<string, { path: string[]; value: Leaf; matcher: unknown }>();
      for (const pick of picks) {
        const [path, value] = leaves[pick.index % leaves.length] as [string[], Leaf];
        chosen.set(path.join("\u0000"), { path, value, matcher: matcherFor(value, pick.kind, pick.cut) });
      }
      const filter: Record<string, unknown> = {};
      for (const { path, matcher } of chosen.values()) place(filter, path, matcher);
      const entries = [...chosen.values()];
      return {
        data: generated,
        filter,
        entries,
        changed: entries[changed % entries.length] as (typeof entries)[0],
      };
    });

  it("a filter built to match a generated event is valid and matches it", () => {
    fc.assert(
      fc.property(scenario, ({ data: generated, filter }) => {
        expect(validateFilter(filter)).toEqual([]);
        expect(matchFilter(filter, event(generated))).toEqual({ matches: true });
      }),
      { numRuns: 300 },
    );
  });

  it("one changed leaf makes it fail, and the failed clause is that leaf's", () => {
    fc.assert(
      fc.property(scenario, ({ data: generated, filter, changed }) => {
        const mutated = setAt(generated, changed.path, breaking(changed.matcher, changed.value));
        const result = matchFilter(filter, event(mutated));
        expect(result.matches).toBe(false);
        if (!result.matches) expect(result.failedClause.path).toBe(["data", ...changed.path].join("."));
      }),
      { numRuns: 300 },
    );
  });

  it("the type and source are matched like any field", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}(\.[a-z]{1,8}){0,3}$/), text, (type, source) => {
        const filter = { type: [{ prefix: type.split(".")[0] as string }], source: [source] };
        expect(matchFilter(filter, { type, source, data: {} }).matches).toBe(true);
        expect(matchFilter(filter, { type, source: `${source}~`, data: {} })).toEqual({
          matches: false,
          failedClause: { path: "source", clause: [source] },
        });
      }),
    );
  });
});
