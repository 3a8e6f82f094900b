import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import { DnsMetricsRecorder, type DnsMetrics } from './metrics.ts';
import { createResponder, type Responder } from './responder.ts';
import { ResponseRateLimiter, truncatedCopy, type RrlOptions } from './rrl.ts';
import { FrameReader, frame } from './tcp-framing.ts';
import { createTransferResponder, type TransferPolicy, type TransferResponder } from './zone-transfer.ts';
import type { DnsListen, DnsLogger, DnsTransport } from './types.ts';
import type { ZoneTable } from './zone-table.ts';

/** Options of {@link DnsServer}. */
export interface DnsServerOptions {
  /** The zones answered; read on every query, so changes apply to the next one. */
  readonly table: ZoneTable;
  /** Addresses to serve on; each gets a UDP and a TCP socket on the same port (0 = ephemeral). */
  readonly listen: readonly DnsListen[];
  /** Structured logger (pino-compatible); default: silent. */
  readonly logger?: DnsLogger;
  /** Close a TCP connection after this long without traffic (default 10 000 ms, RFC 7766 §6.2.3). */
  readonly tcpIdleTimeoutMs?: number;
  /** TCP connections accepted at once over all addresses; more are closed at accept (default 1 000). */
  readonly maxTcpConnections?: number;
  /** Requested kernel receive buffer of each UDP socket in bytes (default 4 MiB, capped by the OS). */
  readonly udpReceiveBufferBytes?: number;
  /** Zone transfers (AXFR over TCP, RFC 5936) and who may make them; default none (REFUSED). */
  readonly transfer?: TransferPolicy;
  /** Response-rate limiting of UDP answers per client prefix; default off. */
  readonly rrl?: RrlOptions;
}

interface Endpoint { readonly host: string; readonly udp: dgram.Socket; readonly tcp: net.Server }

const SILENT: DnsLogger = { info() {}, warn() {}, debug() {}, error() {} };
const EPHEMERAL_TRIES = 8;

/**
 * firstparty's authoritative DNS server: UDP and TCP on every listen address, answering from a
 * {@link ZoneTable} (see `createResponder` for the protocol rules). Nothing thrown while answering
 * escapes a socket handler: an unexpected failure becomes SERVFAIL and an error log.
 */
export class DnsServer {
  readonly #opts: DnsServerOptions;
  readonly #log: DnsLogger;
  readonly #metrics = new DnsMetricsRecorder();
  readonly #respond: Responder;
  readonly #transfer: TransferResponder | undefined;
  readonly #rrl: ResponseRateLimiter | undefined;
  readonly #tcpSockets = new Set<net.Socket>();
  #endpoints: Endpoint[] = [];

  constructor(opts: DnsServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? SILENT;
    this.#respond = createResponder(opts.table, this.#metrics, (err) => this.#log.error({ err }, 'dns answer failed'));
    this.#transfer = opts.transfer ? createTransferResponder(opts.table, opts.transfer, this.#metrics) : undefined;
    this.#rrl = opts.rrl && opts.rrl.responsesPerSecond > 0 ? new ResponseRateLimiter(opts.rrl) : undefined;
  }

  /**
   * Binds UDP then TCP on every listen address. Rejects with `ERR_DNS_BIND_FAILED` (details: host,
   * port, transport, errno code) when a bind fails, after closing whatever was already bound.
   * Resolves at once if already started.
   */
  async start(): Promise<void> {
    if (this.#endpoints.length > 0) return;
    try {
      for (const l of this.#opts.listen) this.#endpoints.push(await this.#bindEndpoint(l));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#log.info({ addresses: this.addresses() }, 'dns server listening');
  }

  /** Stops listening, ends open TCP connections, and resolves once every socket is closed. */
  async close(): Promise<void> {
    const endpoints = this.#endpoints;
    this.#endpoints = [];
    for (const s of this.#tcpSockets) s.destroy();
    await Promise.all(endpoints.map((e) => closeEndpoint(e)));
  }

  /** The bound addresses, with the actual port where 0 was asked. Empty before start. */
  addresses(): DnsListen[] {
    return this.#endpoints.map((e) => ({ host: e.host, port: e.udp.address().port }));
  }

  /** A snapshot of the counters (queries by type and rcode, latency histogram, TCP connections). */
  metrics(): DnsMetrics {
    return this.#metrics.snapshot();
  }

  async #bindEndpoint(l: DnsListen): Promise<Endpoint> {
    for (let attempt = 1; ; attempt++) {
      const udp = await this.#bindUdp(l);
      const port = udp.address().port;
      try {
        return { host: l.host, udp, tcp: await this.#bindTcp({ host: l.host, port }) };
      } catch (err) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        // With an ephemeral port the TCP twin may be taken: pick another pair.
        if (l.port !== 0 || attempt >= EPHEMERAL_TRIES || !isBindErrno(err, 'EADDRINUSE')) throw err;
      }
    }
  }

  #bindUdp(l: DnsListen): Promise<dgram.Socket> {
    const sock = dgram.createSocket({ type: net.isIPv6(l.host) ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      sock.once('error', (err) => {
        sock.close();
        reject(bindError(l, 'udp', err));
      });
      sock.bind(l.port, l.host, () => {
        sock.removeAllListeners('error');
        sock.on('error', (err) => this.#log.warn({ err, host: l.host }, 'dns udp socket error'));
        sock.on('message', (msg, rinfo) => this.#onUdp(sock, msg, rinfo));
        this.#setReceiveBuffer(sock);
        resolve(sock);
      });
    });
  }

  #setReceiveBuffer(sock: dgram.Socket): void {
    try {
      sock.setRecvBufferSize(this.#opts.udpReceiveBufferBytes ?? 4 * 1024 * 1024);
    } catch (err) {
      // The default kernel buffer still works; bursts may just lose more packets.
      this.#log.debug({ err }, 'dns udp receive buffer not enlarged');
    }
  }

  #bindTcp(l: DnsListen): Promise<net.Server> {
    const server = net.createServer({ noDelay: true }, (s) => this.#onTcpConnection(s));
    server.maxConnections = this.#opts.maxTcpConnections ?? 1000;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(bindError(l, 'tcp', err)));
      server.listen({ host: l.host, port: l.port, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.#log.warn({ err, host: l.host }, 'dns tcp server error'));
        resolve(server);
      });
    });
  }

  #answer(msg: Buffer, transport: DnsTransport): Buffer | null {
    const t0 = performance.now();
    const out = this.#respond(msg, transport);
    this.#metrics.recordLatency((performance.now() - t0) * 1000);
    return out;
  }

  #onUdp(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Port 0 cannot be answered (and dgram would throw): a forged source, drop it.
    if (rinfo.port === 0) return;
    let out = this.#answer(msg, 'udp');
    if (out === null) return;
    const action = this.#rrl?.check(rinfo.address) ?? 'send';
    if (action === 'drop') {
      this.#metrics.rateLimited++;
      return;
    }
    if (action === 'slip') {
      this.#metrics.rateLimited++;
      out = truncatedCopy(out);
    }
    try {
      sock.send(out, rinfo.port, rinfo.address);
    } catch (err) {
      // Only reachable once the socket is closing; the query is simply not answered.
      this.#log.debug({ err }, 'dns udp send failed');
    }
  }

  #onTcpConnection(sock: net.Socket): void {
    const m = this.#metrics;
    m.tcpOpen++;
    m.tcpAccepted++;
    this.#tcpSockets.add(sock);
    const reader = new FrameReader();
    sock.setTimeout(this.#opts.tcpIdleTimeoutMs ?? 10_000, () => {
      m.tcpTimedOut++;
      sock.destroy();
    });
    sock.on('data', (chunk: Buffer) => reader.push(chunk, (msg) => this.#onTcpMessage(sock, msg)));
    sock.on('drain', () => sock.resume());
    // A peer resetting the connection is routine; nothing to answer any more.
    sock.on('error', (err) => this.#log.debug({ err }, 'dns tcp connection error'));
    sock.on('close', () => {
      m.tcpOpen--;
      this.#tcpSockets.delete(sock);
    });
  }

  #onTcpMessage(sock: net.Socket, msg: Buffer): void {
    const transfer = this.#transferAnswer(sock, msg);
    if (transfer !== null) {
      for (const m of transfer) if (!sock.destroyed && !sock.write(frame(m))) sock.pause();
      return;
    }
    const out = this.#answer(msg, 'tcp');
    if (out === null || sock.destroyed) return;
    // Back-pressure: stop reading queries while answers are not being read (RFC 7766 §6.2.2).
    if (!sock.write(frame(out))) sock.pause();
  }

  #transferAnswer(sock: net.Socket, msg: Buffer): Buffer[] | null {
    if (this.#transfer === undefined) return null;
    try {
      return this.#transfer(msg, sock.remoteAddress ?? '');
    } catch (err) {
      // The ordinary responder then answers it (REFUSED for a transfer): nothing escapes the socket.
      this.#log.error({ err }, 'dns zone transfer failed');
      return null;
    }
  }
}

function bindError(l: DnsListen, transport: DnsTransport, err: NodeJS.ErrnoException): AppError {
  const code = err.code ?? 'UNKNOWN';
  return new AppError(DnsErrors.BIND_FAILED, `cannot bind DNS ${transport} on ${l.host}:${l.port}: ${code}`, {
    cause: err,
    details: { host: l.host, port: l.port, transport, code },
  });
}

function isBindErrno(err: unknown, errno: string): boolean {
  return err instanceof AppError && err.details?.['code'] === errno;
}

function closeEndpoint(e: Endpoint): Promise<void> {
  const udp = new Promise<void>((resolve) => e.udp.close(() => resolve()));
  const tcp = new Promise<void>((resolve) => e.tcp.close(() => resolve()));
  return Promise.all([udp, tcp]).then(() => undefined);
}
