/**
 * Loads the JSON Schema engine (ajv, `json-schemas.ts`) on first use, off the cold start of every function and
 * request that does not validate. A deployed function ships it as a second file beside its handler
 * (`json-schemas.mjs`, built by the house function construct); run from source, the module itself is imported.
 */
export type SchemaEngine = typeof import("./json-schemas.ts");

/** The file name the house function construct gives the engine's bundle, next to `index.mjs`. */
export const SCHEMA_ENGINE_BUNDLE = "json-schemas.mjs";

let loading: Promise<SchemaEngine> | undefined;

export function loadSchemaEngine(): Promise<SchemaEngine> {
  // A computed specifier: the bundler leaves it alone instead of inlining ajv into the handler's bundle.
  const bundled = import.meta.url.endsWith(".mjs");
  const specifier = bundled ? `./${SCHEMA_ENGINE_BUNDLE}` : "./json-schemas.ts";
  loading ??= (import(specifier) as Promise<SchemaEngine>).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
