import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, constants, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../core/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { createIngestHandler } from './ingest-handler.ts';
import { DEFAULT_SCOPE, TEST_SOURCES } from './test-server.ts';

interface H2Answer { status: number; headers: Record<string, unknown>; body: string; rstCode: number | undefined }

function h2post(session: ReturnType<typeof connect>, path: string, body: Buffer): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'text/plain', origin: 'https://shop.test' });
    let status = 0;
    let headers: Record<string, unknown> = {};
    let text = '';
    stream.on('response', (h) => { status = Number(h[':status']); headers = h; });
    stream.on('data', (c: Buffer) => { text += c.toString(); });
    // A client still uploading never emits 'close' after RST_STREAM(NO_ERROR): read the outcome at 'end'.
    stream.on('end', () => setTimeout(() => {
      resolve({ status, headers, body: text, rstCode: stream.rstCode });
      stream.destroy();
    }, 50));
    stream.on('error', (err) => { if (status === 0) reject(err); });
    stream.end(body);
  });
}

test('serves the Tracking API through the HTTP/2 compatibility API', async (t) => {
  const store = openSqliteStore(':memory:');
  const byKey = new Map(TEST_SOURCES.map((s) => [s.writeKey, s]));
  const handler = createIngestHandler({ sources: { byWriteKey: (k) => byKey.get(k) }, log: store.events, clock: new FakeClock() });
  const server = createServer((req, res) => handler(req, res, DEFAULT_SCOPE));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s: ServerHttp2Session) => sessions.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(async () => {
    session.destroy();
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });

  const ok = await h2post(session, '/v1/t', Buffer.from(JSON.stringify({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'h2-1' })));
  assert.equal(ok.status, 200);
  assert.equal(ok.body, '{"success":true}');
  assert.equal(ok.headers['access-control-allow-origin'], 'https://shop.test');
  const [stored] = await store.events.recent('src_a', 10);
  assert.equal(stored?.messageId, 'h2-1');
  assert.equal((stored?.payload.context as { ip?: string }).ip, '127.0.0.1');

  const big = await h2post(session, '/v1/batch', Buffer.alloc(600_000, 0x20));
  assert.equal(big.status, 400);
  assert.equal(JSON.parse(big.body).code, 'request_too_large');
  assert.equal(big.rstCode, constants.NGHTTP2_NO_ERROR);
});
