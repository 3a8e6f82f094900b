import type { Readable } from 'node:stream';
import { createGunzip, createInflate, createInflateRaw, type Gunzip, type Inflate, type InflateRaw } from 'node:zlib';

/** Byte limits applied while a body is read. */
export interface BodyLimits {
  /** Largest body as received on the wire (compressed or not). */
  readonly maxRequestBytes: number;
  /** Largest body after content decoding. */
  readonly maxDecompressedBytes: number;
}

/** Why a body could not be read. `aborted`: the client went away; no response is possible. */
export type BodyProblem = 'too_large' | 'decompressed_too_large' | 'unsupported_encoding' | 'bad_encoding' | 'aborted';

/** The outcome of {@link readBody}. */
export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly problem: BodyProblem };

/** The request side {@link readBody} needs: a readable stream and its headers. */
export interface BodySource extends Readable {
  readonly headers: { readonly [name: string]: string | string[] | undefined };
}

type Decoder = Gunzip | Inflate | InflateRaw;
type Coding = 'identity' | 'gzip' | 'deflate';

/**
 * Reads a request body, decoding `Content-Encoding: gzip` or `deflate` (RFC 9110 §8.4.1) as the
 * bytes arrive, chunked or not. Stops reading as soon as the raw bytes exceed
 * `maxRequestBytes` (a `Content-Length` already over it is refused without reading) or the
 * decoded bytes exceed `maxDecompressedBytes`, so a compression bomb is never expanded past the
 * cap. Never rejects. After a `too_large`-type outcome the rest of the body is left unread: the
 * caller answers and closes.
 */
export function readBody(req: BodySource, limits: BodyLimits): Promise<BodyResult> {
  const coding = codingOf(req.headers['content-encoding']);
  if (coding === undefined) return Promise.resolve({ ok: false, problem: 'unsupported_encoding' });
  const declared = Number(req.headers['content-length']);
  if (declared > limits.maxRequestBytes) return Promise.resolve({ ok: false, problem: 'too_large' });
  return new Promise((resolve) => new BodyCollector(req, coding, limits, resolve).start());
}

/** Whether a `Content-Encoding` value leaves the body as sent (absent, empty or `identity`). */
export function isIdentityCoding(header: string | undefined): boolean {
  return codingOf(header) === 'identity';
}

function codingOf(header: string | string[] | undefined): Coding | undefined {
  const value = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return undefined;
}

/** One body being read; settles exactly once. */
class BodyCollector {
  private readonly parts: Buffer[] = [];
  private rawBytes = 0;
  private decodedBytes = 0;
  private decoder: Decoder | undefined;
  private pending: Buffer[] = [];
  private ended = false;
  private settled = false;
  // Listeners made in the constructor (not as class fields, which the TypeScript loader names
  // with a property definition per instance): one set per request.
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onAbort: () => void;
  private readonly onClose: () => void;

  constructor(
    private readonly req: BodySource,
    private readonly coding: Coding,
    private readonly limits: BodyLimits,
    private readonly resolve: (r: BodyResult) => void,
  ) {
    this.onData = (chunk) => this.handleData(chunk);
    this.onEnd = () => this.handleEnd();
    this.onAbort = () => this.handleAbort();
    this.onClose = () => this.handleClose();
  }

  start(): void {
    this.req.on('data', this.onData);
    this.req.on('end', this.onEnd);
    this.req.on('error', this.onAbort);
    this.req.on('aborted', this.onAbort);
    this.req.on('close', this.onClose);
    if (this.coding === 'gzip') this.attach(createGunzip());
  }

  private handleData(chunk: Buffer): void {
    if (this.settled) return;
    this.rawBytes += chunk.length;
    if (this.rawBytes > this.limits.maxRequestBytes) return this.settle({ ok: false, problem: 'too_large' });
    if (this.coding === 'identity') return this.accept(chunk);
    if (this.decoder === undefined) return this.sniffDeflate(chunk, false);
    this.decoder.write(chunk);
  }

  private handleEnd(): void {
    this.ended = true;
    if (this.settled) return;
    if (this.coding === 'identity') return this.settle({ ok: true, body: joined(this.parts, this.decodedBytes) });
    if (this.decoder === undefined) this.sniffDeflate(Buffer.alloc(0), true);
    this.decoder?.end();
  }

  private handleAbort(): void {
    this.settle({ ok: false, problem: 'aborted' });
  }

  private handleClose(): void {
    if (!this.ended) this.handleAbort();
  }

  /**
   * `deflate` means the zlib format (RFC 9110 §8.4.1.2, RFC 1950), but some clients send a raw
   * deflate stream (RFC 1951): the zlib header check (CMF/FLG, §2.2) tells them apart.
   */
  private sniffDeflate(chunk: Buffer, last: boolean): void {
    this.pending.push(chunk);
    const head = Buffer.concat(this.pending);
    if (head.length < 2 && !last) return;
    this.pending = [];
    const zlibHeader = head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
    this.attach(zlibHeader ? createInflate() : createInflateRaw());
    if (head.length > 0) this.decoder!.write(head);
  }

  private attach(decoder: Decoder): void {
    this.decoder = decoder;
    decoder.on('data', (out: Buffer) => this.accept(out));
    decoder.on('end', () => this.settle({ ok: true, body: joined(this.parts, this.decodedBytes) }));
    decoder.on('error', () => this.settle({ ok: false, problem: 'bad_encoding' }));
  }

  private accept(chunk: Buffer): void {
    if (this.settled) return;
    this.decodedBytes += chunk.length;
    if (this.decodedBytes > this.limits.maxDecompressedBytes) return this.settle({ ok: false, problem: 'decompressed_too_large' });
    this.parts.push(chunk);
  }

  private settle(result: BodyResult): void {
    if (this.settled) return;
    this.settled = true;
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('aborted', this.onAbort);
    this.req.off('close', this.onClose);
    // Keep an error listener: a late socket error must not become an uncaught exception.
    if (!result.ok) {
      this.req.pause();
      this.decoder?.destroy();
    }
    this.parts.length = 0;
    this.resolve(result);
  }
}

/** The body from its parts; a body that arrived in one part is returned without a copy. */
function joined(parts: readonly Buffer[], bytes: number): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
}
