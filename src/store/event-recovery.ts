import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { HEADER_MARK, listSegments, segmentPath, type GroupHeader } from './event-segments.ts';
import { createGroupIndexer } from './sqlite-event-writer.ts';

/** What {@link recoverEventIndex} indexed again. */
export interface RecoveryReport {
  /** Whole groups found past a segment's `indexed_to`. */
  readonly groups: number;
  /** Events in those groups (duplicates of stored ones included: they are stored once). */
  readonly events: number;
}

const NEWLINE = 0x0a;

/**
 * Indexes again the groups of the segment log in `dir` whose rows a crash lost: a group is synced
 * before its rows commit (and the writer commits with `synchronous=NORMAL`), so after a power loss
 * a segment may hold whole groups past its `indexed_to`. Each such group, up to the first one that
 * is not whole (a torn write, never acknowledged), gets its rows in one transaction; events
 * already stored are found in the deduplication window (at least the latest `dedupWindow`
 * events), so running this twice, or beside a live writer of another process, stores nothing
 * twice. Segments without an `event_segments` row are scanned from the
 * start when they begin with a group header, and skipped otherwise (payload-only segments written
 * before groups had headers: their rows were committed with `synchronous=FULL`). Nothing is
 * truncated or rewritten. Call at start, before reads, on a writable connection.
 */
export function recoverEventIndex(db: Database, dir: string, dedupWindow?: number): RecoveryReport {
  const index = createGroupIndexer(db, dedupWindow);
  const indexedTo = db.prepare('SELECT indexed_to AS n FROM event_segments WHERE segment = ?').pluck();
  let groups = 0;
  let events = 0;
  for (const segment of listSegments(dir)) {
    const known = indexedTo.get(segment) as number | undefined;
    const rest = readFrom(segmentPath(dir, segment), known ?? 0);
    if (rest.length === 0 || (known === undefined && rest[0] !== HEADER_MARK)) continue;
    const base = known ?? 0;
    for (const g of wholeGroups(rest)) {
      index(g.header, [g.header.count], segment, base + g.payloadStart, base + g.end);
      groups += 1;
      events += g.header.count;
    }
  }
  return { groups, events };
}

/** The bytes of the file at `path` from `offset` to its end (empty when it ends before). */
function readFrom(path: string, offset: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

interface WholeGroup {
  readonly header: GroupHeader;
  /** Offsets in the scanned bytes: first payload line, and just after the group. */
  readonly payloadStart: number;
  readonly end: number;
}

/** The whole groups at the start of `buf`, in order, up to the first that is torn or malformed. */
function* wholeGroups(buf: Buffer): Generator<WholeGroup> {
  let p = 0;
  while (p < buf.length && buf[p] === HEADER_MARK) {
    const nl = buf.indexOf(NEWLINE, p);
    if (nl < 0) return;
    const header = parseHeader(buf.toString('utf8', p + 1, nl));
    if (header === undefined) return;
    let q = nl + 1;
    // Each payload is one JSON object ending in a newline, exactly where the header says.
    for (const length of header.payloadLengths) {
      if (q + length >= buf.length || buf[q + length] !== NEWLINE || !isJsonObject(buf, q, q + length)) return;
      q += length + 1;
    }
    yield { header, payloadStart: nl + 1, end: q };
    p = q;
  }
}

/** Whether `buf[from, to)` is the JSON text of an object (recovery only: a handful of groups). */
function isJsonObject(buf: Buffer, from: number, to: number): boolean {
  if (buf[from] !== 0x7b) return false;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', from, to));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** A header line's JSON as a {@link GroupHeader}, or undefined when it is not one. */
function parseHeader(text: string): GroupHeader | undefined {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null) return undefined;
  const g = h as Record<string, unknown>;
  const n = g['count'];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return undefined;
  const column = (name: string, ok: (v: unknown) => boolean): boolean => {
    const c = g[name];
    return Array.isArray(c) && c.length === n && c.every(ok);
  };
  const text_ = (v: unknown) => typeof v === 'string';
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const ok = column('sourceIds', text_) && column('messageIds', text_) && column('types', text_)
    && column('reasons', (v) => v === null || typeof v === 'string') && column('receivedAts', count) && column('payloadLengths', count);
  return ok ? (g as unknown as GroupHeader) : undefined;
}
