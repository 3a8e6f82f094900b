import { closeSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { hostname } from 'node:os';
import { FOREIGN_OWNER_QUIET_MS, HEADER_MARK, listSegments, OWNER_MARK, processIdentity, SEGMENT_BYTES, segmentPath, type SegmentOwner } from './event-segments.ts';
import { parseGroupHeader, type GroupHeader } from './group-header.ts';
import { createGroupIndexer } from './sqlite-event-writer.ts';

/** What {@link recoverEventIndex} indexed again. */
export interface RecoveryReport {
  /** Whole groups found past a segment's `indexed_to`. */
  readonly groups: number;
  /** Events in those groups (duplicates of stored ones included: they are stored once). */
  readonly events: number;
}

const NEWLINE = 0x0a;

/** What recovery needs to know beyond the database: the window size and this process's live writers. */
export interface RecoveryOptions {
  readonly dedupWindow?: number;
  /** Ids of the writers running in this process (their segments are left alone). */
  readonly liveWriters?: ReadonlySet<string>;
}

/** Remainders larger than this are no segment of ours (a writer closes one at {@link SEGMENT_BYTES} plus a group). */
const MAX_REMAINDER = 2 * SEGMENT_BYTES;

/**
 * Indexes again the groups of the segment log in `dir` whose rows a crash lost: a group is synced
 * before its rows commit (and the writer commits with `synchronous=NORMAL`), so after a power loss
 * a segment may hold whole groups past its `indexed_to`. Each such group, up to the first one that
 * is not whole (a torn write, never acknowledged), gets its rows in one transaction; events
 * already stored are found in the deduplication window, so running this twice stores nothing
 * twice. Left alone: segments of a writer still running (another process during a restart, one
 * on another host that changed them lately, or one of `liveWriters` here: their last group may
 * not be synced yet), segments without group
 * headers (written before groups had them, rows committed with `synchronous=FULL`), and anything
 * in the folder that is not a readable regular file of a plausible size. Nothing is truncated or
 * rewritten; nothing here throws for the folder's contents. Call at start, before reads, on a
 * writable connection.
 */
export function recoverEventIndex(db: Database, dir: string, opts: RecoveryOptions = {}): RecoveryReport {
  const index = createGroupIndexer(db, opts.dedupWindow);
  const indexedTo = db.prepare('SELECT indexed_to AS n FROM event_segments WHERE segment = ?').pluck();
  const live = opts.liveWriters ?? new Set<string>();
  const found: Array<WholeGroup & { segment: number; base: number; at: number }> = [];
  for (const segment of listSegments(dir)) {
    const rest = unindexed(segmentPath(dir, segment), indexedTo.get(segment) as number | undefined, live);
    if (rest === undefined) continue;
    for (const g of wholeGroups(rest.bytes)) found.push({ ...g, segment, base: rest.base, at: g.header.receivedAts.reduce((m, t) => Math.max(m, t), 0) });
  }
  // In the order they were committed, as near as the log tells (two writers' segments
  // interleave in time): which of two copies of a key is kept is then the one kept before.
  found.sort((a, b) => a.at - b.at);
  let events = 0;
  for (const g of found) {
    index(g.header, [g.header.count], g.segment, g.base + g.payloadStart, g.base + g.end);
    events += g.header.count;
  }
  return { groups: found.length, events };
}

/**
 * The bytes of the segment at `path` past what is indexed (`known`, else past its owner line),
 * with their file offset; undefined when there is nothing to recover there: no such regular
 * file, a live owner, no group header where groups would start, or an implausible size.
 */
function unindexed(path: string, known: number | undefined, live: ReadonlySet<string>): { bytes: Buffer; base: number } | undefined {
  let fd: number;
  try {
    // Checked before opening: opening a FIFO for reading would wait for a writer.
    if (!lstatSync(path).isFile()) return undefined;
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    const first = readAt(fd, 0, Math.min(stat.size, 4096));
    let start = 0;
    if (first[0] === OWNER_MARK) {
      const nl = first.indexOf(0x0a);
      const owner = nl < 0 ? undefined : parseOwner(first.toString('utf8', 1, nl));
      if (owner === undefined || ownerIsLive(owner, live, stat.mtimeMs)) return undefined;
      start = nl + 1;
    }
    const base = known ?? start;
    if (stat.size <= base || stat.size - base > MAX_REMAINDER) return undefined;
    const bytes = readAt(fd, base, stat.size - base);
    // A segment none of whose groups is indexed must start with one (else: payload-only, older).
    if (known === undefined && bytes[0] !== HEADER_MARK) return undefined;
    return { bytes, base };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Whether the writer that owns a segment may still be running. */
function ownerIsLive(owner: SegmentOwner, live: ReadonlySet<string>, modifiedAtMs: number): boolean {
  // Another host's process cannot be looked up from here: a segment it still appends to is recent.
  if (owner.host !== hostname()) return Date.now() - modifiedAtMs < FOREIGN_OWNER_QUIET_MS;
  if (owner.pid === process.pid) return live.has(owner.writer);
  if (owner.boot !== '' && owner.start !== '') {
    const now = processIdentity(owner.pid);
    return now.boot === owner.boot && now.start === owner.start;
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): SegmentOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<SegmentOwner> | null;
    if (o === null || typeof o !== 'object') return undefined;
    if (!Number.isSafeInteger(o.pid) || typeof o.boot !== 'string' || typeof o.start !== 'string' || typeof o.writer !== 'string' || typeof o.host !== 'string') return undefined;
    return o as SegmentOwner;
  } catch {
    return undefined;
  }
}

/** `length` bytes of `fd` from `offset` (fewer when the file ends before). */
function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
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
    const header = parseGroupHeader(buf.toString('utf8', p + 1, nl));
    if (header === undefined) return;
    let q = nl + 1;
    // Each payload is one JSON object ending in a newline, exactly where the header says, and
    // of the event the header names.
    for (let i = 0; i < header.count; i++) {
      const length = header.payloadLengths[i]!;
      if (q + length >= buf.length || buf[q + length] !== NEWLINE || !isPayloadOf(buf, q, q + length, header.messageIds[i]!)) return;
      q += length + 1;
    }
    yield { header, payloadStart: nl + 1, end: q };
    p = q;
  }
}

/**
 * Whether `buf[from, to)` is the JSON text of an object whose `messageId`, when it has one, is
 * `messageId` (recovery only: a handful of groups).
 */
function isPayloadOf(buf: Buffer, from: number, to: number, messageId: string): boolean {
  if (buf[from] !== 0x7b) return false;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', from, to));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const id = (v as { messageId?: unknown }).messageId;
    return typeof id !== 'string' || id === messageId;
  } catch {
    return false;
  }
}
