/**
 * The event-type catalogue: which event types the platform emits, what each carries (a JSON Schema of `data`, an
 * example), which are deprecated, and which are archived (no new subscriptions; existing ones keep working). It
 * is global — the SaaS running the stack defines its event types once, for every tenant — so operators write it
 * and tenants only read it. Use cases over injected ports, for every front door (operator API, portal API).
 */
import * as z from "zod/mini";
import { type FieldIssue, NotFoundError, UnprocessableError, ValidationError } from "../shared/errors.ts";
import { nestsWithin } from "../shared/model.ts";
import { TtlCache } from "../shared/ttl-cache.ts";
import "../shared/zod.ts";
import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH, patternMatches } from "./event-types.ts";
import type { SchemaEngine } from "./schema-engine.ts";

export const CATALOGUE_LIMITS = {
  /** Catalogued types, archived ones included: the OpenAPI export of all of them stays within a Lambda response. */
  maxTypes: 200,
  maxSchemaBytes: 16 * 1024,
  maxExampleBytes: 4 * 1024,
  maxSchemaDepth: 32,
  maxDescriptionLength: 1024,
} as const;

/** Not a type name: `GET /event-types/openapi.json` is the catalogue's OpenAPI document. */
export const RESERVED_TYPE_NAMES = new Set(["openapi.json"]);

/**
 * How long a warm publish container trusts what it read of a type (validation on or off, the schema): a PUT or a
 * DELETE applies to every publish at most this long after it answered.
 */
export const CATALOGUE_CACHE_SECONDS = 30;

export interface EventTypeDefinition {
  readonly name: string;
  readonly description: string;
  /** JSON Schema (2020-12) of the event's `data`. */
  readonly schema?: Record<string, unknown> | undefined;
  /** An example `data`, valid against the schema. */
  readonly example?: Record<string, unknown> | undefined;
  readonly deprecated: boolean;
  /** Refuse publishes whose `data` does not match the schema (off unless asked for). */
  readonly validate: boolean;
  /** Set when archived: no new subscriptions, existing ones keep working. */
  readonly archivedAt?: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

export interface EventTypePage {
  readonly items: EventTypeDefinition[];
  readonly cursor?: Record<string, unknown> | undefined;
}

export interface EventTypeStore {
  /** Strongly consistent. */
  get(name: string): Promise<EventTypeDefinition | undefined>;
  /** Creates it unless it exists (409) or the catalogue is full (409 naming the limit). */
  create(definition: EventTypeDefinition): Promise<void>;
  /** Replaces `previous` unless it changed meanwhile (409). */
  replace(previous: EventTypeDefinition, next: EventTypeDefinition): Promise<void>;
  list(limit: number, cursor?: Record<string, unknown>): Promise<EventTypePage>;
  /** Whether a non-archived type is named `name` exactly (strongly consistent). */
  isLive(name: string): Promise<boolean>;
  /** Whether a non-archived type's name starts with `prefix` (`""`: any), strongly consistent. */
  anyLiveWithPrefix(prefix: string): Promise<boolean>;
  /** These types, where they exist. */
  getMany(names: readonly string[]): Promise<Map<string, EventTypeDefinition>>;
}

export interface CatalogueDeps {
  readonly store: EventTypeStore;
  readonly schemas: () => Promise<SchemaEngine>;
  readonly now: () => Date;
}

const jsonObject = (maxBytes: number, what: string) =>
  z.pipe(
    z.custom<unknown>((value) => nestsWithin(value, CATALOGUE_LIMITS.maxSchemaDepth), {
      message: `nested at most ${CATALOGUE_LIMITS.maxSchemaDepth} levels deep`,
    }),
    z
      .record(z.string(), z.json())
      .check(
        z.refine(
          (value) => Buffer.byteLength(JSON.stringify(value)) <= maxBytes,
          `${what} is at most ${maxBytes} bytes as JSON`,
        ),
      ),
  );

export const putEventTypeSchema = z
  .strictObject({
    description: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(
          CATALOGUE_LIMITS.maxDescriptionLength,
          `at most ${CATALOGUE_LIMITS.maxDescriptionLength} characters`,
        ),
      ),
    schema: z.optional(jsonObject(CATALOGUE_LIMITS.maxSchemaBytes, "a schema")),
    example: z.optional(jsonObject(CATALOGUE_LIMITS.maxExampleBytes, "an example")),
    deprecated: z.optional(z.boolean()),
    validate: z.optional(z.boolean()),
  })
  .check(
    z.refine((input) => !input.validate || input.schema !== undefined, {
      message: "validation needs a schema",
      path: ["validate"],
    }),
  );
export type PutEventTypeInput = z.infer<typeof putEventTypeSchema>;

export const eventTypeListQuery = z.strictObject({
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,3}$/, "an integer from 1 to 200")),
      z.pipe(z.transform(Number), z.number().check(z.minimum(1), z.maximum(200))),
    ),
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  archived: z.optional(z.enum(["true", "false"])),
});

/** A path's type name; anything that could not be one is simply not found. */
export function requireTypeName(name: string): string {
  if (name.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE_PATTERN.test(name) || RESERVED_TYPE_NAMES.has(name))
    throw new NotFoundError(`event type ${name.slice(0, 64)}`);
  return name;
}

/** What the API shows of a type. */
export function eventTypeResource(definition: EventTypeDefinition) {
  return {
    name: definition.name,
    description: definition.description,
    schema: definition.schema ?? null,
    example: definition.example ?? null,
    deprecated: definition.deprecated,
    validate: definition.validate,
    archived: definition.archivedAt !== undefined,
    archivedAt: definition.archivedAt ?? null,
    createdAt: definition.createdAt,
    updatedAt: definition.updatedAt,
    version: definition.version,
  };
}

/**
 * Creates or replaces a type (and un-archives it). The schema must compile (400 naming its path) and the example
 * must match it (400 naming the example's field). Answers whether it was created.
 */
export async function putEventType(
  rawName: string,
  input: PutEventTypeInput,
  deps: CatalogueDeps,
): Promise<{ eventType: EventTypeDefinition; created: boolean }> {
  if (RESERVED_TYPE_NAMES.has(rawName))
    throw new ValidationError([{ field: "name", message: `${rawName} is reserved` }]);
  const name = requireTypeName(rawName);
  if (input.schema !== undefined) {
    const engine = await deps.schemas();
    const issues = engine.schemaIssues(input.schema);
    if (issues.length > 0) throw new ValidationError(issues);
    if (input.example !== undefined) {
      const exampleIssues = engine.dataIssues(
        `example:${JSON.stringify(input.schema)}`,
        input.schema,
        input.example,
        "example",
      );
      if (exampleIssues.length > 0) throw new ValidationError(exampleIssues);
    }
  }
  const at = deps.now().toISOString();
  const current = await deps.store.get(name);
  const next: EventTypeDefinition = {
    name,
    description: input.description,
    ...(input.schema ? { schema: input.schema } : {}),
    ...(input.example ? { example: input.example } : {}),
    deprecated: input.deprecated ?? false,
    validate: input.validate ?? false,
    createdAt: current?.createdAt ?? at,
    updatedAt: at,
    version: (current?.version ?? 0) + 1,
  };
  if (current) await deps.store.replace(current, next);
  else await deps.store.create(next);
  return { eventType: next, created: current === undefined };
}

export async function getEventType(name: string, deps: Pick<CatalogueDeps, "store">) {
  const found = await deps.store.get(requireTypeName(name));
  if (!found) throw new NotFoundError(`event type ${name}`);
  return found;
}

/** Archives a type: no new subscriptions; existing ones, publishing and validation carry on. Idempotent. */
export async function archiveEventType(name: string, deps: CatalogueDeps): Promise<EventTypeDefinition> {
  const current = await getEventType(name, deps);
  if (current.archivedAt) return current;
  const at = deps.now().toISOString();
  const next = { ...current, archivedAt: at, updatedAt: at, version: current.version + 1 };
  await deps.store.replace(current, next);
  return next;
}

/** A page of the catalogue by name; archived types only when asked for. */
export async function listEventTypes(
  limit: number,
  cursor: Record<string, unknown> | undefined,
  includeArchived: boolean,
  deps: Pick<CatalogueDeps, "store">,
): Promise<EventTypePage> {
  const page = await deps.store.list(limit, cursor);
  return {
    items: page.items.filter((item) => includeArchived || item.archivedAt === undefined),
    cursor: page.cursor,
  };
}

/** Every catalogued (non-archived) type, for the OpenAPI export. */
export async function liveEventTypes(deps: Pick<CatalogueDeps, "store">): Promise<EventTypeDefinition[]> {
  const all: EventTypeDefinition[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await deps.store.list(100, cursor);
    all.push(...page.items.filter((item) => item.archivedAt === undefined));
    cursor = page.cursor;
  } while (cursor);
  return all;
}

// ---------------------------------------------------------------------------------------------------------------
// Subscribing: strict mode and deprecation notices

export interface SubscriptionCatalogue {
  /** The stack's `strictEventTypes`: enforce the catalogue even while it is empty. */
  readonly strict: boolean;
  readonly store: Pick<EventTypeStore, "isLive" | "anyLiveWithPrefix" | "getMany">;
}

const livePatternCheck = (pattern: string, store: SubscriptionCatalogue["store"]) =>
  pattern === "*"
    ? store.anyLiveWithPrefix("")
    : pattern.endsWith(".*")
      ? store.anyLiveWithPrefix(pattern.slice(0, -1))
      : store.isLive(pattern);

/**
 * In strict mode (the stack says so, or any type is catalogued), each of `patterns` must match a catalogued,
 * non-archived type: a 422 names every one that does not (`eventTypes[2]`). `field` names the list in the body.
 */
export async function requireCataloguedPatterns(
  patterns: readonly string[],
  catalogue: SubscriptionCatalogue | undefined,
  field = "eventTypes",
  indexOf: (pattern: string) => number = (pattern) => patterns.indexOf(pattern),
): Promise<void> {
  if (!catalogue || patterns.length === 0) return;
  const strict = catalogue.strict || (await catalogue.store.anyLiveWithPrefix(""));
  if (!strict) return;
  const live = await Promise.all(patterns.map((pattern) => livePatternCheck(pattern, catalogue.store)));
  const issues: FieldIssue[] = patterns.flatMap((pattern, index) =>
    live[index]
      ? []
      : [
          {
            field: `${field}[${indexOf(pattern)}]`,
            message: `no catalogued event type matches ${pattern} (GET /event-types lists them)`,
          },
        ],
  );
  if (issues.length > 0) throw new UnprocessableError(issues);
}

/** Of these subscription patterns, the exact types the catalogue marks deprecated or archived. */
export async function deprecatedTypesIn(
  patterns: readonly string[],
  catalogue: SubscriptionCatalogue | undefined,
): Promise<Map<string, "deprecated" | "archived">> {
  const exact = [...new Set(patterns.filter((pattern) => !pattern.endsWith("*")))];
  if (!catalogue || exact.length === 0) return new Map();
  const found = await catalogue.store.getMany(exact);
  const flagged = new Map<string, "deprecated" | "archived">();
  for (const [name, definition] of found) {
    if (definition.archivedAt) flagged.set(name, "archived");
    else if (definition.deprecated) flagged.set(name, "deprecated");
  }
  return flagged;
}

/** The deprecation notices of one webhook's patterns, from the flags of all the webhooks in a response. */
export function eventTypeNotices(
  patterns: readonly string[],
  flagged: Map<string, "deprecated" | "archived">,
) {
  return patterns.flatMap((pattern) => {
    const status = flagged.get(pattern);
    return status ? [{ eventType: pattern, status }] : [];
  });
}

/** Whether any catalogued, non-archived type matches the pattern (for portal pickers). */
export const typesMatching = (pattern: string, types: readonly EventTypeDefinition[]) =>
  types.filter((type) => type.archivedAt === undefined && patternMatches(pattern, type.name));

// ---------------------------------------------------------------------------------------------------------------
// Publish-time validation

/** What publish reads of a type: only whether and how it validates. */
export interface PublishCatalogue {
  validationOf(
    type: string,
  ): Promise<Pick<EventTypeDefinition, "schema" | "validate" | "version"> | undefined>;
}

export interface DataValidator {
  /** Throws a 400 naming `data.<field>` when the type validates its data and `data` does not match. */
  check(type: string, data: unknown): Promise<void>;
}

/**
 * Validates `data` of types whose definition says `validate: true`. What a type says is cached per container for
 * `CATALOGUE_CACHE_SECONDS` (absent types too), and the schema engine is loaded only once a validating type is
 * published: a stack that validates nothing never loads ajv.
 */
export function catalogueValidator(
  catalogue: PublishCatalogue,
  schemas: () => Promise<SchemaEngine>,
  now: () => number = Date.now,
): DataValidator {
  const cache = new TtlCache<Awaited<ReturnType<PublishCatalogue["validationOf"]>>>({
    ttlMs: CATALOGUE_CACHE_SECONDS * 1000,
    maxEntries: 1000,
    now,
  });
  return {
    async check(type, data) {
      const definition = await cache.getOrLoad(type, () => catalogue.validationOf(type));
      if (!definition?.validate || !definition.schema) return;
      const engine = await schemas();
      const issues = engine.dataIssues(`${type}@${definition.version}`, definition.schema, data);
      if (issues.length > 0) throw new ValidationError(issues);
    },
  };
}
