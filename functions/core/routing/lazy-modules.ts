/**
 * Routing code that most requests never need, loaded on first use instead of at cold start: the filter engine
 * (validating and matching payload filters) and the catalogue tools (ajv, a third of a bundle's budget, the
 * operators' use cases and the OpenAPI export). A deployed function ships each as a file beside its handler
 * (`filter.mjs`, `catalogue-tools.mjs`, built by the house function construct from `LAZY_MODULES`); run from source, the module
 * itself is imported.
 */
export type FilterEngine = typeof import("./filter.ts");
export type CatalogueTools = typeof import("./catalogue-tools.ts");

/** Source of each lazily loaded module, relative to the project root; bundled as `<name>.mjs`. */
export const LAZY_MODULES = ["functions/core/routing/filter.ts", "functions/core/routing/catalogue-tools.ts"];

const bundled = import.meta.url.endsWith(".mjs");

function lazy<T>(name: string): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    // A computed specifier: the bundler leaves it alone instead of inlining the module into the handler.
    const specifier = bundled ? `./${name}.mjs` : `./${name}.ts`;
    loading ??= (import(specifier) as Promise<T>).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

export const loadFilterEngine = lazy<FilterEngine>("filter");
export const loadCatalogueTools = lazy<CatalogueTools>("catalogue-tools");
