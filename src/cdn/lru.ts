/**
 * A bounded least-recently-used map. `get` refreshes an entry; `set` evicts the least recently
 * used entry once `maxEntries` is exceeded. Not thread-aware (single event loop).
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  /** The most recently used key: a hit on it needs no reordering (the common case of one hot entry). */
  private newest: K | undefined;

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  /** The value for `key`, marking it most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    if (key === this.newest) return value;
    // Map keeps insertion order: re-inserting moves the key to the most recent end.
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    return value;
  }

  /** Stores `value` as most recently used, evicting the oldest entry when over capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as K);
  }

  /** Removes `key` if present. */
  delete(key: K): void {
    this.map.delete(key);
    if (key === this.newest) this.newest = undefined;
  }

  /** Number of entries held. */
  get size(): number {
    return this.map.size;
  }
}
