import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { parseHostname, type HostScope, type Hostname } from '../core/index.ts';
import { createLocalCaIssuer, type LocalCaIssuer } from '../certs/index.ts';
import { CertCache, type CertCacheOptions, type EdgeCertificate } from './cert-cache.ts';
import { EdgeServer, type EdgeServerDeps } from './edge-server.ts';
import type { ScopedHandler } from './handlers.ts';
import { HostRouter } from './host-router.ts';

/** Test-only: the operator's default hosts. */
export const DEFAULT: HostScope = { kind: 'default', cdnHost: 'cdn.fp.test', apiHost: 'api.fp.test' };
/** Test-only: workspace A's custom domain. */
export const SHOP_A: HostScope = { kind: 'custom', domainId: 'dom_a', cdnHost: 'cdn.cdp.a-shop.test', apiHost: 'api.cdp.a-shop.test', sourceIds: new Set(['src_a']) };
/** Test-only: workspace B's custom domain. */
export const SHOP_B: HostScope = { kind: 'custom', domainId: 'dom_b', cdnHost: 'cdn.cdp.b-shop.test', apiHost: 'api.cdp.b-shop.test', sourceIds: new Set(['src_b']) };

/** Test-only: a handler answering JSON that names the handler, scope and protocol it saw. */
export function echoHandler(kind: 'cdn' | 'api'): ScopedHandler {
  return (req, res, scope) => {
    const body = JSON.stringify({ kind, cdnHost: scope.cdnHost, httpVersion: req.httpVersion });
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
}

/** Test-only: a local CA in a temp folder issuing edge certificates. */
export interface TestPki {
  readonly ca: LocalCaIssuer;
  readonly rootPath: string;
  issue(id: string, names: readonly string[]): Promise<EdgeCertificate>;
  close(): Promise<void>;
}

/** Test-only: creates a {@link TestPki}. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-edge-'));
  const ca = await createLocalCaIssuer({ dataDir: dir });
  return {
    ca, rootPath: ca.rootPath,
    async issue(id, names) {
      const hostnames = names.map((n) => { const r = parseHostname(n); if (!r.ok) throw new Error(r.message); return r.value; }) as Hostname[];
      const c = await ca.issue(hostnames);
      return { id, names: hostnames, certPem: c.certPem, chainPem: c.chainPem, keyPem: c.keyPem, notAfter: c.notAfter };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Test-only: an edge on 127.0.0.1:0 serving {@link DEFAULT}, {@link SHOP_A} and {@link SHOP_B}. */
export interface TestEdge {
  readonly edge: EdgeServer;
  readonly certs: CertCache;
  readonly router: HostRouter;
  readonly pki: TestPki;
  readonly port: number;
  close(): Promise<void>;
}

/** Test-only: starts a {@link TestEdge}; `deps` overrides handlers and settings. */
export async function startTestEdge(deps: Partial<EdgeServerDeps> = {}, cacheOptions: CertCacheOptions = {}): Promise<TestEdge> {
  const pki = await createTestPki();
  const certs = deps.certs ?? new CertCache(cacheOptions);
  const router = deps.router ?? new HostRouter();
  for (const [id, scope] of [['default', DEFAULT], ['a', SHOP_A], ['b', SHOP_B]] as const) {
    certs.install(await pki.issue(id, [scope.cdnHost, scope.apiHost]));
    router.add(scope);
  }
  const edge = new EdgeServer({ cdn: echoHandler('cdn'), api: echoHandler('api'), listen: { host: '127.0.0.1', port: 0 }, ...deps, certs, router });
  await edge.start();
  return {
    edge, certs, router, pki, port: edge.address().port,
    async close() {
      await edge.close(1_000);
      await pki.close();
    },
  };
}

/** Test-only: what curl reported; `exitCode` 0 on success (35: TLS handshake failed). */
export interface CurlResult {
  readonly exitCode: number;
  readonly status: number;
  readonly httpVersion: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly stderr: string;
}

/**
 * Test-only: runs curl against `https://<host>:<port><path>` resolved to 127.0.0.1, trusting
 * `caPath`; `args` adds flags (e.g. `--http2`, `-H`). Never rejects: failures are in `exitCode`.
 */
export function curl(host: string, port: number, path: string, caPath: string, args: readonly string[] = [], scheme = 'https'): Promise<CurlResult> {
  const marker = '\n__CURL__';
  const argv = ['-sS', '--max-time', '10', '--resolve', `${host}:${port}:127.0.0.1`, '--cacert', caPath,
    '-w', `${marker}%{http_code} %{http_version} %{header_json}`, ...args, `${scheme}://${host}:${port}${path}`];
  return new Promise((resolve) => {
    execFile('curl', argv, { timeout: 15_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const at = stdout.lastIndexOf(marker);
      const tail = at >= 0 ? stdout.slice(at + marker.length) : '0  {}';
      const [status, httpVersion] = tail.split(' ', 2);
      const headers: Record<string, string> = {};
      const json = JSON.parse(tail.slice(tail.indexOf('{')) || '{}') as Record<string, string[]>;
      for (const [name, values] of Object.entries(json)) headers[name.toLowerCase()] = values.join(', ');
      const exitCode = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ exitCode, status: Number(status), httpVersion: httpVersion ?? '', headers, body: at >= 0 ? stdout.slice(0, at) : stdout, stderr });
    });
  });
}

/** Test-only: the certificate presented for `servername` (undefined → no SNI sent), or the handshake error. */
export function peerCertificate(port: number, servername: string | undefined, caPem: string): Promise<PeerCertificate | Error> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: caPem, ...(servername ? { servername } : {}), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', (err) => resolve(err));
  });
}
