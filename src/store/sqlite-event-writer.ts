import type { Database, Statement } from 'better-sqlite3';
import { payloadOffsets, payloadTexts, type EncodedEvents } from '../core/index.ts';
import type { SegmentAppender } from './event-segments.ts';

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

/** Inserts rows of `width` values, a chunk per statement step; returns how many were new. */
function chunkedInsert(db: Database, columns: string, width: number): (rows: Rows) => number {
  const row = `(${Array<string>(width).fill('?').join(', ')})`;
  const head = `INSERT INTO events (${columns}) VALUES `;
  const one: Statement = db.prepare(head + row + ON_CONFLICT);
  const chunk: Statement = db.prepare(head + Array<string>(CHUNK_ROWS).fill(row).join(', ') + ON_CONFLICT);
  const chunkValues = CHUNK_ROWS * width;
  return (rows) => {
    // One row, or exactly one chunk, binds its values without a copy.
    if (rows.length === width) return one.run(rows).changes;
    if (rows.length === chunkValues) return chunk.run(rows).changes;
    let stored = 0;
    let i = 0;
    for (; i + chunkValues <= rows.length; i += chunkValues) stored += chunk.run(rows.slice(i, i + chunkValues)).changes;
    for (; i < rows.length; i += width) stored += one.run(rows.slice(i, i + width)).changes;
    return stored;
  };
}

/**
 * Prepares the group-commit writer on `db`: the returned function writes every append of
 * `group` and returns each append's counts, in order. With `segments`, the payload bytes of the
 * whole group are first appended to the segment log and synced, then the index rows (payload
 * column empty, log position set) commit; without, payloads are stored in the rows. The rows of
 * a group commit in ONE transaction (one fsync under `synchronous=FULL`). Dedup is `ON CONFLICT
 * (source_id, message_id) DO NOTHING` (a duplicate's logged payload is left unreferenced); a
 * chunk never spans two appends, so each append's `changes` are its own. Throws (nothing
 * committed) when the log or the transaction fails.
 */
export function createEventWriter(db: Database, segments?: SegmentAppender): (group: readonly EncodedEvents[]) => AppendCounts[] {
  if (segments === undefined) {
    const insert = chunkedInsert(db, INLINE_COLUMNS, INLINE_WIDTH);
    return db.transaction((group: readonly EncodedEvents[]) => group.map((e) => counts(insert(inlineRows(e)), e.count)));
  }
  const insert = chunkedInsert(db, INDEX_COLUMNS, INDEX_WIDTH);
  const commit = db.transaction((group: readonly Rows[]) => group.map((rows) => counts(insert(rows), rows.length / INDEX_WIDTH)));
  return (group) => {
    let at = segments.append(group.map((e) => e.payloads));
    return commit(group.map((e) => {
      const rows = indexRows(e, at.segment, at.offset);
      at = { segment: at.segment, offset: at.offset + e.payloads.byteLength };
      return rows;
    }));
  };
}

function inlineRows(e: EncodedEvents): Rows {
  const texts = payloadTexts(e);
  const out: Rows = new Array(e.count * INLINE_WIDTH);
  let j = 0;
  for (let i = 0; i < e.count; i++) {
    j = common(out, j, e, i);
    out[j++] = texts[i]!;
  }
  return out;
}

/** Index rows of `e`, whose payload bytes start at `offset` of `segment`. */
function indexRows(e: EncodedEvents, segment: number, offset: number): Rows {
  const offsets = payloadOffsets(e);
  const out: Rows = new Array(e.count * INDEX_WIDTH);
  let j = 0;
  for (let i = 0; i < e.count; i++) {
    j = common(out, j, e, i);
    out[j++] = '';
    out[j++] = segment;
    out[j++] = offset + offsets[i]!;
    out[j++] = e.payloadLengths[i]!;
  }
  return out;
}

/** Writes event `i`'s first six columns at `j`; returns the next index. */
function common(out: Rows, j: number, e: EncodedEvents, i: number): number {
  const reason = e.reasons[i]!;
  out[j++] = e.sourceIds[i]!;
  out[j++] = e.messageIds[i]!;
  out[j++] = e.types[i]!;
  out[j++] = reason === null ? 'accepted' : 'rejected';
  out[j++] = reason;
  out[j++] = e.receivedAts[i]!;
  return j;
}

function counts(stored: number, n: number): AppendCounts {
  return { stored, duplicates: n - stored };
}

/**
 * The pragmas every connection that appends events uses: WAL with `synchronous=FULL`, so a
 * commit is on disk when it returns (https://sqlite.org/pragma.html#pragma_synchronous); the
 * WAL is checkpointed every ~4000 pages and truncated back to 64 MiB at most afterwards.
 */
export function applyWriterPragmas(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}
