import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock, type HostScope, type LoggedEvent, type Source } from '../core/index.ts';
import { openSqliteStore, type EventLog, type Store } from '../store/index.ts';
import { createIngestHandler, type StoredListener } from './ingest-handler.ts';
import type { IngestOptions } from './options.ts';

/** Test-only: the sources every ingest test server knows. */
export const TEST_SOURCES: readonly Source[] = [
  { id: 'src_a', workspaceId: 'ws_1', name: 'A', type: 'node', writeKey: 'KEYA', enabled: true, createdAt: 0 },
  { id: 'src_b', workspaceId: 'ws_1', name: 'B', type: 'analytics.js', writeKey: 'KEYB', enabled: true, createdAt: 0 },
  { id: 'src_off', workspaceId: 'ws_1', name: 'Off', type: 'node', writeKey: 'KEYOFF', enabled: false, createdAt: 0 },
];

/** Test-only: the default host pair. */
export const DEFAULT_SCOPE: HostScope = { kind: 'default', cdnHost: 'cdn.op.test', apiHost: 'api.op.test' };

/** Test-only: a running plain HTTP server around the ingest handler, on 127.0.0.1. */
export interface IngestServer {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly clock: FakeClock;
  /** Events stored for a source, oldest first. */
  events(sourceId?: string): Promise<LoggedEvent[]>;
  close(): Promise<void>;
}

/** Test-only: starts {@link IngestServer} with a real in-memory SQLite store unless `log` is given. */
export async function startIngestServer(opts: {
  scope?: HostScope; log?: EventLog; options?: Partial<IngestOptions>; onStored?: StoredListener;
} = {}): Promise<IngestServer> {
  const store = openSqliteStore(':memory:');
  const clock = new FakeClock();
  const byKey = new Map(TEST_SOURCES.map((s) => [s.writeKey, s]));
  const handler = createIngestHandler(
    { sources: { byWriteKey: (k) => byKey.get(k) }, log: opts.log ?? store.events, clock, onStored: opts.onStored },
    opts.options,
  );
  const scope = opts.scope ?? DEFAULT_SCOPE;
  const server: Server = createServer((req, res) => handler(req, res, scope));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, store, clock,
    events: async (sourceId = 'src_a') => (await store.events.recent(sourceId, 100_000)).reverse(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}

/** Test-only: a raw HTTP response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  json(): unknown;
}

/**
 * Test-only: sends one request on a fresh connection. A `body` array is written chunk by chunk
 * (chunked transfer coding unless a Content-Length header is given).
 */
export function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer | Buffer[] }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()) as unknown });
      });
      res.on('error', reject);
    });
    // A server that answers early and closes may make the rest of the upload fail: the response decides.
    req.on('error', (err) => setTimeout(() => reject(err), 200));
    const body = opts.body;
    if (Array.isArray(body)) for (const c of body) req.write(c);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Test-only: `Authorization: Basic` for a write key (with the trailing colon unless told). */
export function basic(writeKey: string, colon = true): string {
  return `Basic ${Buffer.from(colon ? `${writeKey}:` : writeKey).toString('base64')}`;
}
