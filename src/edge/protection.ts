import type { Socket } from 'node:net';

/** Protection limits of the edge; every field documents its default and unit. */
export interface EdgeLimits {
  /** Largest request header section (bytes; HTTP/1.1 → 431, HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE). Default 16 384. */
  readonly maxHeaderBytes: number;
  /** Largest declared request body (bytes; Content-Length above → 413). Handlers bound streamed bodies themselves. Default 1 048 576. */
  readonly maxBodyBytes: number;
  /** Time to receive a request's header section (ms; HTTP/1.1 → 408, slowloris). Default 10 000. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request (ms; → 408). Default 30 000. */
  readonly requestTimeoutMs: number;
  /** Idle time before a keep-alive connection or HTTP/2 session is closed (ms). Default 60 000. */
  readonly idleTimeoutMs: number;
  /** Time allowed for a TLS handshake (ms). Default 10 000. */
  readonly handshakeTimeoutMs: number;
  /** Open connections per client address; requests on connections beyond it get 429, beyond twice it the connection is closed at accept. Default 256. */
  readonly maxConnectionsPerAddress: number;
  /** Concurrent HTTP/2 streams per session (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS). Default 128. */
  readonly maxConcurrentStreams: number;
}

/** The defaults of {@link EdgeLimits}. */
export const DEFAULT_EDGE_LIMITS: EdgeLimits = Object.freeze({
  maxHeaderBytes: 16_384,
  maxBodyBytes: 1_048_576,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  maxConnectionsPerAddress: 256,
  maxConcurrentStreams: 128,
});

/** How {@link ConnectionGuard.admit} judged a new connection. */
export type Admission = 'ok' | 'flood';

/**
 * Counts open TCP connections per client address. Connections of an address beyond the limit
 * are admitted ({@link overLimit} tells the caller to answer their requests with 429, a clear
 * answer); beyond twice the limit a new one is a `flood` and the caller closes it before any TLS
 * work is spent on it.
 */
export class ConnectionGuard {
  private readonly perAddress = new Map<string, number>();
  private openCount = 0;
  /**
   * One `close` listener shared by every admitted socket (no closure per connection). The
   * address is read back from the socket: `net.Socket` keeps the peer name it returned once.
   */
  private readonly onClose: (this: Socket) => void;

  constructor(private readonly maxPerAddress: number) {
    const guard = this;
    this.onClose = function onGuardedSocketClose(this: Socket) { guard.release(this.remoteAddress ?? ''); };
  }

  /** Registers a newly accepted socket (released when it closes) and judges it. */
  admit(socket: Socket): Admission {
    const address = socket.remoteAddress ?? '';
    const n = (this.perAddress.get(address) ?? 0) + 1;
    this.perAddress.set(address, n);
    this.openCount += 1;
    socket.on('close', this.onClose);
    return n > 2 * this.maxPerAddress ? 'flood' : 'ok';
  }

  /** Whether `address` has more open connections than the limit. */
  overLimit(address: string | undefined): boolean {
    return (this.perAddress.get(address ?? '') ?? 0) > this.maxPerAddress;
  }

  /** Open connections right now. */
  open(): number {
    return this.openCount;
  }

  private release(address: string): void {
    this.openCount -= 1;
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }
}
