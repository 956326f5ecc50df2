/**
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) through ajv: checking an operator's schema, and validating
 * event data against it. Part of the catalogue tools, loaded only where needed (`lazy-modules.ts`): ajv is a
 * third of a bundle's budget.
 * Schemas are compiled with ajv's strict schema checks (unknown keywords and formats are refused), never fetch a
 * remote `$ref`, and each compiled validator is kept per container, by type and version.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FieldIssue } from "../shared/errors.ts";

const ajv = new Ajv2020.default({
  strictSchema: true,
  strictNumbers: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allErrors: false,
  // A schema's $id must not make the next schema with the same $id fail: nothing is registered on compile.
  addUsedSchema: false,
  logger: false,
});
addFormats.default(ajv);

/**
 * A regular expression that can backtrack without bound: a quantified group that itself holds a quantifier or an
 * alternation ((a+)+, (a|aa)*), or a backreference. Heuristic, but it refuses the classic catastrophic shapes.
 */
const RISKY_PATTERN = /\([^)]*(?:[+*}]|\|)[^)]*\)\s*[+*{]|\\[1-9]/;

/** `/properties/amount/type` → `properties.amount.type` */
const pointerToPath = (pointer: string) =>
  pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");

const join = (prefix: string, path: string) => (path === "" ? prefix : `${prefix}.${path}`);

/** The regular expressions a schema holds (`pattern` values, `patternProperties` names), by path. */
function patternsIn(schema: unknown, path: string): [string, string][] {
  const found: [string, string][] = [];
  const pending: [unknown, string][] = [[schema, path]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, at] = next;
    if (typeof node !== "object" || node === null) continue;
    for (const [key, value] of Object.entries(node)) {
      const here = join(at, key);
      if (key === "pattern" && typeof value === "string") found.push([here, value]);
      if (key === "patternProperties" && typeof value === "object" && value !== null)
        for (const name of Object.keys(value)) found.push([join(here, name), name]);
      pending.push([value, here]);
    }
  }
  return found;
}

/** Why `schema` cannot be used, each issue naming its path under `prefix` (empty when it compiles). */
export function schemaIssues(schema: unknown, prefix = "schema"): FieldIssue[] {
  if (!ajv.validateSchema(schema as object)) {
    const firstPerField = new Map<string, string>();
    for (const error of ajv.errors ?? []) {
      const field = join(prefix, pointerToPath(error.instancePath));
      if (!firstPerField.has(field)) firstPerField.set(field, error.message ?? "not valid JSON Schema");
    }
    return [...firstPerField].slice(0, 10).map(([field, message]) => ({ field, message }));
  }
  const risky = patternsIn(schema, prefix).filter(([, pattern]) => RISKY_PATTERN.test(pattern));
  if (risky.length > 0)
    return risky.map(([field]) => ({
      field,
      message: "a pattern that could backtrack without bound (a quantified group holding a quantifier)",
    }));
  try {
    ajv.compile(schema as object);
    return [];
  } catch (error) {
    return [{ field: prefix, message: (error as Error).message.slice(0, 500) }];
  }
}

const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 200;

function issuesOf(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldIssue[] {
  return (errors ?? []).slice(0, 10).map((error) => ({
    field: join(prefix, pointerToPath(error.instancePath)),
    message: error.message ?? "does not match the schema",
  }));
}

/**
 * Whether `data` matches `schema`, compiled once per `key` (a type's name and version) in this container; the
 * issues name the failing fields under `prefix`.
 */
export function dataIssues(key: string, schema: object, data: unknown, prefix = "data"): FieldIssue[] {
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, validate);
  }
  return validate(data) ? [] : issuesOf(validate.errors, prefix);
}
