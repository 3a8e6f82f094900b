import type { Database, Statement } from 'better-sqlite3';
import { payloadTexts, type EventGroup } from '../core/index.ts';
import { DedupWindow } from './dedup-window.ts';
import type { SegmentAppender } from './event-segments.ts';
import { groupHeader } from './group-header.ts';

type GroupEvents = EventGroup['events'];

/** What one append stored: new rows, and events whose (source, messageId) was already stored. */
export interface AppendCounts {
  stored: number;
  duplicates: number;
}

/** Row values: one array, `width` values per event, in the column order of the INSERT. */
type Rows = Array<string | number | null>;

/**
 * Rows per multi-row INSERT (at most 10 variables each, far under SQLite's 32766): one statement
 * step per chunk instead of per event.
 */
const CHUNK_ROWS = 100;
const INLINE_COLUMNS = 'source_id, message_id, type, status, reason, received_at, payload';
const INLINE_WIDTH = 7;
/**
 * Index rows: the payload column is empty (the payload is in the log), written as a literal, not
 * bound; the segment is the group's, bound once per statement by name. Rows of a chunk that share
 * their source, type and reason (a batch's usually do) bind those once too ({@link SHARED_ROW}),
 * so a row binds its message id, receipt time and payload position only.
 */
const INDEX_HEAD = 'INSERT INTO events (source_id, message_id, type, status, reason, received_at, log_segment, log_offset, log_length, payload) VALUES ';
const SHARED_ROW = "($source, ?, $type, $status, $reason, ?, $segment, ?, ?, '')";
const SHARED_WIDTH = 4;
const OWN_ROW = "(?, ?, ?, ?, ?, ?, $segment, ?, ?, '')";
const OWN_WIDTH = 8;

/** Keys the deduplication window holds by default: at least this many of the latest events. */
export const DEDUP_WINDOW_EVENTS = 2_000_000;

/**
 * Inserts all rows of `width` values, up to {@link CHUNK_ROWS} per statement step (a statement
 * per row count, prepared when first needed); returns the last row's `seq` (0 when none).
 */
function chunkedInsert(db: Database, columns: string, width: number): (rows: Rows) => number {
  const row = `(${Array<string>(width).fill('?').join(', ')})`;
  const head = `INSERT INTO events (${columns}) VALUES `;
  const statements = new Map<number, Statement>();
  const statement = (n: number): Statement => {
    let st = statements.get(n);
    if (st === undefined) {
      st = db.prepare(head + Array<string>(n).fill(row).join(', '));
      statements.set(n, st);
    }
    return st;
  };
  return (rows) => {
    let last = 0;
    // The whole array as one statement binds its values without a copy.
    if (rows.length > 0 && rows.length <= CHUNK_ROWS * width) return Number(statement(rows.length / width).run(rows).lastInsertRowid);
    for (let i = 0; i < rows.length; i += CHUNK_ROWS * width) {
      const end = Math.min(rows.length, i + CHUNK_ROWS * width);
      last = Number(statement((end - i) / width).run(rows.slice(i, end)).lastInsertRowid);
    }
    return last;
  };
}

/** Writes a group of appends; returns how many of each append's events were new, in order. */
export interface EventWriter {
  (group: EventGroup): number[];
  /** Loads the deduplication window now (else the first write does). */
  warm(): void;
}

/**
 * An {@link EventWriter} over the segment log that can hold its write transaction open across
 * groups ({@link hold}, {@link release}): each group is still synced to the log before it returns
 * (the log is the durable record) and is atomic on its own (a savepoint), while the rows of all of
 * them commit together, and other connections wait for the write lock until then, so none admits
 * an event before the held rows are visible to it.
 */
export interface HoldingEventWriter extends EventWriter {
  /** Starts holding a write transaction (`BEGIN IMMEDIATE`) unless one is held. Throws when the lock cannot be had. */
  hold(): void;
  /**
   * Commits the held transaction, if any. Should the commit fail (or the transaction have been
   * lost to an error), the held groups' rows are written again in a transaction of their own;
   * throws when that fails too: they then go in with the next group that commits (or, should
   * the process stop first, from the log at the next start).
   */
  release(): void;
  /** When the held transaction began (ms since the epoch), or undefined when none is held. */
  readonly heldSince: number | undefined;
}

/**
 * Commits index rows of one group already in segment `segment`: its payload lines start at
 * `payloadStart` one after the other, and the group ends at `end`, which becomes the segment's
 * `indexed_to`. Returns how many of each append's events (`sizes`) were new.
 */
export interface GroupIndexer {
  (events: GroupEvents, sizes: readonly number[], segment: number, payloadStart: number, end: number): number[];
  /** Loads the deduplication window now (else the first commit does). */
  warm(): void;
  /** Forgets the deduplication window: the next commit loads it again from the committed rows. */
  reset(): void;
}

/**
 * Deduplication of one connection's appends: a {@link DedupWindow} filled at the first commit
 * from the latest rows, and kept current with the rows other connections (another process during
 * a restart) add, read at the start of each write transaction, which holds the write lock.
 */
class Dedup {
  private window: DedupWindow | undefined;
  private lastSeq = 0;
  private readonly tail: Statement;
  private readonly hash = new Uint32Array(2);

  constructor(private readonly db: Database, private readonly perGeneration: number) {
    this.tail = db.prepare('SELECT seq, source_id AS s, message_id AS m FROM events WHERE seq > ? ORDER BY seq');
  }

  /**
   * Inside a write transaction: which of `e`'s events are new (not in the window, not earlier in
   * the group), as their indexes, and how many per append. Nothing is added to the window yet:
   * {@link keep} does so once the transaction committed.
   */
  admit(e: GroupEvents, sizes: readonly number[]): { fresh: number[]; hashes: Uint32Array; stored: number[] } {
    const window = this.catchUp();
    const hashes = new Uint32Array(2 * e.count);
    const fresh: number[] = [];
    const stored: number[] = [];
    const seen = e.count > 1 ? new Set<number>() : undefined;
    let source: string | undefined;
    let state: Uint32Array = new Uint32Array(2);
    let i = 0;
    for (const n of sizes) {
      let kept = 0;
      for (const end = i + n; i < end; i++) {
        if (e.sourceIds[i] !== source) {
          source = e.sourceIds[i]!;
          state = window.sourceState(wellFormed(source));
        }
        window.hashFrom(state, wellFormed(e.messageIds[i]!), this.hash);
        const hi = this.hash[0]!;
        const lo = this.hash[1]!;
        hashes[2 * i] = hi;
        hashes[2 * i + 1] = lo;
        if (window.has(hi, lo)) continue;
        // Within the group: 2^32 * hi + lo is exact for the 53 bits a double holds; hashes equal
        // there and differing above are a collision as unlikely as any other.
        const key = (hi >>> 11) * 4294967296 + lo;
        if (seen !== undefined) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        fresh.push(i);
        kept += 1;
      }
      stored.push(kept);
    }
    return { fresh, hashes, stored };
  }

  /** After the commit: the stored events' keys join the window, and `lastSeq` moves past their rows. */
  keep(fresh: readonly number[], hashes: Uint32Array, lastSeq: number): void {
    const window = this.window!;
    for (const i of fresh) window.add(hashes[2 * i]!, hashes[2 * i + 1]!);
    if (lastSeq > this.lastSeq) this.lastSeq = lastSeq;
  }

  /** Loads the window unless loaded already. */
  warm(): void {
    if (this.window === undefined) this.load();
  }

  /** Forgets the window (rows it counted were rolled back): the next use loads it again. */
  reset(): void {
    this.window = undefined;
    this.lastSeq = 0;
  }

  /** The window, loaded on first use and brought up to date with rows added by others. */
  private catchUp(): DedupWindow {
    if (this.window === undefined) return this.load();
    for (const r of this.tail.iterate(this.lastSeq) as Iterable<{ seq: number; s: string; m: string }>) {
      this.window.hash(r.s, r.m, this.hash);
      this.window.add(this.hash[0]!, this.hash[1]!);
      this.lastSeq = r.seq;
    }
    return this.window;
  }

  /** A window of the latest `perGeneration` rows (at most), oldest first. */
  private load(): DedupWindow {
    const window = new DedupWindow(this.perGeneration);
    const max = (this.db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
    const from = (this.db.prepare('SELECT seq FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck().get(max, this.perGeneration - 1) as number | undefined) ?? 0;
    const rows = this.db.prepare('SELECT source_id AS s, message_id AS m FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq');
    for (const r of rows.iterate(from, max) as Iterable<{ s: string; m: string }>) {
      window.hash(r.s, r.m, this.hash);
      window.add(this.hash[0]!, this.hash[1]!);
    }
    this.window = window;
    this.lastSeq = max;
    return window;
  }
}

/**
 * The commit shared by both forms: in one write transaction (`BEGIN IMMEDIATE`), the new events
 * of the group (see {@link Dedup}) get their rows, `rowsOf` building them for the kept indexes,
 * then `after` runs; the kept keys join the window once the transaction committed. Returns how
 * many of each append's events were new.
 */
function groupCommit(db: Database, dedupWindow: number) {
  const dedup = new Dedup(db, dedupWindow);
  const run = db.transaction((events: GroupEvents, sizes: readonly number[], insert: (fresh: readonly number[]) => number, after?: () => void) => {
    const admitted = dedup.admit(events, sizes);
    const last = admitted.fresh.length > 0 ? insert(admitted.fresh) : 0;
    after?.();
    return { admitted, last };
  });
  /** `insert` adds the rows of the new events (their indexes) and returns the last row's `seq`. */
  const commit = (events: GroupEvents, sizes: readonly number[], insert: (fresh: readonly number[]) => number, after?: () => void): number[] => {
    // Loaded before the write lock is taken: other writers wait only for the catch-up.
    dedup.warm();
    const { admitted, last } = run.immediate(events, sizes, insert, after);
    dedup.keep(admitted.fresh, admitted.hashes, last);
    return admitted.stored;
  };
  return Object.assign(commit, { warm: () => dedup.warm(), reset: () => dedup.reset() });
}

/**
 * Prepares the {@link GroupIndexer} on `db`: the group's new events get index rows (payload
 * column empty, log position set), and the segment its new `indexed_to`, in one transaction.
 * Events already stored are found in a {@link DedupWindow} of the latest `dedupWindow` (at least)
 * events, so indexing a group twice (recovery after a crash that lost its commit) stores nothing
 * twice.
 */
export function createGroupIndexer(db: Database, dedupWindow = DEDUP_WINDOW_EVENTS): GroupIndexer {
  const commit = groupCommit(db, dedupWindow);
  const insert = indexInsert(db);
  const progress = db.prepare('INSERT INTO event_segments (segment, indexed_to) VALUES (?, ?) ON CONFLICT (segment) DO UPDATE SET indexed_to = max(indexed_to, excluded.indexed_to)');
  const index = (events: GroupEvents, sizes: readonly number[], segment: number, payloadStart: number, end: number) =>
    commit(events, sizes, (fresh) => insert(events, fresh, segment, payloadStart), () => { progress.run(segment, end); });
  return Object.assign(index, { warm: commit.warm, reset: commit.reset });
}

/**
 * Prepares the group-commit writer on `db`. With `segments`, the whole group (its header line
 * and payload lines) is first appended to the segment log and synced, then its index rows commit
 * ({@link createGroupIndexer}); without, payloads are stored in the rows. The rows of a group
 * commit in ONE transaction, inserted together; a duplicate's logged payload is left
 * unreferenced. Throws (nothing committed) when the log or the transaction fails.
 */
export function createEventWriter(db: Database, segments?: SegmentAppender, dedupWindow = DEDUP_WINDOW_EVENTS): EventWriter {
  if (segments === undefined) {
    const commit = groupCommit(db, dedupWindow);
    const insert = chunkedInsert(db, INLINE_COLUMNS, INLINE_WIDTH);
    return Object.assign((group: EventGroup) => commit(group.events, group.sizes, (fresh) => insert(inlineRows(group, fresh))), { warm: commit.warm });
  }
  return createHoldingWriter(db, segments, dedupWindow);
}

/** A group in the segment log, as its index rows need it. */
interface LoggedGroup {
  readonly events: GroupEvents;
  readonly sizes: readonly number[];
  readonly segment: number;
  readonly payloadStart: number;
  readonly end: number;
}

/** Prepares the {@link HoldingEventWriter} of `db` over `segments`. */
export function createHoldingWriter(db: Database, segments: SegmentAppender, dedupWindow = DEDUP_WINDOW_EVENTS): HoldingEventWriter {
  const index = createGroupIndexer(db, dedupWindow);
  /** The groups indexed in the held transaction, while one is held. */
  let held: LoggedGroup[] | undefined;
  let heldSince: number | undefined;
  /**
   * Acknowledged groups whose rows could not be committed (a full disk): they go in first, in
   * order, with the next group that commits, so the segment's indexed position never passes them
   * (should the process stop first, the next start indexes them from the log).
   */
  let owed: LoggedGroup[] = [];
  const indexOne = (g: LoggedGroup) => index(g.events, g.sizes, g.segment, g.payloadStart, g.end);
  /** Indexes `groups` in order (in a savepoint when a transaction is held, else in a transaction of their own); returns the last one's counts. */
  const indexAll = db.transaction((groups: readonly LoggedGroup[]): number[] => {
    let stored: number[] = [];
    for (const g of groups) stored = indexOne(g);
    return stored;
  });
  /** Nothing held any more: what it held is rolled back and owed. */
  const drop = (groups: LoggedGroup[]): void => {
    held = undefined;
    heldSince = undefined;
    if (db.inTransaction) db.exec('ROLLBACK');
    owed = [...owed, ...groups];
    // The window counted the rolled-back rows: load it again from what is committed.
    index.reset();
  };
  /** Writes the owed groups' rows in a transaction of their own; throws when that fails too (they stay owed). */
  const settle = (): void => {
    if (owed.length === 0 || held !== undefined) return;
    const groups = owed;
    try {
      indexAll.immediate(groups);
      owed = [];
    } catch (err) {
      index.reset();
      throw err;
    }
  };
  const write = (group: EventGroup): number[] => {
    const header = groupHeader(group.events);
    let total = header.byteLength;
    for (const c of group.chunks) total += c.byteLength;
    const at = segments.append([header, ...group.chunks]);
    const g: LoggedGroup = { events: group.events, sizes: group.sizes, segment: at.segment, payloadStart: at.offset + header.byteLength, end: at.offset + total };
    const groups = owed.length > 0 ? [...owed, g] : [g];
    try {
      // Inside a held transaction this runs in a savepoint: a failure undoes these groups only.
      const stored = held !== undefined ? indexAll(groups) : indexAll.immediate(groups);
      owed = [];
      held?.push(...groups);
      return stored;
    } catch (err) {
      // Some errors (a full disk, I/O) roll back the whole held transaction: its groups are owed.
      if (held !== undefined && !db.inTransaction) drop(held);
      // Rows the failure undid may have been counted by the window already.
      else index.reset();
      throw err;
    }
  };
  const hold = (): void => {
    if (held !== undefined) return;
    // Loaded before the lock is taken: other writers wait only for the commit.
    index.warm();
    db.exec('BEGIN IMMEDIATE');
    held = [];
    heldSince = Date.now();
  };
  const release = (): void => {
    if (held !== undefined) {
      const groups = held;
      try {
        db.exec('COMMIT');
        held = undefined;
        heldSince = undefined;
      } catch {
        drop(groups);
      }
    }
    settle();
  };
  const writer = Object.assign(write, { warm: index.warm, hold, release });
  return Object.defineProperty(writer, 'heldSince', { get: () => heldSince }) as HoldingEventWriter;
}

function inlineRows(group: EventGroup, fresh: readonly number[]): Rows {
  const e = group.events;
  const texts = payloadTexts({ ...e, payloads: Buffer.concat(group.chunks) });
  const out: Rows = new Array(fresh.length * INLINE_WIDTH);
  let j = 0;
  for (const i of fresh) {
    j = common(out, j, e, i);
    out[j++] = texts[i]!;
  }
  return out;
}

/**
 * Prepares the insert of index rows: `insert(e, fresh, segment, offset)` adds rows for the events
 * `fresh` of `e`, whose payload lines start at `offset` of `segment` one after the other, up to
 * {@link CHUNK_ROWS} per statement step; returns the last row's `seq`.
 */
function indexInsert(db: Database): (e: GroupEvents, fresh: readonly number[], segment: number, offset: number) => number {
  const statements = new Map<number, Statement>();
  /** The statement for `n` rows; negative `n`: rows with their own source, type and reason. */
  const statement = (n: number): Statement => {
    let st = statements.get(n);
    if (st === undefined) {
      st = db.prepare(INDEX_HEAD + Array<string>(Math.abs(n)).fill(n > 0 ? SHARED_ROW : OWN_ROW).join(', '));
      statements.set(n, st);
    }
    return st;
  };
  return (e, fresh, segment, offset) => {
    const starts = new Array<number>(e.count);
    let at = offset;
    for (let i = 0; i < e.count; i++) {
      starts[i] = at;
      at += e.payloadLengths[i]! + 1;
    }
    let last = 0;
    for (let from = 0; from < fresh.length; from += CHUNK_ROWS) {
      const to = Math.min(fresh.length, from + CHUNK_ROWS);
      const first = fresh[from]!;
      const source = e.sourceIds[first]!;
      const type = e.types[first]!;
      const reason = e.reasons[first]!;
      let shared = true;
      for (let k = from + 1; k < to && shared; k++) {
        const i = fresh[k]!;
        shared = e.sourceIds[i] === source && e.types[i] === type && e.reasons[i] === reason;
      }
      const width = shared ? SHARED_WIDTH : OWN_WIDTH;
      const values: Rows = new Array((to - from) * width);
      let j = 0;
      for (let k = from; k < to; k++) {
        const i = fresh[k]!;
        if (shared) {
          values[j++] = wellFormed(e.messageIds[i]!);
          values[j++] = e.receivedAts[i]!;
        } else {
          j = common(values, j, e, i);
        }
        values[j++] = starts[i]!;
        values[j++] = e.payloadLengths[i]!;
      }
      const named = shared
        ? { source: wellFormed(source), type, status: reason === null ? 'accepted' : 'rejected', reason, segment }
        : { segment };
      last = Number(statement(shared ? to - from : from - to).run(values, named).lastInsertRowid);
    }
    return last;
  };
}

type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * `s` with lone surrogates replaced by U+FFFD. Keys are stored and hashed in this form: SQLite
 * text is UTF-8, so a key read back must be the key that was hashed.
 */
export function wellFormed(s: string): string {
  const w = s as WellFormedString;
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** Writes event `i`'s first six columns at `j`; returns the next index. */
function common(out: Rows, j: number, e: GroupEvents, i: number): number {
  const reason = e.reasons[i]!;
  out[j++] = wellFormed(e.sourceIds[i]!);
  out[j++] = wellFormed(e.messageIds[i]!);
  out[j++] = e.types[i]!;
  out[j++] = reason === null ? 'accepted' : 'rejected';
  out[j++] = reason;
  out[j++] = e.receivedAts[i]!;
  return j;
}

/**
 * The pragmas of the connection that appends events: WAL, checkpointed every ~4000 pages and
 * truncated back to 64 MiB at most afterwards. With `durable` (rows are the only record: in-thread
 * databases) `synchronous=FULL`, so a commit is on disk when it returns
 * (https://sqlite.org/pragma.html#pragma_synchronous); without (the segment log, synced before
 * each commit, is the record and rebuilds lost rows) `synchronous=NORMAL`: one fsync per group.
 */
export function applyWriterPragmas(db: Database, durable = true): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}
