import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { FakeClock, type Source } from '../../src/core/index.ts';
import { startTestEdge, type TestEdge } from '../../src/edge/test-support.ts';
import { createIngestHandler } from '../../src/ingest/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';

const API = 'api.fp.test';
const SOURCE: Source = { id: 'src_a', workspaceId: 'ws_1', name: 'A', type: 'node', writeKey: 'KEYA', enabled: true, createdAt: 0 };
const AUTH = `Basic ${Buffer.from('KEYA:').toString('base64')}`;

interface Answer { status: number; code: string | undefined }

/**
 * The Tracking API behind the real HTTPS edge (TLS, Host routing, edge limits with a 1 s request
 * timeout) on a file-backed SQLite store: each bad input gets its clear status and the stored
 * events stay intact.
 */
describe('bad input through the HTTPS edge', () => {
  let edge: TestEdge;
  let store: Store;
  let dir: string;
  let ca: string;
  const post = (path: string, body: Buffer | string, headers: Record<string, string> = {}) => new Promise<Answer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: edge.port, servername: API, ca, method: 'POST', path, agent: false,
      headers: { host: API, authorization: AUTH, 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        let code: string | undefined;
        try { code = (JSON.parse(text) as { code?: string; error?: { code?: string } }).code ?? (JSON.parse(text) as { error?: { code?: string } }).error?.code; } catch { code = undefined; }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    req.on('error', reject);
    req.end(body);
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fp-badinput-'));
    store = openSqliteStore(join(dir, 'events.db'));
    const api = createIngestHandler({ sources: { byWriteKey: (k) => (k === 'KEYA' ? SOURCE : undefined) }, log: store.events, clock: new FakeClock() });
    edge = await startTestEdge({ api: api as never, limits: { requestTimeoutMs: 1_000, headersTimeoutMs: 1_000 } });
    ca = (await import('node:fs')).readFileSync(edge.pki.rootPath, 'utf8');
    assert.equal((await post('/v1/track', JSON.stringify({ userId: 'u', event: 'Before', messageId: 'good-before' }))).status, 200);
  });
  after(async () => {
    await edge?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('truncated JSON, wrong types, non-UTF-8, oversize event and request and a gzip bomb each get 400 with their code', async () => {
    const big = 'x'.repeat(40_000);
    const bombPadding = ' '.repeat(10 * 1024 * 1024);
    const cases: Array<[string, string, Buffer | string, Record<string, string>, Answer]> = [
      ['truncated JSON', '/v1/track', '{"userId":"u","event":"E"', {}, { status: 400, code: 'invalid_json' }],
      ['array body', '/v1/track', '[1,2]', {}, { status: 400, code: 'invalid_request' }],
      ['batch not an array', '/v1/batch', '{"batch":{"type":"track"}}', {}, { status: 400, code: 'invalid_request' }],
      ['non-UTF-8', '/v1/track', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), {}, { status: 400, code: 'invalid_json' }],
      ['oversize event', '/v1/track', JSON.stringify({ userId: 'u', event: 'E', properties: { big } }), {}, { status: 400, code: 'event_too_large' }],
      ['oversize request', '/v1/batch', JSON.stringify({ batch: Array.from({ length: 20 }, () => ({ type: 'track', userId: 'u', event: big })) }), {}, { status: 400, code: 'request_too_large' }],
      ['gzip bomb', '/v1/batch', gzipSync(`{"batch":[${bombPadding}{"type":"identify","userId":"bomb"}]}`), { 'content-encoding': 'gzip' }, { status: 400, code: 'request_too_large' }],
      ['unknown encoding', '/v1/batch', '{}', { 'content-encoding': 'br' }, { status: 415, code: 'unsupported_encoding' }],
    ];
    for (const [name, path, body, headers, expected] of cases) assert.deepEqual(await post(path, body, headers), expected, name);
  });

  test('wrong field types inside a batch are accepted with 200 and stored as rejected with their reason', async () => {
    const r = await post('/v1/batch', JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 42, messageId: 'wt-1' }, { type: 7, userId: 'u', messageId: 'wt-2' }] }));
    assert.equal(r.status, 200);
    const byId = new Map((await store.events.recent('src_a', 100)).map((e) => [e.messageId, e]));
    assert.deepEqual([byId.get('wt-1')?.status, byId.get('wt-1')?.reason], ['rejected', 'missing_event']);
    assert.deepEqual([byId.get('wt-2')?.status, byId.get('wt-2')?.reason], ['rejected', 'invalid_type']);
  });

  test('a header section over 16 KB is refused with 431 by the edge', async () => {
    const r = await post('/v1/track', '{}', { 'x-padding': 'p'.repeat(20_000) }).catch((err: Error) => ({ status: -1, code: err.message }));
    assert.equal(r.status, 431);
  });

  test('a body that stops arriving is answered 408 once the request timeout passes and the connection is closed', async () => {
    const t0 = Date.now();
    const head = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: edge.port, servername: API, ca, ALPNProtocols: ['http/1.1'] }, () => {
        sock.write(`POST /v1/track HTTP/1.1\r\nHost: ${API}\r\nAuthorization: ${AUTH}\r\nContent-Length: 100\r\n\r\n{"userId":`);
      });
      let out = '';
      sock.on('data', (c: Buffer) => { out += c.toString(); });
      sock.on('close', () => resolve(out));
      sock.on('error', reject);
      setTimeout(() => { sock.destroy(); resolve(`no answer in 8 s: ${out}`); }, 8_000).unref();
    });
    assert.match(head, /^HTTP\/1\.1 408 /, head);
    assert.ok(Date.now() - t0 >= 900, 'not before the timeout');
  });

  test('after all of it, the database is intact and holds exactly the good and rejected events', async () => {
    assert.equal((await post('/v1/track', JSON.stringify({ userId: 'u', event: 'After', messageId: 'good-after' }))).status, 200);
    // Other connections see a writer's rows once it commits what it holds (within 10 ms); a read
    // through the store commits at once.
    await store.events.count();
    const db = new BetterSqlite3(join(dir, 'events.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const ids = (db.prepare('SELECT message_id AS id FROM events ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id);
      assert.deepEqual(ids, ['good-before', 'wt-1', 'wt-2', 'good-after']);
    } finally {
      db.close();
    }
  });
});
