import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { HostRoute } from './host-router.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import type { ReadyAnswer } from './handlers.ts';
import type { ResponseHeads } from './response-head.ts';

/** What the fast path asks the edge for each request, and how it gives a connection up. */
export interface FastPathHost {
  /**
   * The answer to `head` on `socket`, or undefined when the full HTTP/1.1 server must answer it
   * (it then gets the connection, this request included, for the rest of its life).
   */
  answer(head: RequestHead, socket: TLSSocket): FastServed | undefined;
  /** Called once `served` was written for `head` (metrics, access log); `started` is `performance.now()` at the head's parse. */
  served(head: RequestHead, served: FastServed, started: number, socket: TLSSocket): void;
  /** Gives `socket` to the full HTTP/1.1 server; the bytes it has not consumed were put back on the socket. */
  handOver(socket: TLSSocket): void;
}

/** A fast answer and what the edge records about it. */
export interface FastServed {
  readonly answer: ReadyAnswer;
  /** The route of the request's host (undefined: a health path). */
  readonly route: HostRoute | undefined;
  /** The normalised Host. */
  readonly host: string;
}

/** Settings of {@link Http1FastPath}. */
export interface FastPathOptions {
  /** Largest request head the fast path reads (bytes); beyond it the full server answers (431). */
  readonly maxHeaderBytes: number;
  /** Idle time before a connection is closed (ms), as the full server's `timeout`. */
  readonly idleTimeoutMs: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Bytes of a request kept while its connection waits for the client to read earlier responses. */
const WAITING = Symbol('fastPath.waiting');
type FastSocket = TLSSocket & { [WAITING]?: Buffer };

/**
 * An HTTP/1.1 server for the common case only, on TLS sockets: complete GET/HEAD request heads
 * read from the socket's bytes ({@link parseRequestHead}), answered with a precomputed head and
 * body in one write, pipelined requests in order, `Connection: close` honoured. Anything else (a
 * head split across reads, larger than `maxHeaderBytes`, not plain, or a request the host does
 * not answer) gives the connection to the full server at that request: the unread bytes are put
 * back with `unshift` before {@link FastPathHost.handOver}, so nothing is lost or reordered and
 * answers already written go first. While the client does not read (write backpressure) the
 * remaining requests wait and the socket stops reading. Listeners are shared by all connections.
 */
export class Http1FastPath {
  private readonly onData: (this: FastSocket, chunk: Buffer) => void;
  private readonly onDrain: (this: FastSocket) => void;
  private readonly onTimeout: (this: FastSocket) => void;
  private readonly onError: (this: FastSocket) => void;

  constructor(private readonly host: FastPathHost, private readonly heads: ResponseHeads, private readonly options: FastPathOptions) {
    const fast = this;
    this.onData = function onFastData(this: FastSocket, chunk: Buffer) { fast.read(this, chunk, 0); };
    this.onDrain = function onFastDrain(this: FastSocket) { fast.drained(this); };
    // As the full server: an idle connection (no request in progress here) is closed.
    this.onTimeout = function onFastTimeout(this: FastSocket) { this.destroy(); };
    // The socket is destroyed by the stream itself; the listener keeps the error from being thrown.
    this.onError = function onFastError(this: FastSocket) { this.destroy(); };
  }

  /** Starts serving an established HTTP/1.x connection. */
  serve(socket: TLSSocket): void {
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
    socket.on('data', this.onData);
  }

  /** Answers the complete requests in `chunk` from `offset` on. */
  private read(socket: FastSocket, chunk: Buffer, offset: number): void {
    let at = offset;
    while (at < chunk.length) {
      if (socket.writableNeedDrain) {
        // The client has not read the previous answers yet: answer nothing more (and read
        // nothing more) until it has, so pipelined requests cannot pile answers up in memory.
        socket[WAITING] = chunk.subarray(at);
        socket.pause();
        return;
      }
      const started = performance.now();
      const end = chunk.indexOf(HEAD_END, at);
      if (end < 0 || end - at > this.options.maxHeaderBytes) return this.handOver(socket, chunk, at);
      const head = parseRequestHead(chunk.toString('latin1', at, end));
      const served = head && this.host.answer(head, socket);
      if (!head || !served) return this.handOver(socket, chunk, at);
      this.write(socket, head, served.answer);
      this.host.served(head, served, started, socket);
      at = end + 4;
      if (head.close) return this.closeAfterWrite(socket);
    }
  }

  private write(socket: TLSSocket, head: RequestHead, answer: ReadyAnswer): void {
    const text = this.heads.render(answer, head.close);
    const body = head.method === 'HEAD' ? undefined : answer.body;
    if (body === undefined || body.length === 0) {
      socket.write(text, 'latin1');
      return;
    }
    // One write of head and body (TLS records and TCP segments are not split between them).
    socket.cork();
    socket.write(text, 'latin1');
    socket.write(body);
    socket.uncork();
  }

  private drained(socket: FastSocket): void {
    const waiting = socket[WAITING];
    if (waiting === undefined) return;
    socket[WAITING] = undefined;
    this.read(socket, waiting, 0);
    // Unless it waits again, read on (after a hand-over or close, resuming again is harmless).
    if (socket[WAITING] === undefined) socket.resume();
  }

  /** As the full server after a `Connection: close` answer: ends the connection and discards what follows. */
  private closeAfterWrite(socket: FastSocket): void {
    this.detach(socket);
    socket.on('error', this.onError);
    socket.end();
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', destroySocket);
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
    // Paused, the bytes put back stay buffered until the full server listens; resuming then
    // delivers them before anything read later.
    socket.pause();
    if (at < chunk.length) socket.unshift(chunk.subarray(at));
    this.host.handOver(socket);
    socket.resume();
  }

  private detach(socket: FastSocket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('drain', this.onDrain);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('error', this.onError);
    socket.setTimeout(0);
  }
}

function destroySocket(this: TLSSocket): void {
  this.destroy();
}
