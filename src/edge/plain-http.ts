import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { boundAddress, listenOn } from './listen.ts';
import { AppError } from '../core/index.ts';
import type { InheritedListener } from './edge-server.ts';
import type { ScopedHandler } from './handlers.ts';
import { EdgeErrors } from './errors.ts';
import { answerHealth, type Readiness } from './health.ts';
import { normaliseHostHeader, type HostRouter } from './host-router.ts';
import { DEFAULT_EDGE_LIMITS, type EdgeLimits } from './protection.ts';
import { pathOf, sendError } from './responses.ts';

/** Dependencies and settings of {@link PlainHttpServer}. */
export interface PlainHttpDeps {
  readonly router: HostRouter;
  /** Handler of the API host, used only when `allowPlainHttpApi` is true. */
  readonly api: ScopedHandler;
  readonly listen: { readonly host: string; readonly port: number };
  /** Whether API hosts are answered over plain HTTP (old server libraries). Default false: 403 `ERR_EDGE_HTTPS_REQUIRED`. */
  readonly allowPlainHttpApi?: boolean;
  /** Port of the HTTPS edge as clients reach it, for redirect targets. Default 443 (omitted from the URL). */
  readonly httpsPort?: number;
  /** Header size, body size and timeout limits; unset fields take {@link DEFAULT_EDGE_LIMITS}. */
  readonly limits?: Partial<EdgeLimits>;
}

/**
 * The plain-HTTP listener (usually port 80). A CDN host is redirected to HTTPS with 308 (RFC 9110
 * §15.4.9: method and body kept), path and query preserved. An API host is answered by the API
 * handler only when `allowPlainHttpApi` is set, and otherwise refused with 403 (a redirect would
 * hide that events already crossed the network in clear). Unknown hosts get 404; `/healthz` and
 * `/readyz` answer on any Host.
 */
export class PlainHttpServer {
  private server: Server | null = null;
  private readonly readiness: Readiness = { ready: false };

  constructor(private readonly deps: PlainHttpDeps) {}

  /**
   * Starts listening on `listen`, or on a listening handle handed over by a predecessor process
   * (see {@link EdgeServer.start}); rejects with `ERR_EDGE_LISTEN_FAILED` when the address cannot be bound.
   */
  async start(inherited?: InheritedListener): Promise<void> {
    const limits = { ...DEFAULT_EDGE_LIMITS, ...this.deps.limits };
    const server = createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: limits.idleTimeoutMs },
      (req, res) => this.handle(req, res));
    server.headersTimeout = limits.headersTimeoutMs;
    await listenOn(server, { at: this.deps.listen, inherited: inherited?.handle }, EdgeErrors.LISTEN_FAILED, 'plain HTTP');
    this.server = server;
    this.readiness.ready = true;
  }

  /** The listening server, to hand to a successor process with `child.send(message, server)`. */
  listener(): Server | null {
    return this.server;
  }

  /** The bound address (port 0 → the ephemeral port chosen). */
  address(): { host: string; port: number } {
    return boundAddress(this.server, this.deps.listen);
  }

  /** Stops accepting, closes idle keep-alive connections and waits for requests in progress. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.readiness.ready = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (answerHealth(pathOf(req.url), req, res, this.readiness)) return;
    const host = normaliseHostHeader(req.headers.host);
    const route = this.deps.router.get(host);
    if (!route) return sendError(req, res, new AppError(EdgeErrors.UNKNOWN_HOST));
    if (route.kind === 'api') {
      if (!this.deps.allowPlainHttpApi) return sendError(req, res, new AppError(EdgeErrors.HTTPS_REQUIRED));
      return this.deps.api(req, res, route.scope);
    }
    const port = this.deps.httpsPort ?? 443;
    const target = req.url?.startsWith('/') ? req.url : '/';
    res.statusCode = 308;
    res.setHeader('location', `https://${host}${port === 443 ? '' : `:${port}`}${target}`);
    res.setHeader('content-length', 0);
    res.end();
  }
}
