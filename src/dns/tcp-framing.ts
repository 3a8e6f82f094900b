/**
 * Splits a TCP byte stream into DNS messages framed by a two-byte length (RFC 1035 §4.2.2,
 * RFC 7766 §8). Frames may span chunks and a chunk may hold many frames (pipelining). A frame
 * wholly inside one chunk is passed as a zero-copy view; a split one is copied once into a buffer
 * of its announced size, so a peer trickling bytes costs linear work.
 */
export class FrameReader {
  #lengthHigh = -1;
  #frame: Buffer | null = null;
  #filled = 0;

  /** Feeds one chunk; calls `onFrame` synchronously for every frame it completes, in order. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#frame === null) {
        let len: number;
        if (this.#lengthHigh >= 0) {
          len = (this.#lengthHigh << 8) | chunk[off]!;
          this.#lengthHigh = -1;
          off += 1;
        } else if (chunk.length - off < 2) {
          this.#lengthHigh = chunk[off]!; // only half of the length prefix has arrived
          return;
        } else {
          len = chunk.readUInt16BE(off);
          off += 2;
        }
        if (chunk.length - off >= len) {
          onFrame(chunk.subarray(off, off + len));
          off += len;
          continue;
        }
        this.#frame = Buffer.allocUnsafe(len);
        this.#filled = 0;
      }
      off = this.#fill(chunk, off, onFrame);
    }
  }

  /** Whether a frame or a length prefix is partly received. */
  get hasPartial(): boolean {
    return this.#frame !== null || this.#lengthHigh >= 0;
  }

  #fill(chunk: Buffer, off: number, onFrame: (frame: Buffer) => void): number {
    const frame = this.#frame!;
    const n = Math.min(frame.length - this.#filled, chunk.length - off);
    chunk.copy(frame, this.#filled, off, off + n);
    this.#filled += n;
    if (this.#filled === frame.length) {
      this.#frame = null;
      onFrame(frame);
    }
    return off + n;
  }
}

/** Prefixes a DNS message with its two-byte length for TCP (RFC 1035 §4.2.2). */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}
