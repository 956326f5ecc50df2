/**
 * The event-type catalogue: which event types the platform emits, what each carries (a JSON Schema of `data`, an
 * example), which are deprecated, and which are archived (no new subscriptions; existing ones keep working). It
 * is global — the SaaS running the stack defines its event types once, for every tenant — so operators write it
 * and tenants only read it. This module holds what subscribing and publishing need on every request (strict
 * mode, deprecation notices, validation at publish); the operators' use cases are in `catalogue-admin.ts`, loaded
 * on first use (`loadCatalogueTools`).
 */
import { type FieldIssue, UnprocessableError, ValidationError } from "../shared/errors.ts";
import { TtlCache } from "../shared/ttl-cache.ts";
import type { CatalogueTools } from "./lazy-modules.ts";

export const CATALOGUE_LIMITS = {
  /** Catalogued types, archived ones included: the OpenAPI export of all of them stays within a Lambda response. */
  maxTypes: 200,
  maxSchemaBytes: 16 * 1024,
  maxExampleBytes: 4 * 1024,
  maxSchemaDepth: 32,
  maxDescriptionLength: 1024,
} as const;

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
  schemas: () => Promise<CatalogueTools>,
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
