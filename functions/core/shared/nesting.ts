/**
 * What keeps `value` from being data an event can carry, in one iterative pass (any depth is safe): an object or
 * array deeper than `limit` levels, or else an own `__proto__` key (see `protoKeyPath`); undefined when neither.
 */
export function shapeProblem(value: unknown, limit: number): "too_deep" | "proto_key" | undefined {
  let protoKey = false;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== "object" || current === null) continue;
    if (depth > limit) return "too_deep";
    if (Object.hasOwn(current, "__proto__")) protoKey = true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return protoKey ? "proto_key" : undefined;
}

/** Whether no object or array lies deeper than `limit` levels in `value`. */
export const nestsWithin = (value: unknown, limit: number): boolean =>
  shapeProblem(value, limit) !== "too_deep";

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
