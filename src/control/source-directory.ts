import type { Source, SourceLookup } from '../core/index.ts';
import type { SourceRepo } from '../store/index.ts';

/**
 * In-memory index of every source by write key, loaded once at start and updated by the control
 * plane on each change. Implements {@link SourceLookup} for the request hot path (no I/O).
 */
export class SourceDirectory implements SourceLookup {
  private readonly byKey = new Map<string, Source>();

  /** Loads every source from the store. */
  async load(repo: SourceRepo): Promise<void> {
    for (const s of await repo.listAll()) this.byKey.set(s.writeKey, s);
  }

  /** Adds or replaces a source. */
  put(source: Source): void {
    this.byKey.set(source.writeKey, source);
  }

  byWriteKey(writeKey: string): Source | undefined {
    return this.byKey.get(writeKey);
  }
}
