import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AppError, type HostScope } from '../core/index.ts';
import { TLS_OPTIONS, type CertCache } from './cert-cache.ts';
import { EdgeErrors } from './errors.ts';
import { normaliseHostHeader, type HostRouter } from './host-router.ts';

/** A request handler of a routed host; works with HTTP/1.1 and HTTP/2 (compat) objects. */
export type ScopedHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, scope: HostScope) => void;

/** Dependencies and settings of {@link EdgeServer}. */
export interface EdgeServerDeps {
  readonly certs: CertCache;
  readonly router: HostRouter;
  readonly cdn: ScopedHandler;
  readonly api: ScopedHandler;
  readonly listen: { readonly host: string; readonly port: number };
  readonly logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Time allowed for a whole request (ms, default 30 000). */
  readonly requestTimeoutMs?: number;
}

/**
 * The HTTPS edge: TLS 1.2/1.3 with ALPN `h2` and `http/1.1`, the certificate chosen by SNI from
 * the in-memory {@link CertCache} (unknown or missing SNI → the handshake fails; no certificate of
 * another host is ever presented), then the request routed by Host/`:authority` to the CDN or API
 * handler of that host. A Host whose scope differs from the SNI's is refused with 421; an unknown
 * Host gets 404 without hinting which hosts exist.
 */
export class EdgeServer {
  private server: Http2SecureServer | null = null;

  constructor(private readonly deps: EdgeServerDeps) {}

  /** Starts listening; rejects with `ERR_EDGE_LISTEN_FAILED` when the address cannot be bound. */
  async start(): Promise<void> {
    const { certs } = this.deps;
    const server = createSecureServer({
      ...TLS_OPTIONS,
      allowHTTP1: true,
      SNICallback: (servername, cb) => {
        const ctx = certs.contextFor(servername.toLowerCase().replace(/\.$/, ''));
        if (ctx) cb(null, ctx);
        else cb(new Error(`no certificate for ${servername}`));
      },
    });
    server.on('request', (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => this.route(req, res));
    server.on('tlsClientError', () => {
      // Failed handshakes (unknown SNI, scanners) are expected noise; counted by metrics later.
    });
    server.setTimeout(this.deps.requestTimeoutMs ?? 30_000);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new AppError(EdgeErrors.LISTEN_FAILED, `cannot listen on ${this.deps.listen.host}:${this.deps.listen.port}: ${err.message}`, { cause: err })));
      server.listen(this.deps.listen.port, this.deps.listen.host, () => resolve());
    });
    this.server = server;
  }

  /** The bound address (port 0 → the ephemeral port chosen). */
  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null;
    return { host: a?.address ?? this.deps.listen.host, port: a?.port ?? this.deps.listen.port };
  }

  /** Stops accepting connections and closes idle ones. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private route(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    const headers = req.headers as Record<string, string | undefined>;
    const host = normaliseHostHeader(headers[':authority'] ?? headers.host);
    const route = this.deps.router.get(host);
    if (!route) return sendError(res, new AppError(EdgeErrors.UNKNOWN_HOST));
    const sni = (req.socket as TLSSocket | undefined)?.servername;
    if (typeof sni === 'string' && sni !== '') {
      const sniRoute = this.deps.router.get(sni.toLowerCase());
      if (!sniRoute || !sameScope(sniRoute.scope, route.scope)) return sendError(res, new AppError(EdgeErrors.MISDIRECTED));
    }
    try {
      if (route.kind === 'cdn') this.deps.cdn(req, res, route.scope);
      else this.deps.api(req, res, route.scope);
    } catch (err) {
      this.deps.logger?.error({ err, host }, 'edge handler threw');
      sendError(res, err);
    }
  }
}

function sameScope(a: HostScope, b: HostScope): boolean {
  return a.cdnHost === b.cdnHost && a.apiHost === b.apiHost;
}

function sendError(res: ServerResponse | Http2ServerResponse, err: unknown): void {
  const e = err instanceof AppError ? err : new AppError(EdgeErrors.UNKNOWN_HOST, 'internal error');
  const status = err instanceof AppError ? e.httpStatus : 500;
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  (res as ServerResponse).writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
