import { randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writevSync } from 'node:fs';
import { hostname } from 'node:os';
import { DIRECT_BLOCK, DIRECT_CREATE_FLAGS, DirectStage, ZERO_STEP_BYTES } from './direct-stage.ts';
import { basename, dirname, join } from 'node:path';

/**
 * Event payloads of a file database live in append-only segment files beside it, and the
 * `events` table keeps each event's index row with its position (`log_segment`, `log_offset`,
 * `log_length`). Payload bytes are then written once (no WAL copy and checkpoint copy), which is
 * most of what storing an event costs.
 *
 * Layout: a segment is an owner line ({@link SegmentOwner}), then a sequence of groups (one per commit). A group is a header line
 * (group-header.ts: `#` and the JSON of its events' index fields), then one JSON line per payload.
 * Payload lines start with `{` and headers with `#`; `\n` never occurs inside either.
 *
 * Durability: a group is written and `fdatasync`ed before its index rows commit, so the segment
 * log is the durable record and the index can be rebuilt from it: rows a crash lost are indexed
 * again from the headers at the next start (event-recovery.ts); a torn group at the end is never
 * referenced. Each writer (process) appends to segments it created itself (`O_EXCL`), so two
 * processes on one database (a rolling restart) never share a file.
 */

/** Where a payload is: segment number, byte offset and byte length (the trailing newline excluded). */
export interface PayloadPosition {
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

/** Direct segments keep at least this many zero bytes written past their end (see {@link DirectStage.zeros}). */
const ZERO_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * Zeros are written ahead only while groups average less than this: writing a byte of zeros costs
 * about what a group's sync saves for every ~0.5 MB, so large groups (batches under load) append as
 * they are.
 */
const ZERO_AHEAD_BELOW_GROUP_BYTES = 256 * 1024;

/** A segment is closed for appends once it reaches this size (a group is never split). */
export const SEGMENT_BYTES = 256 * 1024 * 1024;

/** First byte of a group's header line. */
export const HEADER_MARK = 0x23;

/** A segment of a writer on another host counts as live until it has not changed for this long. */
export const FOREIGN_OWNER_QUIET_MS = 30_000;

/** First byte of a segment's owner line (see {@link SegmentOwner}). */
export const OWNER_MARK = 0x25;

const NAME = /^(\d{8,})\.jsonl$/;

/** The largest segment number a writer creates (far beyond any real log, well within exact integers). */
const MAX_SEGMENT = 999_999_999_999;

/**
 * Who writes a segment: its first line, `%` and this as JSON. Recovery leaves alone the segments
 * of a writer that is still running (its groups may be written and not yet synced or indexed):
 * another process's on this host (the same process id, boot and start time), a writer on another
 * host (another container on a shared volume) whose segment changed within the last
 * {@link FOREIGN_OWNER_QUIET_MS}, or, in this process, a writer whose id is still registered as live.
 */
export interface SegmentOwner {
  readonly pid: number;
  /** The kernel's boot id ('' where unknown). */
  readonly boot: string;
  /** The process's start time in clock ticks since boot ('' where unknown). */
  readonly start: string;
  /** Random id of the writer within its process. */
  readonly writer: string;
  /** The host name (a container's own): process ids and start times are only comparable on the same host. */
  readonly host: string;
}

/** This process's identity for {@link SegmentOwner}: boot id and start time from /proc (Linux), '' elsewhere. */
export function processIdentity(pid: number = process.pid): { boot: string; start: string } {
  return { boot: readOr('/proc/sys/kernel/random/boot_id').trim(), start: startTicks(pid) };
}

/** Field 22 of /proc/<pid>/stat (start time), read after the command name's closing parenthesis. */
function startTicks(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The segment folder of the database file at `dbPath`: `<dir>/<file name>-events`. */
export function segmentsDirFor(dbPath: string): string {
  return join(dirname(dbPath), `${basename(dbPath)}-events`);
}

export function segmentPath(dir: string, segment: number): string {
  return join(dir, `${String(segment).padStart(8, '0')}.jsonl`);
}

/** The segment numbers in `dir`, ascending (none when the folder is missing). */
export function listSegments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // Numbers past MAX_SEGMENT are not ours (no writer gets there): left alone, never continued from.
  return names.map((n) => NAME.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number).filter((n) => n <= MAX_SEGMENT).sort((a, b) => a - b);
}

/**
 * Appends groups to segments of `dir` (created, with the folder, when missing) that this
 * instance creates itself: a new one at start and whenever the current one is full or a failed
 * write could not be undone. One instance per process and folder (the event writer thread); not
 * safe for concurrent use.
 */
export class SegmentAppender {
  private segment = 0;
  private fd = -1;
  private size = 0;
  /** Where groups start in the current segment (after its owner line). */
  private base = 0;
  private readonly ownerLine: Buffer;
  /** A failed write left bytes that could not be cut off: the next append starts a new segment. */
  private spoiled = false;
  /** Direct (unbuffered) appends where the file system takes them, else undefined: writes go through the page cache. */
  private direct: DirectStage | undefined;
  /** Direct segments: where the zero bytes written ahead of the end stop (see {@link DirectStage.zeros}). */
  private zeroedTo = 0;
  /** Moving average of appended group sizes, in bytes. */
  private groupBytes = 0;

  /**
   * `writer`: this writer's id, put in each segment's owner line (random when not given).
   * `direct`: append with `O_DIRECT` where the file system supports it (default true).
   */
  constructor(private readonly dir: string, private readonly segmentBytes = SEGMENT_BYTES, writer: string = randomUUID(), direct = true) {
    const owner: SegmentOwner = { pid: process.pid, ...processIdentity(), writer, host: hostname() };
    this.ownerLine = Buffer.from(`%${JSON.stringify(owner)}\n`);
    mkdirSync(dir, { recursive: true });
    this.direct = direct && this.ownerLine.byteLength < DIRECT_BLOCK ? DirectStage.probe(dir) : undefined;
    this.roll();
  }

  /** Whether appends bypass the page cache (`O_DIRECT`). */
  get isDirect(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Writes `chunks` (a header line and its payload lines) one after another and syncs them to
   * disk before returning where the first byte went. Throws when the write or the sync fails,
   * after cutting off what it wrote (or, when that fails too, leaving the segment for a new one).
   */
  append(chunks: readonly Uint8Array[]): { segment: number; offset: number } {
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    if (this.spoiled || (this.size > this.base && this.size + total > this.segmentBytes)) this.roll();
    const start = { segment: this.segment, offset: this.size };
    try {
      if (this.direct !== undefined) {
        this.zeroAhead(this.direct, total);
        this.direct.write(this.fd, this.size, chunks);
      } else {
        writeAll(this.fd, chunks);
      }
      fdatasyncSync(this.fd);
    } catch (err) {
      this.undo();
      throw err;
    }
    this.size += total;
    return start;
  }

  close(): void {
    if (this.fd < 0) return;
    // A direct segment's last block is padded with zero bytes: cut them off (readers stop at them anyway).
    if (this.direct !== undefined && !this.spoiled) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // The padding stays; readers take it as the segment's end.
      }
    }
    closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Keeps zero bytes written at least {@link ZERO_AHEAD_BYTES} past where this append ends, one
   * step per append (the sync that follows makes them part of the file), while groups are small
   * ({@link ZERO_AHEAD_BELOW_GROUP_BYTES}); never past the segment's size limit by more than a
   * step. A failure only stops it: appends then extend the file.
   */
  private zeroAhead(direct: DirectStage, total: number): void {
    this.groupBytes += (total - this.groupBytes) / 8;
    const end = this.size + total;
    if (this.groupBytes >= ZERO_AHEAD_BELOW_GROUP_BYTES || this.zeroedTo - end >= ZERO_AHEAD_BYTES || this.zeroedTo > this.segmentBytes) return;
    const from = Math.max(this.zeroedTo, Math.ceil(end / DIRECT_BLOCK) * DIRECT_BLOCK);
    try {
      direct.zeros(this.fd, from);
      this.zeroedTo = from + ZERO_STEP_BYTES;
    } catch {
      this.zeroedTo = Number.POSITIVE_INFINITY;
    }
  }

  /** Cuts the segment back to its last whole group; marks it spoiled when that fails. */
  private undo(): void {
    // The zeros written ahead go with the cut; they are written again from the new end.
    if (Number.isFinite(this.zeroedTo)) this.zeroedTo = 0;
    try {
      ftruncateSync(this.fd, this.size);
    } catch {
      this.spoiled = true;
    }
  }

  /** Closes the current segment and creates the next free number; the folder entry is synced. */
  private roll(): void {
    this.close();
    let next = Math.max(this.segment, ...listSegments(this.dir), 0) + 1;
    for (;;) {
      if (next > MAX_SEGMENT) throw new Error(`event segments: no free segment number in ${this.dir}`);
      try {
        this.fd = this.direct !== undefined ? openSync(segmentPath(this.dir, next), DIRECT_CREATE_FLAGS, 0o666) : openSync(segmentPath(this.dir, next), 'ax');
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another process created it meanwhile: take the one after.
        if (code === 'EEXIST') next += 1;
        // The folder's file system took direct writes when probed and refuses them now: buffered from here on.
        else if (code === 'EINVAL' && this.direct !== undefined) this.direct = undefined;
        else throw err;
      }
    }
    this.segment = next;
    this.size = 0;
    this.zeroedTo = 0;
    this.spoiled = false;
    // The owner line goes with the first group's sync.
    if (this.direct !== undefined) this.direct.reset(this.ownerLine);
    else writeAll(this.fd, [this.ownerLine]);
    this.size = this.base = this.ownerLine.byteLength;
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

/** Writes every byte of `chunks` at the end of `fd`, going on after short writes. */
function writeAll(fd: number, chunks: readonly Uint8Array[]): void {
  let pending = chunks.filter((c) => c.byteLength > 0);
  while (pending.length > 0) {
    let n = writevSync(fd, pending);
    // A short write: drop what was written and go on with the rest.
    while (n > 0 && pending.length > 0) {
      const first = pending[0]!;
      if (n >= first.byteLength) {
        n -= first.byteLength;
        pending = pending.slice(1);
      } else {
        pending = [first.subarray(n), ...pending.slice(1)];
        n = 0;
      }
    }
  }
}

/** Reads payloads back by position; keeps the segments it opened until {@link close}. */
export class SegmentReader {
  private readonly fds = new Map<number, number>();

  constructor(private readonly dir: string) {}

  /** The payload JSON text at `pos`. Throws when the segment is missing or shorter than `pos` says. */
  read(pos: PayloadPosition): string {
    const buf = Buffer.allocUnsafe(pos.length);
    const fd = this.fd(pos.segment);
    let got = 0;
    while (got < pos.length) {
      const n = readSync(fd, buf, got, pos.length - got, pos.offset + got);
      if (n === 0) throw new Error(`event segment ${pos.segment} ends before byte ${pos.offset + pos.length}`);
      got += n;
    }
    return buf.toString('utf8');
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private fd(segment: number): number {
    let fd = this.fds.get(segment);
    if (fd === undefined) {
      fd = openSync(segmentPath(this.dir, segment), 'r');
      this.fds.set(segment, fd);
    }
    return fd;
  }
}
