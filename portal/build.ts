/**
 * Builds the portal page: esbuild bundles `page/main.tsx` (Preact, minified, no CDN, no inline script) next to
 * `index.html` and `styles.css`. Local mode serves the files from memory; the CDK stack writes them to a folder
 * for the bucket deployment. Offline: everything comes from node_modules.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const PAGE = new URL("page/", import.meta.url).pathname;

export interface PortalFile {
  readonly contentType: string;
  readonly body: Buffer;
}

export function buildPortalPage(): ReadonlyMap<string, PortalFile> {
  // Loaded only when building: an installed package ships the page prebuilt (dist/portal-page), not esbuild.
  const { buildSync } = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  const bundle = buildSync({
    entryPoints: [join(PAGE, "main.tsx")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0];
  if (!script) throw new Error("the portal bundle is empty");
  return new Map<string, PortalFile>([
    ["index.html", { contentType: "text/html; charset=utf-8", body: readFileSync(join(PAGE, "index.html")) }],
    ["styles.css", { contentType: "text/css; charset=utf-8", body: readFileSync(join(PAGE, "styles.css")) }],
    ["app.js", { contentType: "text/javascript; charset=utf-8", body: Buffer.from(script.contents) }],
  ]);
}

/** Writes the built page to `dir` (created if needed); answers `dir`. */
export function writePortalPage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of buildPortalPage()) writeFileSync(join(dir, name), file.body);
  return dir;
}
