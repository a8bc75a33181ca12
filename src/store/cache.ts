import { LRUCache } from 'lru-cache';

/** What changed: every process-wide cache drops what it keeps of it. */
export type Invalidation = { tokenId: string } | { userId: string } | { namespaceId: string };

export interface Invalidated {
  apply(invalidation: Invalidation): void;
}

/**
 * Where the process-wide caches of database rows (verified tokens, namespaces, membership
 * roles) hear of changes. A change made here is dropped here at once and published to the
 * other replicas (InvalidationBus); one made there arrives through `apply`.
 *
 * `generation` counts the changes heard: a cache keeps a row it read only if no change came
 * in while the read was in flight, or a read that raced a change would keep the old row.
 */
export class Invalidations {
  private readonly caches: Invalidated[] = [];
  generation = 0;
  /** Set by the invalidation bus: tells the other replicas. */
  onPublish?: (invalidation: Invalidation) => void;

  listen(cache: Invalidated): void {
    this.caches.push(cache);
  }

  /** A change this replica made (after its transaction committed). */
  publish(invalidation: Invalidation): void {
    this.apply(invalidation);
    this.onPublish?.(invalidation);
  }

  /** Drops matching entries here only (what another replica asked for, too). */
  apply(invalidation: Invalidation): void {
    this.generation++;
    for (const cache of this.caches) cache.apply(invalidation);
  }
}

/**
 * Rows that change rarely, kept across requests for `ttlSeconds` at most (the backstop for a
 * change no invalidation announces: a replica without Redis, a hand edit) and dropped at once
 * when an invalidation matches them. Each caller gets its own copy (Pothos brands the objects
 * it resolves, and nothing may change a kept row in place).
 */
export class RowCache<V extends object> implements Invalidated {
  private readonly entries: LRUCache<string, V> | null;

  constructor(
    private readonly invalidations: Invalidations,
    options: { ttlSeconds: number; max: number; dropsOn: (invalidation: Invalidation, value: V) => boolean },
  ) {
    this.dropsOn = options.dropsOn;
    this.entries = options.ttlSeconds > 0 ? new LRUCache({ max: options.max, ttl: options.ttlSeconds * 1000 }) : null;
    invalidations.listen(this);
  }

  private readonly dropsOn: (invalidation: Invalidation, value: V) => boolean;

  /**
   * The values of `keys`: kept ones as they are, the others read by `load` in one call (which
   * answers null for a key it did not find: that is not kept).
   */
  async getMany(keys: readonly string[], load: (missing: string[]) => Promise<(V | null)[]>): Promise<(V | null)[]> {
    if (!this.entries) return load([...keys]);
    const entries = this.entries;
    const found = keys.map((key) => entries.get(key));
    const missing = keys.filter((_, i) => found[i] === undefined);
    if (missing.length === 0) return found.map((value) => ({ ...value! }));
    const generation = this.invalidations.generation;
    const values = await load(missing);
    const loaded = new Map(missing.map((key, i) => [key, values[i] ?? null]));
    if (generation === this.invalidations.generation) {
      for (const [key, value] of loaded) if (value) entries.set(key, { ...value });
    }
    return keys.map((key, i) => (found[i] ? { ...found[i] } : (loaded.get(key) ?? null)));
  }

  apply(invalidation: Invalidation): void {
    if (!this.entries) return;
    for (const [key, value] of this.entries.entries()) if (this.dropsOn(invalidation, value)) this.entries.delete(key);
  }
}
