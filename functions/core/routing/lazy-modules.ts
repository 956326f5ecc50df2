/**
 * Routing code that most requests never need, loaded on first use instead of at cold start: the filter engine
 * (validating and matching payload filters) and the catalogue tools (ajv, a third of a bundle's budget, the
 * operators' use cases and the OpenAPI export). A deployed function ships each as a file beside its handler
 * (`filter.mjs`, `catalogue-tools.mjs`, built by the house function construct from `LAZY_MODULES`); run from source, the module
 * itself is imported.
 */
import { lazyModule } from "../shared/lazy-module.ts";

export type FilterEngine = typeof import("./filter.ts");
export type CatalogueTools = typeof import("./catalogue-tools.ts");

/** Source of each lazily loaded module, relative to the project root; bundled as `<name>.mjs`. */
export const LAZY_MODULES = ["functions/core/routing/filter.ts", "functions/core/routing/catalogue-tools.ts"];

export const loadFilterEngine = lazyModule<FilterEngine>("filter", new URL("./filter.ts", import.meta.url));
export const loadCatalogueTools = lazyModule<CatalogueTools>(
  "catalogue-tools",
  new URL("./catalogue-tools.ts", import.meta.url),
);
