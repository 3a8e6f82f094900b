import type { Database, Statement } from 'better-sqlite3';
import type { StoredEvent } from '../core/index.ts';

/** Values per event in {@link EventRows}, in `events` column order. */
export const ROW_WIDTH = 7;

/**
 * One append's events as flat row values, {@link ROW_WIDTH} per event: `source_id, message_id,
 * type, status, reason, received_at, payload` (payload already JSON). Plain strings and numbers,
 * so it crosses a `postMessage` cheaply.
 */
export type EventRows = Array<string | number | null>;

/** What one append stored: new rows, and events whose (source, messageId) was already stored. */
export interface AppendCounts {
  stored: number;
  duplicates: number;
}

/**
 * Rows per multi-row INSERT (7 variables each, far under SQLite's 32766): one statement step
 * per chunk instead of per event.
 */
const CHUNK_ROWS = 100;
const COLUMNS = 'INSERT INTO events (source_id, message_id, type, status, reason, received_at, payload) VALUES ';
const ROW = '(?, ?, ?, ?, ?, ?, ?)';
const ON_CONFLICT = ' ON CONFLICT (source_id, message_id) DO NOTHING';

/** The flat rows of `events`; a payload without `payloadJson` is serialised here. */
export function toRows(events: readonly StoredEvent[]): EventRows {
  const out: EventRows = new Array(events.length * ROW_WIDTH);
  let j = 0;
  for (const e of events) {
    out[j++] = e.sourceId;
    out[j++] = e.messageId;
    out[j++] = e.type;
    out[j++] = e.status;
    out[j++] = e.reason;
    out[j++] = e.receivedAt;
    out[j++] = e.payloadJson ?? JSON.stringify(e.payload);
  }
  return out;
}

/**
 * Prepares the group-commit writer on `db`: the returned function writes every append of
 * `group` in ONE transaction (one fsync under `synchronous=FULL`) and returns each append's
 * counts, in order. Dedup is `ON CONFLICT (source_id, message_id) DO NOTHING`; a chunk never
 * spans two appends, so each append's `changes` are its own. Throws (nothing committed) when
 * the transaction fails.
 */
export function createEventWriter(db: Database): (group: readonly EventRows[]) => AppendCounts[] {
  const one: Statement = db.prepare(COLUMNS + ROW + ON_CONFLICT);
  const chunk: Statement = db.prepare(COLUMNS + Array<string>(CHUNK_ROWS).fill(ROW).join(', ') + ON_CONFLICT);
  const chunkValues = CHUNK_ROWS * ROW_WIDTH;
  const writeOne = (rows: EventRows): AppendCounts => {
    const n = rows.length / ROW_WIDTH;
    // A one-event append, or one of exactly one chunk, binds its rows without a copy.
    if (rows.length === ROW_WIDTH) return counts(one.run(rows).changes, 1);
    if (rows.length === chunkValues) return counts(chunk.run(rows).changes, CHUNK_ROWS);
    let stored = 0;
    let i = 0;
    for (; i + chunkValues <= rows.length; i += chunkValues) stored += chunk.run(rows.slice(i, i + chunkValues)).changes;
    for (; i < rows.length; i += ROW_WIDTH) stored += one.run(rows.slice(i, i + ROW_WIDTH)).changes;
    return { stored, duplicates: n - stored };
  };
  return db.transaction((group: readonly EventRows[]) => group.map(writeOne));
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
