/**
 * A module loaded on first use instead of at cold start. A deployed function ships it as a file beside its handler
 * (`<name>.mjs`, built by the house function construct from `LAZY_MODULES_OF` in lib/constructs/lambda-bundling.ts);
 * run from source, the module itself is imported.
 */
export function lazyModule<T>(name: string, source: URL): () => Promise<T> {
  // Inside a bundle this file is part of the handler's `index.mjs`: the lazy file sits beside it.
  const bundled = import.meta.url.endsWith(".mjs");
  let loading: Promise<T> | undefined;
  return () => {
    // A computed specifier: the bundler leaves it alone instead of inlining the module into the handler.
    const specifier = bundled ? new URL(`./${name}.mjs`, import.meta.url).href : source.href;
    loading ??= (import(specifier) as Promise<T>).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
