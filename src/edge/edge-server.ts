import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { boundAddress, listenOn } from './listen.ts';
import type { SecureContext, TLSSocket } from 'node:tls';
import { AppError, type HostScope } from '../core/index.ts';
import type { CertCache } from './cert-cache.ts';
import { EdgeErrors } from './errors.ts';
import { answerHealth, type Readiness } from './health.ts';
import { normaliseHostHeader, type HostRouter } from './host-router.ts';
import { EdgeMetrics, type CounterSeries, type HistogramSeries } from './metrics.ts';
import { ConnectionGuard, DEFAULT_EDGE_LIMITS, type EdgeLimits } from './protection.ts';
import { pathOf, sendError, type EdgeRequest, type EdgeResponse } from './responses.ts';

/** A request handler of a routed host; works with HTTP/1.1 and HTTP/2 (compat) objects. */
export type ScopedHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, scope: HostScope) => void;

/** Where access log lines go (a pino logger or child). */
export interface AccessLogger {
  info(obj: object, msg?: string): void;
}

/** Dependencies and settings of {@link EdgeServer}. */
export interface EdgeServerDeps {
  readonly certs: CertCache;
  readonly router: HostRouter;
  readonly cdn: ScopedHandler;
  readonly api: ScopedHandler;
  readonly listen: { readonly host: string; readonly port: number };
  readonly logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Protection limits; unset fields take {@link DEFAULT_EDGE_LIMITS}. */
  readonly limits?: Partial<EdgeLimits>;
  /** One structured line per response (host, kind, method, path without query, status, ms, protocol). Default none. */
  readonly accessLog?: AccessLogger;
  /** Whether access log lines carry the client address (personal data in many jurisdictions). Default false. */
  readonly logClientAddress?: boolean;
  /** Host whose certificate answers handshakes without SNI (and whose scope such requests must be in). Default none: they fail. */
  readonly fallbackHost?: string;
  /** `Strict-Transport-Security` max-age (RFC 6797 §6.1.1) in seconds; 0 omits the header. Default 31 536 000. */
  readonly hstsMaxAgeSeconds?: number;
  /** Wall clock in ms for certificate expiry metrics. Default `Date.now`. */
  readonly now?: () => number;
}

/** A listening socket handed over by a predecessor process (zero-downtime restart), see {@link EdgeServer.start}. */
export interface InheritedListener {
  readonly handle: object;
}

// Per-connection marks. The TLS server exposes the accepted TCP socket of a TLS socket only as
// `_parent`; it is the one place the accept time can be read back at handshake completion.
const ACCEPTED_AT = Symbol('edge.acceptedAt');
const OVER_LIMIT = Symbol('edge.overLimit');
const IN_FLIGHT = Symbol('edge.inFlight');
const RESPONSE = Symbol('edge.response');
const RECORD = Symbol('edge.request');
type Marked = { [ACCEPTED_AT]?: number; [OVER_LIMIT]?: boolean; [IN_FLIGHT]?: number; [RESPONSE]?: EdgeResponse };

/** What a request's completion needs for metrics and the access log, kept on its response. */
interface RequestRecord {
  readonly req: EdgeRequest;
  readonly host: string;
  readonly route: ReturnType<HostRouter['get']>;
  readonly started: number;
  readonly h2: boolean;
}
type Recorded = { [RECORD]?: RequestRecord };

/** The request metrics of one (host kind, scope) pair, resolved once. */
interface RouteSeries {
  readonly seconds: HistogramSeries;
  readonly byStatus: Map<number, CounterSeries>;
}

/**
 * The HTTPS edge: TLS 1.2/1.3 with ALPN `h2` and `http/1.1`, the certificate chosen by SNI from
 * the in-memory {@link CertCache} (unknown SNI → the handshake fails; missing SNI → fails, or the
 * `fallbackHost`'s certificate; no certificate of another host is ever presented), then the
 * request routed by Host/`:authority` to the CDN or API handler of that host. A Host whose scope
 * differs from the SNI's is refused with 421 (RFC 9110 §15.5.20); an unknown Host gets 404 without
 * hinting which hosts exist. `/healthz` and `/readyz` answer on any Host. Every response carries
 * HSTS and `X-Content-Type-Options: nosniff`; limits answer 408, 413, 429 and 431.
 */
export class EdgeServer {
  /** Prometheus metrics of this edge; render them with `metrics.render()`. */
  readonly metrics: EdgeMetrics;
  private readonly limits: EdgeLimits;
  private readonly guard: ConnectionGuard;
  private readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  private readonly http1Response: typeof ServerResponse;
  /** Shared listeners (one function per edge, none per connection or request); `this` is the emitter. */
  private readonly onH1SocketClose: (this: TLSSocket) => void;
  private readonly onResponseClose: (this: EdgeResponse) => void;
  private handshakesOk: CounterSeries | null = null;
  private handshakeSeconds: HistogramSeries | null = null;
  private readonly routeSeries = new Map<string, RouteSeries>();
  private readonly h1Sockets = new Set<TLSSocket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly readiness: Readiness = { ready: false };
  private server: Http2SecureServer | null = null;
  private draining = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: EdgeServerDeps) {
    this.limits = { ...DEFAULT_EDGE_LIMITS, ...deps.limits };
    this.guard = new ConnectionGuard(this.limits.maxConnectionsPerAddress);
    const hsts = deps.hstsMaxAgeSeconds ?? 31_536_000;
    this.securityHeaders = [
      ...(hsts > 0 ? [['strict-transport-security', `max-age=${hsts}`] as const] : []),
      ['x-content-type-options', 'nosniff'],
    ];
    this.http1Response = securedResponseClass(this.securityHeaders);
    const h1Sockets = this.h1Sockets;
    this.onH1SocketClose = function onH1SocketClose(this: TLSSocket) { h1Sockets.delete(this); };
    const edge = this;
    this.onResponseClose = function onResponseClose(this: EdgeResponse) { edge.finished(this); };
    this.metrics = new EdgeMetrics({
      openConnections: () => this.guard.open(),
      secureContexts: () => deps.certs.contextCount(),
      certificates: () => deps.certs.certificates(),
      now: deps.now ?? Date.now,
    });
  }

  /**
   * Starts listening on `listen`, or on an inherited listening handle (a predecessor's
   * `server`, received with `process.on('message', (m, handle) => ...)`). Rejects with
   * `ERR_EDGE_LISTEN_FAILED` when the address cannot be bound.
   */
  async start(inherited?: InheritedListener): Promise<void> {
    const server = this.createServer();
    await listenOn(server, { at: this.deps.listen, inherited: inherited?.handle }, EdgeErrors.LISTEN_FAILED, 'HTTPS');
    this.server = server;
    this.readiness.ready = true;
  }

  /** The listening server, to hand to a successor process with `child.send('listen', server)`. */
  listener(): Http2SecureServer | null {
    return this.server;
  }

  /** The bound address (port 0 → the ephemeral port chosen). */
  address(): { host: string; port: number } {
    return boundAddress(this.server, this.deps.listen);
  }

  /** Whether `/readyz` answers 200 (true once listening, false once draining). */
  isReady(): boolean {
    return this.readiness.ready;
  }

  /**
   * Sets what `/readyz` answers while still serving everything: turn it off, wait for the load
   * balancer to notice, then {@link close}, so no new client is sent to a closing listener.
   */
  setReady(ready: boolean): void {
    this.readiness.ready = ready && this.server !== null;
  }

  /**
   * Drains, then closes: stops accepting, turns `/readyz` to 503, sends HTTP/2 GOAWAY
   * (RFC 9113 §6.8) to every session, closes idle HTTP/1.1 connections and answers requests in
   * progress with `Connection: close`; connections still open after `graceMs` (default 10 000)
   * are destroyed. Resolves when every connection is gone.
   */
  async close(graceMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.readiness.ready = false;
    this.draining = true;
    this.unsubscribe?.();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const socket of this.h1Sockets) {
      const marked = socket as TLSSocket & Marked;
      if (!marked[IN_FLIGHT]) socket.end();
      else if (marked[RESPONSE] && !marked[RESPONSE].headersSent) marked[RESPONSE].setHeader('connection', 'close');
    }
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
      for (const socket of this.h1Sockets) socket.destroy();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  private createServer(): Http2SecureServer {
    const { certs } = this.deps;
    const limits = this.limits;
    const server = createSecureServer({
      ...certs.tlsOptions,
      allowHTTP1: true,
      // HTTP/1.1 responses add the security headers in writeHead (Node's fast header path).
      Http1ServerResponse: this.http1Response,
      handshakeTimeout: limits.handshakeTimeoutMs,
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
      SNICallback: (servername, cb) => this.sni(servername, cb),
    });
    // HTTP/1.1 fallback settings, read from the server object by Node's HTTP/1 connection code.
    Object.assign(server, {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headersTimeoutMs / 4))),
    });
    server.setTimeout(limits.idleTimeoutMs);
    this.useFallbackCertificate(server);
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => this.handshakeFailed(err, socket));
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    server.on('request', (req: EdgeRequest, res: EdgeResponse) => this.handle(req, res));
    return server;
  }

  private sni(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void {
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const ctx = this.deps.certs.contextFor(name);
    if (ctx) cb(null, ctx);
    else cb(Object.assign(new Error('unknown server name'), { code: 'ERR_EDGE_UNKNOWN_SNI' }));
  }

  /** Without SNI no SNICallback runs: the server's own context answers, carrying the fallback host's certificate or none. */
  private useFallbackCertificate(server: Http2SecureServer): void {
    const host = this.deps.fallbackHost;
    if (!host) return;
    const apply = () => {
      const cert = this.deps.certs.get(host);
      if (cert) server.setSecureContext({ ...this.deps.certs.tlsOptions, cert: cert.certPem + (cert.chainPem ? `\n${cert.chainPem}` : ''), key: cert.keyPem });
    };
    apply();
    this.unsubscribe = this.deps.certs.subscribe((names) => { if (names.includes(host)) apply(); });
  }

  private accept(socket: Socket): void {
    (socket as Marked)[ACCEPTED_AT] = performance.now();
    if (this.guard.admit(socket) === 'flood') {
      this.metrics.refused.inc(['per_address_flood']);
      socket.destroy();
    }
  }

  private secured(socket: TLSSocket): void {
    const parent = (socket as TLSSocket & { _parent?: Marked })._parent;
    const acceptedAt = parent?.[ACCEPTED_AT];
    if (acceptedAt !== undefined) (this.handshakeSeconds ??= this.metrics.handshakeSeconds.child([])).observe((performance.now() - acceptedAt) / 1000);
    (this.handshakesOk ??= this.metrics.handshakes.child(['ok'])).inc();
    if (this.guard.overLimit(socket.remoteAddress)) (socket as Marked)[OVER_LIMIT] = true;
    if (socket.alpnProtocol !== 'h2') {
      this.h1Sockets.add(socket);
      socket.on('close', this.onH1SocketClose);
    }
  }

  private handshakeFailed(err: Error & { code?: string }, socket: TLSSocket): void {
    const reason = err.code === 'ERR_EDGE_UNKNOWN_SNI' ? 'unknown_sni'
      : err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout'
        : err.code === 'ECONNRESET' ? 'reset'
          : !socket.servername ? 'no_sni' : 'protocol';
    this.metrics.handshakes.inc([reason]);
  }

  private handle(req: EdgeRequest, res: EdgeResponse): void {
    const started = performance.now();
    const h2 = req.httpVersionMajor === 2;
    const socket = req.socket as Marked;
    if (!h2) {
      socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
      socket[RESPONSE] = res;
      if (this.draining) res.setHeader('connection', 'close');
    } else {
      for (const [name, value] of this.securityHeaders) res.setHeader(name, value);
      req.setTimeout(this.limits.requestTimeoutMs, () => this.timedOut(req, res));
    }
    const host = normaliseHostHeader((req.headers[':authority'] as string | undefined) ?? req.headers.host);
    const route = this.dispatch(req, res, host, socket);
    (res as EdgeResponse & Recorded)[RECORD] = { req, host, route, started, h2 };
    res.on('close', this.onResponseClose);
  }

  /** Answers or hands over one request; returns the route kind for metrics. */
  private dispatch(req: EdgeRequest, res: EdgeResponse, host: string, socket: Marked): ReturnType<HostRouter['get']> {
    const path = pathOf(req.url);
    if (answerHealth(path, req, res, this.readiness)) return undefined;
    if (socket[OVER_LIMIT]) {
      this.metrics.refused.inc(['per_address_limit']);
      res.setHeader('retry-after', '1');
      sendError(req, res, new AppError(EdgeErrors.TOO_MANY_CONNECTIONS));
      return undefined;
    }
    if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > this.limits.maxHeaderBytes) {
      return void sendError(req, res, new AppError(EdgeErrors.HEADERS_TOO_LARGE));
    }
    const route = this.deps.router.get(host);
    if (!route) return void sendError(req, res, new AppError(EdgeErrors.UNKNOWN_HOST));
    const sni = (req.socket as TLSSocket).servername || this.deps.fallbackHost;
    const sniRoute = sni ? this.deps.router.get(sni.toLowerCase()) : undefined;
    if (!sniRoute || !sameScope(sniRoute.scope, route.scope)) return void sendError(req, res, new AppError(EdgeErrors.MISDIRECTED));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.limits.maxBodyBytes) return void sendError(req, res, new AppError(EdgeErrors.BODY_TOO_LARGE));
    try {
      if (route.kind === 'cdn') this.deps.cdn(req, res, route.scope);
      else this.deps.api(req, res, route.scope);
    } catch (err) {
      this.deps.logger?.error({ err, host }, 'edge handler threw');
      sendError(req, res, err);
    }
    return route;
  }

  private timedOut(req: EdgeRequest, res: EdgeResponse): void {
    this.metrics.refused.inc(['request_timeout']);
    if (!res.headersSent) sendError(req, res, new AppError(EdgeErrors.REQUEST_TIMEOUT));
    else res.end();
  }

  private finished(res: EdgeResponse): void {
    const r = (res as EdgeResponse & Recorded)[RECORD];
    if (!r) return;
    const req = r.req;
    if (!r.h2) {
      const socket = req.socket as Marked & TLSSocket;
      socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
      if (socket[RESPONSE] === res) socket[RESPONSE] = undefined;
      if (this.draining && socket[IN_FLIGHT] === 0) socket.end();
    }
    const seconds = (performance.now() - r.started) / 1000;
    const kind = r.route?.kind ?? 'none';
    const scope = r.route?.scope.kind ?? 'none';
    const status = res.writableEnded ? res.statusCode : 0;
    const series = this.seriesOf(kind, scope);
    let counter = series.byStatus.get(status);
    if (!counter) {
      counter = this.metrics.requests.child([kind, scope, String(status)]);
      series.byStatus.set(status, counter);
    }
    counter.inc();
    series.seconds.observe(seconds);
    this.deps.accessLog?.info({
      host: r.host, kind, scope, method: req.method, path: pathOf(req.url), status, ms: Math.round(seconds * 10_000) / 10,
      proto: r.h2 ? 'h2' : 'http/1.1', ...(this.deps.logClientAddress ? { client: req.socket.remoteAddress } : {}),
    }, 'request');
  }

  private seriesOf(kind: string, scope: string): RouteSeries {
    const key = `${kind}\u0000${scope}`;
    let series = this.routeSeries.get(key);
    if (!series) {
      series = { seconds: this.metrics.requestSeconds.child([kind, scope]), byStatus: new Map() };
      this.routeSeries.set(key, series);
    }
    return series;
  }
}

/**
 * The HTTP/1.1 response class of the edge: `writeHead` adds the security headers a response does
 * not set itself, so handlers can pass all their headers to `writeHead` and keep Node's fast path
 * (no `setHeader` before it). A frozen headers object (a prepared asset's) is merged once and
 * the merge remembered; any other is merged per call.
 */
function securedResponseClass(security: ReadonlyArray<readonly [string, string]>): typeof ServerResponse {
  const merged = new WeakMap<object, OutgoingHttpHeaders>();
  const base = ServerResponse.prototype.writeHead as (this: ServerResponse, statusCode: number, ...rest: unknown[]) => ServerResponse;
  /** `headers` plus the security headers absent from it and from the progressive headers (names compared case-insensitively). */
  const withSecurity = (res: ServerResponse, headers: unknown): unknown => {
    if (headers === undefined || headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
      for (const [name, value] of security) if (!res.hasHeader(name)) res.setHeader(name, value);
      return headers;
    }
    let progressive = false;
    for (const [name] of security) if (res.hasHeader(name)) progressive = true;
    const frozen = !progressive && Object.isFrozen(headers);
    const known = frozen ? merged.get(headers) : undefined;
    if (known) return known;
    const names = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of security) if (!names.has(name) && !res.hasHeader(name)) out[name] = value;
    Object.assign(out, headers);
    if (frozen) merged.set(headers, Object.freeze(out));
    return out;
  };
  class EdgeHttp1Response extends ServerResponse {}
  EdgeHttp1Response.prototype.writeHead = function writeHead(this: ServerResponse, statusCode: number, a?: unknown, b?: unknown) {
    return typeof a === 'string'
      ? base.call(this, statusCode, a, withSecurity(this, b) as OutgoingHttpHeaders)
      : base.call(this, statusCode, withSecurity(this, a) as OutgoingHttpHeaders);
  } as ServerResponse['writeHead'];
  return EdgeHttp1Response as unknown as typeof ServerResponse;
}

/**
 * Size of a header list as RFC 9113 §6.5.2 counts it (name + value + 32 per field). nghttp2
 * advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not refuse larger lists, so the edge does.
 */
function headerListSize(raw: readonly string[]): number {
  let n = 0;
  for (const field of raw) n += field.length;
  return n + 16 * raw.length;
}

function sameScope(a: HostScope, b: HostScope): boolean {
  return a.cdnHost === b.cdnHost && a.apiHost === b.apiHost;
}
