import type { Source, SourceLookup } from '../core/index.ts';
import type { SourceRepo } from '../store/index.ts';

/**
 * In-memory index of every source by write key, loaded once at start and updated by the control
 * plane on each change. Implements {@link SourceLookup} (and lookup by id) for the request hot path (no I/O).
 */
export class SourceDirectory implements SourceLookup {
  private readonly byKey = new Map<string, Source>();
  private readonly byIdMap = new Map<string, Source>();

  /** Loads every source from the store. */
  async load(repo: SourceRepo): Promise<void> {
    for (const s of await repo.listAll()) this.put(s);
  }

  /** Adds or replaces a source. */
  put(source: Source): void {
    this.byKey.set(source.writeKey, source);
    this.byIdMap.set(source.id, source);
  }

  /** The source with this id (for the CDN's alias paths), or undefined. */
  byId(id: string): Source | undefined {
    return this.byIdMap.get(id);
  }

  byWriteKey(writeKey: string): Source | undefined {
    return this.byKey.get(writeKey);
  }
}
