import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { HostRoute } from './host-router.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import type { ReadyAnswer } from './handlers.ts';
import type { ResponseHeads } from './response-head.ts';

/** What the fast path asks the edge for each request, and how it gives a connection up. */
export interface FastPathHost {
  /**
   * The answer to `head` on `socket` (a POST's once its body is read), or undefined when the
   * full HTTP/1.1 server must answer it (it then gets the connection, this request included, for
   * the rest of its life). Called before any of the body is read.
   */
  answer(head: RequestHead, socket: TLSSocket): FastServed | FastDeferred | undefined;
  /**
   * Called once the answer to `head` was written (metrics, access log), or with status 0 when the
   * connection closed before it could be; `started` is `performance.now()` at the head's parse.
   */
  served(head: RequestHead, served: FastServed, started: number, socket: TLSSocket): void;
  /**
   * The answer (written with `Connection: close`) to a request whose body will not be complete:
   * it did not arrive within `requestTimeoutMs` (`timeout`), or the client ended its side first (`ended`).
   */
  unfinishedBody(head: RequestHead, deferred: FastDeferred, started: number, socket: TLSSocket, why: 'timeout' | 'ended'): ReadyAnswer;
  /** As {@link unfinishedBody}, for a request head that did not arrive within `headersTimeoutMs` or was cut off by the client's end. */
  unfinishedHead(socket: TLSSocket, why: 'timeout' | 'ended'): ReadyAnswer;
  /** Whether answers written now close their connection (the server is draining). */
  closing(): boolean;
  /** Gives `socket` to the full HTTP/1.1 server; the bytes it has not consumed were put back on the socket. */
  handOver(socket: TLSSocket): void;
}

/** Where a request went, for the edge's records. */
interface FastRouted {
  /** The route of the request's host (undefined: a health path). */
  readonly route: HostRoute | undefined;
  /** The normalised Host. */
  readonly host: string;
}

/** A fast answer and what the edge records about it. */
export interface FastServed extends FastRouted {
  readonly answer: ReadyAnswer;
}

/** A POST answered once its whole body (`Content-Length` bytes) is read. */
export interface FastDeferred extends FastRouted {
  /** The answer to the body; never rejects. */
  readonly respond: (body: Buffer) => Promise<ReadyAnswer>;
}

/** Settings of {@link Http1FastPath}. */
export interface FastPathOptions {
  /** Largest request head the fast path reads (bytes); beyond it the full server answers (431). */
  readonly maxHeaderBytes: number;
  /** Idle time before a connection is closed (ms), as the full server's `timeout`. */
  readonly idleTimeoutMs: number;
  /** Time from a request's head to the end of its body (ms), as the full server's `requestTimeout`. */
  readonly requestTimeoutMs: number;
  /** Time for a request head to arrive once its first bytes have (ms), as the full server's `headersTimeout`. */
  readonly headersTimeoutMs: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Bytes of a request kept while its connection waits for the client to read earlier responses. */
const WAITING = Symbol('fastPath.waiting');
/** A POST body being read across chunks. */
const BODY = Symbol('fastPath.body');
/** A POST answer not written yet: nothing more is read or answered until it is. */
const PENDING = Symbol('fastPath.pending');
/** Bytes a connection may send while a POST answer is pending before it stops being read. */
const STASH_LIMIT = 64 * 1024;
/** Bodies up to this size are written in one string with their head (one TLS record, no cork). */
const INLINE_BODY = 1024;
/** The client ended its side of the connection (half-close): answer what it sent, then close. */
const ENDED = Symbol('fastPath.ended');
/** The fast path serves the connection (cleared at hand-over or close). */
const SERVED = Symbol('fastPath.served');
/** The first bytes of a request head whose end has not arrived yet. */
const PARTIAL = Symbol('fastPath.partial');
type FastSocket = TLSSocket & {
  [WAITING]?: Buffer; [BODY]?: BodyInProgress; [PENDING]?: boolean; [ENDED]?: boolean; [SERVED]?: boolean; [PARTIAL]?: PartialHead;
};

interface PartialHead {
  /** The bytes so far, copied (not views of the socket's reads, which would keep their whole buffers alive), in `buf[0, bytes)`. */
  buf: Buffer;
  bytes: number;
  /** `performance.now()` at the head's first byte: the header timeout runs from there. */
  readonly since: number;
  readonly timer: NodeJS.Timeout;
}

interface BodyInProgress {
  readonly head: RequestHead;
  readonly deferred: FastDeferred;
  readonly started: number;
  readonly parts: Buffer[];
  have: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * An HTTP/1.1 server for the common case only, on TLS sockets: complete GET/HEAD request heads
 * read from the socket's bytes ({@link parseRequestHead}), answered with a precomputed head and
 * body in one write, pipelined requests in order, `Connection: close` honoured. A POST the host
 * takes is answered once its `Content-Length` bytes are read (within `requestTimeoutMs`, else
 * 408 and close); until its answer is written, what the connection sends waits. A head split
 * across reads is kept until its end arrives (within `headersTimeoutMs` of its first byte, else
 * 408 and close). Anything else (a head larger than `maxHeaderBytes`, not plain, or a request
 * the host does not answer) gives the connection to the full server at that request: the unread
 * bytes are put back with `unshift` before {@link FastPathHost.handOver}, so nothing is lost or
 * reordered and answers already written go first. A client's half-close is answered to the end,
 * then the connection closes. While the client does not read (write backpressure) the
 * remaining requests wait and the socket stops reading. Listeners are shared by all connections.
 */
export class Http1FastPath {
  private readonly onData: (this: FastSocket, chunk: Buffer) => void;
  private readonly onDrain: (this: FastSocket) => void;
  private readonly onTimeout: (this: FastSocket) => void;
  private readonly onError: (this: FastSocket) => void;
  private readonly onEnd: (this: FastSocket) => void;
  /** Whole responses of prepared answers, by answer (see {@link wholeResponse}). */
  private readonly whole = new WeakMap<ReadyAnswer, { readonly text: string; readonly bytes: Buffer }>();

  constructor(private readonly host: FastPathHost, private readonly heads: ResponseHeads, private readonly options: FastPathOptions) {
    const fast = this;
    this.onData = function onFastData(this: FastSocket, chunk: Buffer) { fast.read(this, chunk, 0); };
    this.onDrain = function onFastDrain(this: FastSocket) { fast.drained(this); };
    // As the full server: an idle connection (no request in progress here) is closed.
    this.onTimeout = function onFastTimeout(this: FastSocket) { this.destroy(); };
    // The socket is destroyed by the stream itself; the listener keeps the error from being thrown.
    this.onError = function onFastError(this: FastSocket) { this.destroy(); };
    this.onEnd = function onFastEnd(this: FastSocket) { fast.ended(this); };
  }

  /** Starts serving an established HTTP/1.x connection. */
  serve(socket: FastSocket): void {
    socket[SERVED] = true;
    // A client may end its side right after its last request and still read the answers: the
    // fast path ends the connection itself once they are written (RFC 9112 §9.6).
    socket.allowHalfOpen = true;
    socket.on('end', this.onEnd);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
    socket.on('data', this.onData);
  }

  /** Answers the complete requests in `bytes` from `offset` on. */
  private read(socket: FastSocket, bytes: Buffer, offset: number): void {
    if (socket[PENDING]) return this.stash(socket, offset === 0 ? bytes : bytes.subarray(offset));
    let chunk = bytes;
    let at = offset;
    /** When the head now continued began (its header timeout keeps running from there). */
    let since: number | undefined;
    const partial = socket[PARTIAL];
    if (partial !== undefined) {
      const before = partial.bytes;
      appendPartial(partial, offset === 0 ? bytes : bytes.subarray(offset));
      // Only the new bytes and the few before them can hold the blank line ending the head.
      if (partial.buf.subarray(Math.max(0, before - 3), partial.bytes).indexOf(HEAD_END) < 0 && partial.bytes <= this.options.maxHeaderBytes) return;
      socket[PARTIAL] = undefined;
      clearTimeout(partial.timer);
      chunk = partial.buf.subarray(0, partial.bytes);
      at = 0;
      since = partial.since;
    }
    const inProgress = socket[BODY];
    if (inProgress !== undefined) {
      at = this.collect(socket, inProgress, chunk, at);
      if (at < 0) return;
    }
    while (at < chunk.length) {
      if (socket.writableNeedDrain) {
        // The client has not read the previous answers yet: answer nothing more (and read
        // nothing more) until it has, so pipelined requests cannot pile answers up in memory.
        socket[WAITING] = chunk.subarray(at);
        socket.pause();
        return;
      }
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      while (chunk[at] === 0x0d && chunk[at + 1] === 0x0a) at += 2;
      if (at >= chunk.length) return;
      const started = performance.now();
      const end = chunk.indexOf(HEAD_END, at);
      if (end < 0 && chunk.length - at <= this.options.maxHeaderBytes) return this.keepPartial(socket, chunk.subarray(at), since ?? started);
      if (end < 0 || end - at > this.options.maxHeaderBytes) return this.handOver(socket, chunk, at);
      const head = parseRequestHead(chunk.toString('latin1', at, end));
      const served = head && this.host.answer(head, socket);
      if (!head || !served) return this.handOver(socket, chunk, at);
      at = end + 4;
      since = undefined;
      if ('respond' in served) {
        const length = head.contentLength;
        if (chunk.length - at >= length) return this.respond(socket, head, served, started, chunk.subarray(at, at + length), chunk, at + length);
        const parts = at < chunk.length ? [chunk.subarray(at)] : [];
        socket[BODY] = { head, deferred: served, started, parts, have: chunk.length - at, timer: this.bodyTimer(socket, started) };
        return;
      }
      this.write(socket, head.method === 'HEAD', served.answer, head.close);
      this.host.served(head, served, started, socket);
      if (head.close) return this.closeAfterWrite(socket);
    }
  }

  /** Keeps the start of a head split across reads (a pipeline cut at a TLS record, a slow client); 408 and close if the rest is late. */
  private keepPartial(socket: FastSocket, bytes: Buffer, since: number): void {
    const timer = setTimeout(() => {
      if (socket[PARTIAL] === undefined || socket.destroyed) return;
      socket[PARTIAL] = undefined;
      this.closeWith(socket, this.host.unfinishedHead(socket, 'timeout'));
    }, Math.max(0, this.options.headersTimeoutMs - (performance.now() - since)));
    timer.unref();
    const partial: PartialHead = { buf: Buffer.allocUnsafe(Math.max(256, bytes.length * 2)), bytes: 0, since, timer };
    appendPartial(partial, bytes);
    socket[PARTIAL] = partial;
  }

  /** Adds `chunk` from `at` to a body in progress; returns where the bytes after the body start, or -1 when all of the chunk was body (or it was answered). */
  private collect(socket: FastSocket, body: BodyInProgress, chunk: Buffer, at: number): number {
    const need = body.head.contentLength - body.have;
    if (chunk.length - at < need) {
      body.parts.push(at === 0 ? chunk : chunk.subarray(at));
      body.have += chunk.length - at;
      return -1;
    }
    body.parts.push(chunk.subarray(at, at + need));
    socket[BODY] = undefined;
    clearTimeout(body.timer);
    this.respond(socket, body.head, body.deferred, body.started, Buffer.concat(body.parts, body.head.contentLength), chunk, at + need);
    return -1;
  }

  /** Starts answering a POST whose body is read; what follows it in `chunk` (from `rest`) waits for the answer. */
  private respond(socket: FastSocket, head: RequestHead, deferred: FastDeferred, started: number, body: Buffer, chunk: Buffer, rest: number): void {
    socket[PENDING] = true;
    socket[WAITING] = rest < chunk.length ? chunk.subarray(rest) : undefined;
    void deferred.respond(body).then((answer) => this.answered(socket, head, { answer, route: deferred.route, host: deferred.host }, started));
  }

  /** Writes a POST's answer, then goes on with what the connection sent meanwhile. */
  private answered(socket: FastSocket, head: RequestHead, served: FastServed, started: number): void {
    socket[PENDING] = false;
    if (socket.destroyed) {
      this.host.served(head, { ...served, answer: { ...served.answer, status: 0 } }, started, socket);
      return;
    }
    const close = head.close || this.host.closing() || (socket[ENDED] === true && socket[WAITING] === undefined);
    this.write(socket, head.method === 'HEAD', served.answer, close);
    this.host.served(head, served, started, socket);
    if (close) return this.closeAfterWrite(socket);
    const waiting = socket[WAITING];
    socket[WAITING] = undefined;
    if (waiting !== undefined) this.read(socket, waiting, 0);
    if (socket[WAITING] === undefined && !socket[PENDING] && socket.isPaused()) socket.resume();
    this.closeIfEnded(socket);
  }

  /** The client ended its side: a body in progress cannot complete (400 and close); otherwise close once what it sent is answered. */
  private ended(socket: FastSocket): void {
    socket[ENDED] = true;
    this.closeIfEnded(socket);
  }

  /**
   * Closes a connection whose client ended its side once nothing it sent is waiting for an
   * answer; a body or head that can no longer complete gets 400 first.
   */
  private closeIfEnded(socket: FastSocket): void {
    if (!socket[ENDED] || !socket[SERVED] || socket[PENDING] || socket[WAITING] !== undefined) return;
    const body = socket[BODY];
    if (body !== undefined) {
      socket[BODY] = undefined;
      clearTimeout(body.timer);
      return this.closeWith(socket, this.host.unfinishedBody(body.head, body.deferred, body.started, socket, 'ended'));
    }
    const partial = socket[PARTIAL];
    if (partial === undefined) return this.closeAfterWrite(socket);
    socket[PARTIAL] = undefined;
    clearTimeout(partial.timer);
    this.closeWith(socket, this.host.unfinishedHead(socket, 'ended'));
  }

  /**
   * Keeps what a connection sends while its POST answer is pending, to be read after it; past
   * {@link STASH_LIMIT} bytes the socket stops reading until then. (Not pausing in the common
   * case, a client waiting for its answer, saves stopping and restarting reads per request.)
   */
  private stash(socket: FastSocket, bytes: Buffer): void {
    const waiting = socket[WAITING];
    const all = waiting === undefined ? bytes : Buffer.concat([waiting, bytes]);
    socket[WAITING] = all;
    if (all.length > STASH_LIMIT) socket.pause();
  }

  /** Answers 408 and closes when the body in progress is not complete `requestTimeoutMs` after its head. */
  private bodyTimer(socket: FastSocket, started: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const body = socket[BODY];
      socket[BODY] = undefined;
      if (body === undefined || socket.destroyed) return;
      this.closeWith(socket, this.host.unfinishedBody(body.head, body.deferred, body.started, socket, 'timeout'));
    }, Math.max(0, this.options.requestTimeoutMs - (performance.now() - started)));
    timer.unref();
    return timer;
  }

  /** Writes `answer` (its head only when `headOnly`, for HEAD requests), announcing a close when `close`. */
  private write(socket: TLSSocket, headOnly: boolean, answer: ReadyAnswer, close: boolean): void {
    const text = this.heads.render(answer, close);
    const body = headOnly ? undefined : answer.body;
    if (body === undefined || body.length === 0) {
      socket.write(text, 'latin1');
      return;
    }
    if (body.length <= INLINE_BODY) {
      socket.write(text + body.toString('latin1'), 'latin1');
      return;
    }
    // One write of head and body (TLS records and TCP segments are not split between them).
    if (Object.isFrozen(answer)) {
      socket.write(this.wholeResponse(answer, body, text));
      return;
    }
    socket.cork();
    socket.write(text, 'latin1');
    socket.write(body);
    socket.uncork();
  }

  /**
   * Head and body of a prepared answer in one buffer, kept with the answer while its head stays
   * the same (the `Date` line changes it once a second): one buffer per write, not copied again
   * below. Buffers are never changed once made, so writes in progress may share them.
   */
  private wholeResponse(answer: ReadyAnswer, body: Buffer, text: string): Buffer {
    const known = this.whole.get(answer);
    if (known !== undefined && known.text === text) return known.bytes;
    const headBytes = Buffer.byteLength(text, 'latin1');
    const bytes = Buffer.allocUnsafeSlow(headBytes + body.length);
    bytes.write(text, 0, 'latin1');
    body.copy(bytes, headBytes);
    this.whole.set(answer, { text, bytes });
    return bytes;
  }

  private drained(socket: FastSocket): void {
    const waiting = socket[WAITING];
    if (waiting === undefined || socket[PENDING]) return;
    socket[WAITING] = undefined;
    this.read(socket, waiting, 0);
    // Unless it waits again, read on (after a hand-over or close, resuming again is harmless).
    if (socket[WAITING] === undefined) socket.resume();
    this.closeIfEnded(socket);
  }

  /** Writes `answer` with `Connection: close` (a refusal of a request that cannot complete), then closes. */
  private closeWith(socket: FastSocket, answer: ReadyAnswer): void {
    this.write(socket, false, answer, true);
    this.closeAfterWrite(socket);
  }

  /**
   * As the full server after a `Connection: close` answer: ends the connection and discards what
   * follows. A client that does not read the answers is cut off after the idle timeout.
   */
  private closeAfterWrite(socket: FastSocket): void {
    this.detach(socket);
    socket.on('error', this.onError);
    socket.end();
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    socket.once('finish', destroySocket);
    const timer = setTimeout(() => socket.destroy(), this.options.idleTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * Answers a connection at once with `answer` and `Connection: close`, without reading a
   * request, then closes it; what the client sends meanwhile is discarded, and a client that does
   * not close its side is cut off after `lingerMs`.
   */
  refuse(socket: TLSSocket, answer: ReadyAnswer, lingerMs: number): void {
    socket.on('error', this.onError);
    socket.resume();
    const head = Buffer.from(this.heads.render(answer, true), 'latin1');
    socket.end(answer.body === undefined ? head : Buffer.concat([head, answer.body]));
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  private handOver(socket: FastSocket, chunk: Buffer, at: number): void {
    this.detach(socket);
    socket[WAITING] = undefined;
    if (socket.readableEnded) {
      // The client's end was read already: nothing can be put back on the stream. The full
      // server gets the bytes and the end as events, as it would have read them.
      this.host.handOver(socket);
      if (at < chunk.length) socket.emit('data', chunk.subarray(at));
      socket.emit('end');
      return;
    }
    // Paused, the bytes put back stay buffered until the full server listens; resuming then
    // delivers them before anything read later.
    socket.pause();
    if (at < chunk.length) socket.unshift(chunk.subarray(at));
    this.host.handOver(socket);
    socket.resume();
  }

  private detach(socket: FastSocket): void {
    socket[SERVED] = false;
    const partial = socket[PARTIAL];
    if (partial !== undefined) clearTimeout(partial.timer);
    socket[PARTIAL] = undefined;
    socket.removeListener('end', this.onEnd);
    socket.removeListener('data', this.onData);
    socket.removeListener('drain', this.onDrain);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('error', this.onError);
    socket.setTimeout(0);
  }
}

/** Copies `more` after the bytes of `partial`, growing its buffer (doubling) as needed. */
function appendPartial(partial: PartialHead, more: Buffer): void {
  const need = partial.bytes + more.length;
  if (need > partial.buf.length) {
    const grown = Buffer.allocUnsafe(Math.max(need, partial.buf.length * 2));
    partial.buf.copy(grown, 0, 0, partial.bytes);
    partial.buf = grown;
  }
  more.copy(partial.buf, partial.bytes);
  partial.bytes = need;
}

function destroySocket(this: TLSSocket): void {
  this.destroy();
}
