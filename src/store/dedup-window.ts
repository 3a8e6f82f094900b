import { randomBytes } from 'node:crypto';

/**
 * The (source, messageId) keys of the most recent events, for deduplication without a unique
 * index: random messageIds make every insert into such an index touch a random page, which costs
 * more than storing the event itself. Keys are kept as 64-bit hashes (two 32-bit FNV-1a variants
 * with per-process random seeds) in two generations of open-addressing tables: new keys go to the
 * current one, and once it holds `perGeneration` keys it becomes the previous one and the table
 * before it is cleared. So every key among at least the last `perGeneration` added is found, and
 * memory stays at most ~32 bytes × `perGeneration` (tables grow from small as keys arrive).
 *
 * Exactness: a key older than the window is no longer found (its event may then be stored again);
 * two different keys are taken for one only when their 64-bit hashes collide (about one in 10^12
 * lookups at full size).
 */
export class DedupWindow {
  private current: HashTable;
  private previous: HashTable;
  private readonly seeds: Uint32Array;

  constructor(readonly perGeneration: number) {
    if (!Number.isSafeInteger(perGeneration) || perGeneration < 1) throw new RangeError(`dedup window must be a positive integer, got ${perGeneration}`);
    this.current = new HashTable();
    this.previous = new HashTable();
    this.seeds = new Uint32Array(randomBytes(8).buffer);
  }

  /** The hash of a key: `out[0]` high and `out[1]` low 32 bits (never both zero). */
  hash(sourceId: string, messageId: string, out: Uint32Array): void {
    this.hashFrom(this.sourceState(sourceId), messageId, out);
  }

  /**
   * The hash state after `sourceId` and the separator, for {@link hashFrom}: a writer hashing
   * many events of one source computes it once.
   */
  sourceState(sourceId: string): Uint32Array {
    let a = this.seeds[0]! ^ 0x811c9dc5;
    let b = this.seeds[1]! ^ 0x01000193;
    for (let i = 0; i < sourceId.length; i++) {
      const c = sourceId.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    // Separator: no character has this code.
    a = Math.imul(a ^ 0x10000, 0x01000193);
    b = Math.imul(b ^ 0x10000, 0x5bd1e995);
    b ^= b >>> 15;
    return Uint32Array.of(a, b);
  }

  /** The hash of (the source of `state`, `messageId`), as {@link hash} gives it. */
  hashFrom(state: Uint32Array, messageId: string, out: Uint32Array): void {
    let a = state[0]! | 0;
    let b = state[1]! | 0;
    for (let i = 0; i < messageId.length; i++) {
      const c = messageId.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a ^= a >>> 16;
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    out[0] = a >>> 0;
    out[1] = b >>> 0;
    if (out[0] === 0 && out[1] === 0) out[1] = 1;
  }

  /** Whether the key hashed as (`hi`, `lo`) is in the window. */
  has(hi: number, lo: number): boolean {
    return this.current.has(hi, lo) || this.previous.has(hi, lo);
  }

  /** Adds a hashed key (a key already in the window is added again: harmless). */
  add(hi: number, lo: number): void {
    if (this.current.size >= this.perGeneration) {
      const cleared = this.previous;
      cleared.clear();
      this.previous = this.current;
      this.current = cleared;
    }
    this.current.add(hi, lo);
  }

  /** Keys in the window (a key added twice counts twice). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** Linear-probing set of 64-bit hashes stored as (hi, lo) pairs; (0, 0) marks an empty slot. */
class HashTable {
  private slots = new Uint32Array(2 * 1024);
  size = 0;

  has(hi: number, lo: number): boolean {
    const s = this.slots;
    const mask = (s.length >>> 1) - 1;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const h = s[2 * i]!;
      const l = s[2 * i + 1]!;
      if (h === 0 && l === 0) return false;
      if (h === hi && l === lo) return true;
    }
  }

  add(hi: number, lo: number): void {
    if (2 * (this.size + 1) > this.slots.length >>> 1) this.grow();
    this.put(hi, lo);
    this.size += 1;
  }

  clear(): void {
    this.slots = new Uint32Array(2 * 1024);
    this.size = 0;
  }

  private put(hi: number, lo: number): void {
    const s = this.slots;
    const mask = (s.length >>> 1) - 1;
    let i = lo & mask;
    while (s[2 * i] !== 0 || s[2 * i + 1] !== 0) i = (i + 1) & mask;
    s[2 * i] = hi;
    s[2 * i + 1] = lo;
  }

  /** Doubles the slots (load stays at most one half). */
  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.put(old[i]!, old[i + 1]!);
    }
  }
}
