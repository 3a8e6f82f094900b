import { closeSync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, writevSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Event payloads of a file database live in append-only segment files beside it (JSON Lines: one
 * stored payload per line), and the `events` table keeps each event's index row with its position
 * (`log_segment`, `log_offset`, `log_length`). Payload bytes are then written once (no WAL copy and
 * checkpoint copy), which is most of what storing an event costs.
 *
 * Durability order, per group commit: the segment bytes are written and `fdatasync`ed first, then
 * the index rows commit. A crash in between leaves bytes no index row points at: they are never
 * read and appends continue after them, so a segment needs no repair after a crash.
 */

/** Where a payload is: segment number, byte offset and byte length (the trailing newline excluded). */
export interface PayloadPosition {
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

/** A segment is closed for appends once it reaches this size (a group is never split). */
export const SEGMENT_BYTES = 256 * 1024 * 1024;

const NAME = /^(\d{8})\.jsonl$/;

/** The segment folder of the database file at `dbPath`: `<dir>/<file name>-events`. */
export function segmentsDirFor(dbPath: string): string {
  return join(dirname(dbPath), `${basename(dbPath)}-events`);
}

function segmentPath(dir: string, segment: number): string {
  return join(dir, `${String(segment).padStart(8, '0')}.jsonl`);
}

/**
 * Appends payload groups to the newest segment of `dir` (created, with the folder, when missing),
 * opening the next one when the current one is full. One instance per folder at a time (the event
 * writer thread); not safe for concurrent use.
 */
export class SegmentAppender {
  private segment: number;
  private fd: number;
  private size: number;

  constructor(private readonly dir: string, private readonly segmentBytes = SEGMENT_BYTES) {
    mkdirSync(dir, { recursive: true });
    const existing = readdirSync(dir).map((n) => NAME.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number);
    this.segment = existing.length > 0 ? Math.max(...existing) : 1;
    this.fd = this.open(this.segment);
    this.size = fstatSync(this.fd).size;
  }

  /**
   * Writes `chunks` (whole payload lines, see `EncodedEvents.payloads`) one after another and
   * syncs them to disk before returning where the first byte went. Throws when the write or the
   * sync fails; bytes written before a failure are unreferenced and harmless.
   */
  append(chunks: readonly Uint8Array[]): { segment: number; offset: number } {
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    if (this.size > 0 && this.size + total > this.segmentBytes) this.roll();
    const start = { segment: this.segment, offset: this.size };
    let pending = chunks.filter((c) => c.byteLength > 0);
    while (pending.length > 0) {
      let n = writevSync(this.fd, pending);
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
    fdatasyncSync(this.fd);
    this.size += total;
    return start;
  }

  close(): void {
    closeSync(this.fd);
  }

  private roll(): void {
    closeSync(this.fd);
    this.segment += 1;
    this.fd = this.open(this.segment);
    this.size = 0;
  }

  /** Opens a segment for appending; a new file's directory entry is synced too. */
  private open(segment: number): number {
    const fd = openSync(segmentPath(this.dir, segment), 'a');
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    return fd;
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
