import type { Database, Statement } from 'better-sqlite3';
import { payloadTexts, type EventGroup } from '../core/index.ts';
import { groupHeader, type SegmentAppender } from './event-segments.ts';

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
const ON_CONFLICT = ' ON CONFLICT (source_id, message_id) DO NOTHING';
const INLINE_COLUMNS = 'source_id, message_id, type, status, reason, received_at, payload';
const INLINE_WIDTH = 7;
const INDEX_COLUMNS = `${INLINE_COLUMNS}, log_segment, log_offset, log_length`;
const INDEX_WIDTH = 10;

/**
 * Inserts rows of `width` values (`rows[from, to)`), up to {@link CHUNK_ROWS} per statement step
 * (a statement per row count, prepared when first needed); returns how many were new.
 */
function chunkedInsert(db: Database, columns: string, width: number): (rows: Rows, from: number, to: number) => number {
  const row = `(${Array<string>(width).fill('?').join(', ')})`;
  const head = `INSERT INTO events (${columns}) VALUES `;
  const statements = new Map<number, Statement>();
  const statement = (n: number): Statement => {
    let st = statements.get(n);
    if (st === undefined) {
      st = db.prepare(head + Array<string>(n).fill(row).join(', ') + ON_CONFLICT);
      statements.set(n, st);
    }
    return st;
  };
  return (rows, from, to) => {
    // The whole array as one statement binds its values without a copy.
    if (from === 0 && to === rows.length && to <= CHUNK_ROWS * width) return statement(to / width).run(rows).changes;
    let stored = 0;
    for (let i = from; i < to; i += CHUNK_ROWS * width) {
      const end = Math.min(to, i + CHUNK_ROWS * width);
      stored += statement((end - i) / width).run(rows.slice(i, end)).changes;
    }
    return stored;
  };
}

/** Writes a group of appends; returns how many of each append's events were new, in order. */
export type EventWriter = (group: EventGroup) => number[];

/**
 * Commits index rows of one group already in segment `segment`: its payload lines start at
 * `payloadStart` one after the other, and the group ends at `end`, which becomes the segment's
 * `indexed_to`. Returns how many of each append's events (`sizes`) were new.
 */
export type GroupIndexer = (events: GroupEvents, sizes: readonly number[], segment: number, payloadStart: number, end: number) => number[];

/**
 * The rows-and-savepoint commit shared by both forms: one transaction; when the group holds a
 * duplicate its insert is rolled back to a savepoint and redone append by append, so each
 * append's count is its own. `after` runs last inside the transaction.
 */
function groupCommit(db: Database, columns: string, width: number): (rows: Rows, sizes: readonly number[], after?: () => void) => number[] {
  const insert = chunkedInsert(db, columns, width);
  const mark = db.prepare('SAVEPOINT group_rows');
  const undo = db.prepare('ROLLBACK TO group_rows');
  const release = db.prepare('RELEASE group_rows');
  return db.transaction((rows: Rows, sizes: readonly number[], after?: () => void): number[] => {
    mark.run();
    let stored: number[];
    if (insert(rows, 0, rows.length) === rows.length / width) {
      release.run();
      stored = [...sizes];
    } else {
      undo.run();
      release.run();
      let at = 0;
      stored = sizes.map((n) => {
        const from = at;
        at += n * width;
        return insert(rows, from, at);
      });
    }
    after?.();
    return stored;
  });
}

/**
 * Prepares the {@link GroupIndexer} on `db`: the group's index rows (payload column empty, log
 * position set) and the segment's new `indexed_to`, in one transaction. Dedup is
 * `ON CONFLICT (source_id, message_id) DO NOTHING`, so indexing a group twice (recovery after a
 * crash that lost its commit) stores nothing twice.
 */
export function createGroupIndexer(db: Database): GroupIndexer {
  const commit = groupCommit(db, INDEX_COLUMNS, INDEX_WIDTH);
  const progress = db.prepare('INSERT INTO event_segments (segment, indexed_to) VALUES (?, ?) ON CONFLICT (segment) DO UPDATE SET indexed_to = max(indexed_to, excluded.indexed_to)');
  return (events, sizes, segment, payloadStart, end) =>
    commit(indexRows(events, segment, payloadStart), sizes, () => { progress.run(segment, end); });
}

/**
 * Prepares the group-commit writer on `db`. With `segments`, the whole group (its header line
 * and payload lines) is first appended to the segment log and synced, then its index rows commit
 * ({@link createGroupIndexer}); without, payloads are stored in the rows. The rows of a group
 * commit in ONE transaction, inserted together; a duplicate's logged payload is left
 * unreferenced. Throws (nothing committed) when the log or the transaction fails.
 */
export function createEventWriter(db: Database, segments?: SegmentAppender): EventWriter {
  if (segments === undefined) {
    const commit = groupCommit(db, INLINE_COLUMNS, INLINE_WIDTH);
    return (group) => commit(inlineRows(group), group.sizes);
  }
  const index = createGroupIndexer(db);
  return (group) => {
    const header = groupHeader(group.events);
    let total = header.byteLength;
    for (const c of group.chunks) total += c.byteLength;
    const at = segments.append([header, ...group.chunks]);
    return index(group.events, group.sizes, at.segment, at.offset + header.byteLength, at.offset + total);
  };
}

function inlineRows(group: EventGroup): Rows {
  const e = group.events;
  const texts = payloadTexts({ ...e, payloads: Buffer.concat(group.chunks) });
  const out: Rows = new Array(e.count * INLINE_WIDTH);
  let j = 0;
  for (let i = 0; i < e.count; i++) {
    j = common(out, j, e, i);
    out[j++] = texts[i]!;
  }
  return out;
}

/** Index rows of `e`, whose payload lines start at `offset` of `segment`, one after the other. */
function indexRows(e: GroupEvents, segment: number, offset: number): Rows {
  const out: Rows = new Array(e.count * INDEX_WIDTH);
  let j = 0;
  let at = offset;
  for (let i = 0; i < e.count; i++) {
    const length = e.payloadLengths[i]!;
    j = common(out, j, e, i);
    out[j++] = '';
    out[j++] = segment;
    out[j++] = at;
    out[j++] = length;
    at += length + 1;
  }
  return out;
}

/** Writes event `i`'s first six columns at `j`; returns the next index. */
function common(out: Rows, j: number, e: GroupEvents, i: number): number {
  const reason = e.reasons[i]!;
  out[j++] = e.sourceIds[i]!;
  out[j++] = e.messageIds[i]!;
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
