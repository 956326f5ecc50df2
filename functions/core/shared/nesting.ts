/** Whether no object or array lies deeper than `limit` levels in `value`; iterative, so any depth is safe. */
export function nestsWithin(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== "object" || current === null) continue;
    if (depth > limit) return false;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * The path of the first own `__proto__` key in `value` (JSON.parse makes one; any copy by assignment drops it, so it
 * could be neither stored nor delivered as sent), or undefined. Iterative, like `nestsWithin`.
 */
export function protoKeyPath(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, ""]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, path] = next;
    if (typeof current !== "object" || current === null) continue;
    for (const [key, child] of Object.entries(current)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (key === "__proto__") return at;
      pending.push([child, at]);
    }
  }
  return undefined;
}
