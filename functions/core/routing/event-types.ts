/**
 * Event types and subscription patterns. A type is dot-separated segments (`order.completed`); a webhook
 * subscribes with exact types, `prefix.*` wildcards (any type below the prefix) or `*` (everything). Finding
 * the webhooks for a type is one lookup per pattern that could match it — never a scan.
 */
const SEGMENT = "[a-zA-Z0-9_-]+";
export const EVENT_TYPE_PATTERN = new RegExp(`^${SEGMENT}(\\.${SEGMENT})*$`);
export const SUBSCRIPTION_PATTERN = new RegExp(`^(\\*|${SEGMENT}(\\.${SEGMENT})*(\\.\\*)?)$`);
export const MAX_EVENT_TYPE_LENGTH = 256;
export const MAX_PATTERNS_PER_WEBHOOK = 50;

/** Every pattern that matches `type`: the type itself, each `prefix.*` above it, and `*`. */
export function patternsMatching(type: string): string[] {
  const segments = type.split(".");
  const wildcards = segments.slice(0, -1).map((_, index) => `${segments.slice(0, index + 1).join(".")}.*`);
  return [type, ...wildcards.reverse(), "*"];
}

export function patternMatches(pattern: string, type: string): boolean {
  return patternsMatching(type).includes(pattern);
}
