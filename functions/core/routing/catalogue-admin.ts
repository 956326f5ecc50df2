/**
 * The catalogue's use cases (put, read, list, archive) and request schemas, for every front door (the operators'
 * API; the portal reads through `listEventTypes` and `getEventType`). Loaded on first use with the schema tools
 * (`loadCatalogueTools`): no function pays for them at cold start.
 */
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { EventTypeDefinition, EventTypePage, EventTypeStore } from "./catalogue.ts";

export { eventTypeListQuery, putEventTypeSchema } from "./catalogue-schemas.ts";

import type { PutEventTypeInput } from "./catalogue-schemas.ts";
import { EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from "./event-types.ts";
import { dataIssues, schemaIssues } from "./schema-tools.ts";

/** Not a type name: `GET /event-types/openapi.json` is the catalogue's OpenAPI document. */
export const RESERVED_TYPE_NAMES = new Set(["openapi.json"]);

export interface CatalogueDeps {
  readonly store: EventTypeStore;
  readonly now: () => Date;
}

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
    const issues = schemaIssues(input.schema);
    if (issues.length > 0) throw new ValidationError(issues);
    if (input.example !== undefined) {
      const exampleIssues = dataIssues(
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
