// Which Node versions run this project. Node runs `.ts` files without a flag (type stripping on by default) from
// 22.18.0 on the 22 line and from 23.6.0 on the 23 line; 24 and later always do. Older releases fail with
// ERR_UNKNOWN_FILE_EXTENSION. Plain JavaScript, so that any Node can load it (`require-node.mjs` does).

/** The first release of each major line that strips types by default; majors above the last entry all do. */
export const MINIMUM_VERSIONS = Object.freeze([
  [22, 18, 0],
  [23, 6, 0],
]);

export const MINIMUM_DESCRIPTION = "Node.js 22.18 or newer (23.6 or newer on the 23 line; 24 recommended)";

/** `v22.18.0`, `22.18.0` or `22.18.0-nightly…` → [22, 18, 0]; anything else → undefined. */
export function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version).trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Whether this Node version runs the project's `.ts` files directly. */
export function supportsTypeStripping(version) {
  const parsed = parseVersion(version);
  if (!parsed) return false;
  const [major, minor, patch] = parsed;
  const lastMajor = MINIMUM_VERSIONS[MINIMUM_VERSIONS.length - 1][0];
  if (major > lastMajor) return true;
  const minimum = MINIMUM_VERSIONS.find(([candidate]) => candidate === major);
  if (!minimum) return false;
  if (minor !== minimum[1]) return minor > minimum[1];
  return patch >= minimum[2];
}
