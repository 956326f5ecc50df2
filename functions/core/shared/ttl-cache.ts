/**
 * A small per-container cache: entries expire after `ttlMs`, the oldest is evicted beyond `maxEntries`, and
 * concurrent loads of one key share a single in-flight promise (a failed load is not cached, nor a value
 * that `keepIf` refuses).
 */
export interface TtlCacheOptions<V> {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
  /** Keep a loaded value only if this holds (e.g. never cache "absent"); concurrent loads still share it. */
  readonly keepIf?: (value: V) => boolean;
}

interface Entry<V> {
  readonly value: Promise<V>;
  readonly expiresAt: number;
}

export class TtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #options: TtlCacheOptions<V>;
  readonly #now: () => number;

  constructor(options: TtlCacheOptions<V>) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    this.#entries.delete(key);
    const value = load();
    this.#entries.set(key, { value, expiresAt: now + this.#options.ttlMs });
    const forget = () => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    };
    const keepIf = this.#options.keepIf;
    value.then((loaded) => {
      if (keepIf && !keepIf(loaded)) forget();
    }, forget);
    if (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
