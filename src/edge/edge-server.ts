import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type ServerHttp2Session } from 'node:http2';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { boundAddress, listenOn } from './listen.ts';
import type { SecureContext, TLSSocket } from 'node:tls';
import { AppError, type HostScope, type PostHandler } from '../core/index.ts';
import type { CertCache } from './cert-cache.ts';
import { EdgeErrors } from './errors.ts';
import type { ReadyAnswer, ReadyHandler, ScopedHandler } from './handlers.ts';
import { answerHealth, healthAnswer, type Readiness } from './health.ts';
import { normaliseHostHeader, type HostRoute, type HostRouter } from './host-router.ts';
import { Http1FastPath, type FastDeferred, type FastPathHost, type FastServed } from './http1-fast-path.ts';
import { EdgeMetrics, type CounterSeries, type HistogramSeries } from './metrics.ts';
import { NativeConnections } from './native-connections.ts';
import { ConnectionGuard, DEFAULT_EDGE_LIMITS, type EdgeLimits } from './protection.ts';
import { RequestRecorder, type AccessLogger } from './request-log.ts';
import type { RequestHead } from './request-head.ts';
import { ResponseHeads } from './response-head.ts';
import { errorAnswer, pathOf, sendError, type EdgeRequest, type EdgeResponse } from './responses.ts';
import { securedResponseClass } from './secured-response.ts';

/** Dependencies and settings of {@link EdgeServer}. */
export interface EdgeServerDeps {
  readonly certs: CertCache;
  readonly router: HostRouter;
  /** The CDN hosts' handler; its `ready` answers, when it has them, are served by the HTTP/1.1 fast path. */
  readonly cdn: ReadyHandler;
  /** The API hosts' handler; the POSTs its `post` takes are served by the HTTP/1.1 fast path. */
  readonly api: ScopedHandler | PostHandler;
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
  readonly route: HostRoute | undefined;
  readonly started: number;
  readonly h2: boolean;
}
type Recorded = { [RECORD]?: RequestRecord };

/**
 * The HTTPS edge: TLS 1.2/1.3 with ALPN `h2`, `http/1.1` and `http/1.0`, the certificate chosen
 * by SNI from the in-memory {@link CertCache} (unknown SNI → the handshake fails; missing SNI →
 * fails, or the `fallbackHost`'s certificate; no certificate of another host is ever presented),
 * then the request routed by Host/`:authority` to the CDN or API handler of that host. A Host
 * whose scope differs from the SNI's is refused with 421 (RFC 9110 §15.5.20); an unknown Host
 * gets 404 without hinting which hosts exist. `/healthz` and `/readyz` answer on any Host. Every
 * response carries HSTS and `X-Content-Type-Options: nosniff`; limits answer 408, 413, 429 and
 * 431. HTTP/1.x connections start on the {@link Http1FastPath} (plain GET/HEAD of health paths
 * and of CDN answers ready in memory, same bytes as the full server) and move to Node's HTTP/1
 * server at the first request it does not answer. A connection beyond the per-address limit gets
 * 429 and is closed as soon as its handshake completes (HTTP/2: after its first answer).
 */
export class EdgeServer {
  /** Prometheus metrics of this edge; render them with `metrics.render()`. */
  readonly metrics: EdgeMetrics;
  private readonly limits: EdgeLimits;
  private readonly guard: ConnectionGuard;
  private readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  private readonly http1Response: typeof ServerResponse;
  private readonly heads: ResponseHeads;
  private readonly fastPath: Http1FastPath;
  private readonly requests: RequestRecorder;
  /** Shared listeners (one function per edge, none per connection or request); `this` is the emitter. */
  private readonly onH1SocketClose: (this: TLSSocket) => void;
  private readonly onResponseClose: (this: EdgeResponse) => void;
  private handshakesOk: CounterSeries | null = null;
  private handshakeSeconds: HistogramSeries | null = null;
  private readonly h1Sockets = new Set<TLSSocket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly readiness: Readiness = { ready: false };
  private server: Http2SecureServer | null = null;
  /** Node's connection handler, taken off the server so the edge chooses per connection; null: left in place. */
  private native: NativeConnections | null = null;
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
    this.heads = new ResponseHeads(this.securityHeaders, this.limits.idleTimeoutMs);
    const host: FastPathHost = {
      answer: (head, socket) => this.fastAnswer(head, socket),
      served: (head, served, started, socket) => {
        if (head.method === 'POST') this.settled(socket);
        this.requests.record(served.route, served.answer.status, started, served.host, head.method, head.target, 'http/1.1', socket);
      },
      unfinishedBody: (head, deferred, started, socket, why) => {
        this.settled(socket);
        const answer = this.unfinished(why);
        this.requests.record(deferred.route, answer.status, started, deferred.host, head.method, head.target, 'http/1.1', socket);
        return answer;
      },
      unfinishedHead: (_socket, why) => this.unfinished(why),
      closing: () => this.draining,
      handOver: (socket) => this.native?.http1(socket),
    };
    this.fastPath = new Http1FastPath(host, this.heads, this.limits);
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
    this.requests = new RequestRecorder(this.metrics, deps.accessLog, deps.logClientAddress ?? false);
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
      // As Node's HTTP servers: responses are whole writes, Nagle's algorithm would only delay them.
      noDelay: true,
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
      // A client's half-close ends the connection once the requests it sent are answered, not at
      // once (the sockets stay half-open from the fast path on).
      httpAllowHalfOpen: true,
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headersTimeoutMs / 4))),
    });
    server.setTimeout(limits.idleTimeoutMs);
    this.native = NativeConnections.takeOver(server);
    this.useFallbackCertificate(server);
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => this.handshakeFailed(err, socket));
    server.on('session', (session: ServerHttp2Session) => this.opened(session));
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
    const overLimit = this.guard.overLimit(socket.remoteAddress);
    if (overLimit) (socket as Marked)[OVER_LIMIT] = true;
    if (socket.alpnProtocol === 'h2') {
      this.native?.http2(socket);
      return;
    }
    this.h1Sockets.add(socket);
    socket.on('close', this.onH1SocketClose);
    // Without the native handler taken over, Node's own already serves this connection.
    if (!this.native) return;
    if (!overLimit) return this.fastPath.serve(socket);
    // Beyond the per-address limit: 429 at once, whatever the client sends, and closed.
    this.metrics.refused.inc(['per_address_limit']);
    this.fastPath.refuse(socket, errorAnswer(new AppError(EdgeErrors.TOO_MANY_CONNECTIONS), { 'retry-after': '1' }), this.limits.headersTimeoutMs);
  }

  private opened(session: ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (!(session.socket as unknown as Marked)[OVER_LIMIT]) return;
    // Beyond the per-address limit: streams get 429 and the session a GOAWAY after the first;
    // one that opens none is closed after the header timeout.
    const timer = setTimeout(() => session.close(), this.limits.headersTimeoutMs);
    timer.unref();
    session.once('close', () => clearTimeout(timer));
  }

  private handshakeFailed(err: Error & { code?: string }, socket: TLSSocket): void {
    const reason = err.code === 'ERR_EDGE_UNKNOWN_SNI' ? 'unknown_sni'
      : err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout'
        : err.code === 'ECONNRESET' ? 'reset'
          : !socket.servername ? 'no_sni' : 'protocol';
    this.metrics.handshakes.inc([reason]);
  }

  /**
   * The fast path's answer to `head`: a health path, a CDN answer ready in memory or an API POST
   * the API handler takes, on a correctly routed host.
   */
  private fastAnswer(head: RequestHead, socket: TLSSocket): FastServed | FastDeferred | undefined {
    // While draining, Node's server answers with `Connection: close`.
    if (this.draining) return undefined;
    const host = normaliseHostHeader(head.host);
    const health = healthAnswer(pathOf(head.target), this.readiness);
    if (health) return head.method === 'POST' ? undefined : { answer: health, route: undefined, host };
    if (head.method === 'POST') return this.fastPost(head, socket, host);
    const route = this.deps.router.get(host);
    const ready = this.deps.cdn.ready;
    if (route?.kind !== 'cdn' || ready === undefined || this.misdirected(socket, route)) return undefined;
    try {
      const answer = ready(head, route.scope);
      return answer && { answer, route, host };
    } catch (err) {
      // The full handler answers this request (a 500) and logs why.
      this.deps.logger?.warn({ err, host }, 'edge fast answer failed');
      return undefined;
    }
  }

  /** A POST to an API host that the API handler answers from head and body; the connection counts it in flight until it is answered. */
  private fastPost(head: RequestHead, socket: TLSSocket, host: string): FastDeferred | undefined {
    const route = this.deps.router.get(host);
    const post = 'post' in this.deps.api ? this.deps.api.post : undefined;
    if (route?.kind !== 'api' || post === undefined || head.contentLength > this.limits.maxBodyBytes || this.misdirected(socket, route)) return undefined;
    try {
      const responder = post(head, route.scope);
      if (responder === undefined) return undefined;
      const marked = socket as TLSSocket & Marked;
      marked[IN_FLIGHT] = (marked[IN_FLIGHT] ?? 0) + 1;
      return { respond: (body) => responder(body, socket.remoteAddress), route, host };
    } catch (err) {
      this.deps.logger?.warn({ err, host }, 'edge fast answer failed');
      return undefined;
    }
  }

  /** The answer to a request that will not complete: 408 (counted as refused) when it was late, 400 when the client ended first. */
  private unfinished(why: 'timeout' | 'ended'): ReadyAnswer {
    if (why === 'ended') return errorAnswer(new AppError(EdgeErrors.INCOMPLETE_REQUEST));
    this.metrics.refused.inc(['request_timeout']);
    return errorAnswer(new AppError(EdgeErrors.REQUEST_TIMEOUT));
  }

  /** A fast-path POST of `socket` is answered (or abandoned). */
  private settled(socket: TLSSocket): void {
    const marked = socket as TLSSocket & Marked;
    marked[IN_FLIGHT] = (marked[IN_FLIGHT] ?? 1) - 1;
  }

  /** Whether `route` is outside the scope of the connection's SNI name (or of the fallback host without SNI). */
  private misdirected(socket: TLSSocket, route: HostRoute): boolean {
    const sni = socket.servername || this.deps.fallbackHost;
    const sniRoute = sni ? this.deps.router.get(sni.toLowerCase()) : undefined;
    return !sniRoute || !sameScope(sniRoute.scope, route.scope);
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
  private dispatch(req: EdgeRequest, res: EdgeResponse, host: string, socket: Marked): HostRoute | undefined {
    const path = pathOf(req.url);
    if (answerHealth(path, req, res, this.readiness)) return undefined;
    if (socket[OVER_LIMIT]) {
      this.metrics.refused.inc(['per_address_limit']);
      res.setHeader('retry-after', '1');
      sendError(req, res, new AppError(EdgeErrors.TOO_MANY_CONNECTIONS));
      if (req.httpVersionMajor === 2) (req as Http2ServerRequest).stream.session?.close();
      return undefined;
    }
    if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > this.limits.maxHeaderBytes) {
      return void sendError(req, res, new AppError(EdgeErrors.HEADERS_TOO_LARGE));
    }
    const route = this.deps.router.get(host);
    if (!route) return void sendError(req, res, new AppError(EdgeErrors.UNKNOWN_HOST));
    if (this.misdirected(req.socket as TLSSocket, route)) return void sendError(req, res, new AppError(EdgeErrors.MISDIRECTED));
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
    const status = res.writableEnded ? res.statusCode : 0;
    this.requests.record(r.route, status, r.started, r.host, req.method, req.url, r.h2 ? 'h2' : 'http/1.1', req.socket);
  }
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
