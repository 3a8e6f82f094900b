import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Direct writes start at multiples of this many bytes and are whole multiples of it long. */
export const DIRECT_BLOCK = 4096;

/** Bytes a stage holds before it writes them out (a multiple of {@link DIRECT_BLOCK}). */
const STAGE_BYTES = 1024 * 1024;

/** Zero bytes written ahead of a file's end in one step by {@link DirectStage.zeros} (a multiple of {@link DIRECT_BLOCK}). */
export const ZERO_STEP_BYTES = 1024 * 1024;

/** Flags of a segment opened for direct appends: created here, written at explicit offsets (no O_APPEND). */
export const DIRECT_CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT;

/**
 * Appends to files opened with `O_DIRECT` ({@link DIRECT_CREATE_FLAGS}): bytes go from one
 * block-aligned staging buffer to the disk without a copy in the page cache, which a write-once
 * log never reads back soon (and which, on virtual machines, costs a fault per fresh page).
 *
 * Direct writes cover whole blocks, so the stage keeps the file's last partial block (its
 * "tail") and writes it again, completed, with the next append; past the file's logical end the
 * last block is padded with zero bytes, which readers of a segment take as its end. One stage
 * serves one file at a time; {@link reset} starts the next.
 */
export class DirectStage {
  /** Bytes of the file's last partial block, held at `buf[at, at + tail)`. */
  private tail = 0;

  private constructor(
    private readonly buf: Buffer,
    private readonly at: number,
    private readonly zero: Buffer,
    private readonly zeroAt: number,
  ) {}

  /**
   * A stage for files in `dir`, or undefined when its file system refuses `O_DIRECT` (tmpfs,
   * some network file systems): the caller then writes through the page cache. Finds where in
   * its buffer a direct write is accepted by trying them on a scratch file, removed afterwards.
   */
  static probe(dir: string): DirectStage | undefined {
    const scratch = join(dir, `.direct-probe-${randomUUID()}`);
    let fd: number;
    try {
      fd = openSync(scratch, DIRECT_CREATE_FLAGS, 0o600);
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.allocUnsafeSlow(STAGE_BYTES + DIRECT_BLOCK);
      const zero = Buffer.alloc(ZERO_STEP_BYTES + DIRECT_BLOCK);
      buf.fill(0, 0, 2 * DIRECT_BLOCK);
      const at = aligned(fd, buf);
      const zeroAt = aligned(fd, zero);
      return at === undefined || zeroAt === undefined ? undefined : new DirectStage(buf, at, zero, zeroAt);
    } finally {
      closeSync(fd);
      rmSync(scratch, { force: true });
    }
  }

  /** Starts a new, empty file whose first bytes will be `head` (shorter than a block), written with the first append. */
  reset(head: Uint8Array): void {
    if (head.byteLength >= DIRECT_BLOCK) throw new RangeError('a segment head must be shorter than a block');
    this.buf.set(head, this.at);
    this.tail = head.byteLength;
  }

  /**
   * Writes `chunks` to `fd` right after its first `size` bytes (size counts the head given to
   * {@link reset}, written or not), padding the last block with zero bytes. Does not sync.
   * Throws when a write fails; the stage is then as it was, so the caller can cut the file back
   * to `size` and go on.
   */
  write(fd: number, size: number, chunks: readonly Uint8Array[]): void {
    const saved = Buffer.from(this.buf.subarray(this.at, this.at + this.tail));
    let fileAt = size - this.tail;
    let fill = this.tail;
    try {
      for (const c of chunks) {
        let from = 0;
        while (from < c.byteLength) {
          const n = Math.min(c.byteLength - from, STAGE_BYTES - fill);
          this.buf.set(c.subarray(from, from + n), this.at + fill);
          fill += n;
          from += n;
          if (fill < STAGE_BYTES) continue;
          this.writeOut(fd, STAGE_BYTES, fileAt);
          fileAt += STAGE_BYTES;
          fill = 0;
        }
      }
      const padded = Math.ceil(fill / DIRECT_BLOCK) * DIRECT_BLOCK;
      if (padded > 0) {
        this.buf.fill(0, this.at + fill, this.at + padded);
        this.writeOut(fd, padded, fileAt);
      }
    } catch (err) {
      saved.copy(this.buf, this.at);
      this.tail = saved.byteLength;
      throw err;
    }
    const whole = fill - (fill % DIRECT_BLOCK);
    this.buf.copyWithin(this.at, this.at + whole, this.at + fill);
    this.tail = fill - whole;
  }

  /**
   * Writes {@link ZERO_STEP_BYTES} zero bytes at `fileAt` (a block boundary past the file's
   * logical end). Appends that later overwrite such blocks change no file metadata, so syncing
   * them is one device flush (log writers preallocate for the same reason). Does not sync.
   */
  zeros(fd: number, fileAt: number): void {
    let done = 0;
    while (done < ZERO_STEP_BYTES) done += writeSync(fd, this.zero, this.zeroAt + done, ZERO_STEP_BYTES - done, fileAt + done);
  }

  /** Writes the stage's first `length` bytes (whole blocks) at `fileAt`, going on after short writes. */
  private writeOut(fd: number, length: number, fileAt: number): void {
    let done = 0;
    while (done < length) done += writeSync(fd, this.buf, this.at + done, length - done, fileAt + done);
  }
}

/**
 * The offset in `buf` from which the kernel takes a direct write (Node's buffers are 16-byte
 * aligned: one of these offsets is a block boundary in memory), tried on the scratch file `fd`;
 * undefined when none is taken.
 */
function aligned(fd: number, buf: Buffer): number | undefined {
  for (let at = 0; at < DIRECT_BLOCK; at += 16) {
    try {
      writeSync(fd, buf, at, DIRECT_BLOCK, 0);
      return at;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
    }
  }
  return undefined;
}
