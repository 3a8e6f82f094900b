import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import { FakeClock, type EncodedEvents, type LoggedEvent, type StoredEvent } from '../core/index.ts';
import { createIngestHandler } from './ingest-handler.ts';
import { basic, send, startIngestServer, type IngestServer } from './test-server.ts';

const json = (v: unknown) => JSON.stringify(v);
const ctxOf = (e: LoggedEvent) => e.payload.context as Record<string, unknown>;

describe('Tracking API over HTTP (default host)', () => {
  let srv: IngestServer;
  before(async () => { srv = await startIngestServer(); });
  after(async () => { await srv.close(); });

  test('stores a track authenticated by Basic only and answers {success:true}', async () => {
    const r = await send(srv.port, { path: '/v1/track', headers: { authorization: basic('KEYA'), 'content-type': 'application/json' },
      body: json({ userId: 'u1', event: 'Order Completed', properties: { revenue: 10 }, messageId: 'basic-1' }) });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { success: true });
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const e = (await srv.events()).find((x) => x.messageId === 'basic-1')!;
    assert.equal(e.type, 'track');
    assert.equal(e.sourceId, 'src_a');
    assert.equal(e.status, 'accepted');
    assert.deepEqual(e.payload.properties, { revenue: 10 });
    assert.equal(ctxOf(e).ip, '127.0.0.1');
  });

  test('accepts Basic credentials without the trailing colon', async () => {
    const r = await send(srv.port, { path: '/v1/identify', headers: { authorization: basic('KEYA', false) }, body: json({ userId: 'u2', messageId: 'nocolon-1' }) });
    assert.equal(r.status, 200);
    assert.ok((await srv.events()).some((e) => e.messageId === 'nocolon-1' && e.type === 'identify'));
  });

  test('authenticates by body writeKey alone and strips it from the stored event', async () => {
    const r = await send(srv.port, { path: '/v1/p', headers: { 'content-type': 'text/plain' }, body: json({ writeKey: 'KEYB', anonymousId: 'a1', name: 'Home', messageId: 'body-1' }) });
    assert.equal(r.status, 200);
    const e = (await srv.events('src_b')).find((x) => x.messageId === 'body-1')!;
    assert.equal(e.type, 'page');
    assert.equal('writeKey' in e.payload, false);
  });

  test('parses a body sent without any Content-Type', async () => {
    const r = await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'noct-1' }) });
    assert.equal(r.status, 200);
    assert.ok((await srv.events()).some((e) => e.messageId === 'noct-1'));
  });

  test('decodes a gzip batch sent with chunked transfer coding', async () => {
    const body = gzipSync(json({ writeKey: 'KEYA', batch: [
      { type: 'identify', userId: 'gz', messageId: 'gz-1' }, { type: 'track', userId: 'gz', event: 'E', messageId: 'gz-2' }] }));
    const chunks = [body.subarray(0, 7), body.subarray(7, 20), body.subarray(20)];
    const r = await send(srv.port, { path: '/v1/batch', headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' }, body: chunks });
    assert.equal(r.status, 200);
    const ids = (await srv.events()).map((e) => e.messageId);
    assert.ok(ids.includes('gz-1') && ids.includes('gz-2'));
  });

  test('decodes a deflate body', async () => {
    const r = await send(srv.port, { path: '/v1/i', headers: { 'content-encoding': 'deflate', authorization: basic('KEYA') }, body: deflateSync(json({ userId: 'd', messageId: 'deflate-1' })) });
    assert.equal(r.status, 200);
    assert.ok((await srv.events()).some((e) => e.messageId === 'deflate-1'));
  });

  test('merges a batch-level context into every item (analytics-go shape)', async () => {
    const body = { messageId: 'go-batch-id', sentAt: '2026-01-01T00:00:00Z', context: { library: { name: 'analytics-go', version: '3.3.0' } },
      batch: [{ type: 'track', userId: 'g', event: 'E', messageId: 'go-1', context: { locale: 'de' } }] };
    const r = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYA') }, body: json(body) });
    assert.equal(r.status, 200);
    const e = (await srv.events()).find((x) => x.messageId === 'go-1')!;
    assert.deepEqual(ctxOf(e), { locale: 'de', library: { name: 'analytics-go', version: '3.3.0' }, ip: '127.0.0.1' });
    assert.ok(!(await srv.events()).some((x) => x.messageId === 'go-batch-id'));
  });

  test('answers /v1/import/ with a trailing slash in place (analytics-java), never redirecting', async () => {
    const r = await send(srv.port, { path: '/v1/import/', headers: { authorization: basic('KEYA') }, body: json({ batch: [{ type: 'identify', userId: 'j', messageId: 'java-1' }] }) });
    assert.equal(r.status, 200);
    assert.ok((await srv.events()).some((e) => e.messageId === 'java-1'));
  });

  test('answers //v1//t in place', async () => {
    const r = await send(srv.port, { path: '//v1//t', headers: { authorization: basic('KEYA') }, body: json({ userId: 'u', event: 'E', messageId: 'slashes-1' }) });
    assert.equal(r.status, 200);
    assert.ok((await srv.events()).some((e) => e.messageId === 'slashes-1' && e.type === 'track'));
  });

  test('answers a pixel GET with a GIF and stores its event; a bad pixel still gets the GIF', async () => {
    const data = Buffer.from(json({ writeKey: 'KEYA', userId: 'px', event: 'Email Opened', messageId: 'pixel-1' })).toString('base64');
    const r = await send(srv.port, { method: 'GET', path: `/v1/pixel/track?data=${encodeURIComponent(data)}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/gif');
    assert.equal(r.body.subarray(0, 6).toString('latin1'), 'GIF89a');
    assert.ok((await srv.events()).some((e) => e.messageId === 'pixel-1' && e.type === 'track'));
    const before = (await srv.events()).length;
    const bad = await send(srv.port, { method: 'GET', path: '/v1/pixel/track?data=%%%' });
    const unknownKey = await send(srv.port, { method: 'GET', path: `/v1/pixel/track?data=${Buffer.from(json({ writeKey: 'NOPE', userId: 'x', event: 'E' })).toString('base64url')}` });
    assert.deepEqual([bad.status, bad.headers['content-type'], unknownKey.status], [200, 'image/gif', 200]);
    assert.equal((await srv.events()).length, before);
  });

  test('answers a CORS preflight with the methods, headers and max-age browsers need', async () => {
    const r = await send(srv.port, { method: 'OPTIONS', path: '/v1/t', headers: {
      origin: 'https://www.shop.test', 'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-retry-count, content-encoding, x-evil' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], 'https://www.shop.test');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-allow-methods'], 'POST, GET, OPTIONS');
    assert.equal(r.headers['access-control-allow-headers'], 'Authorization, Content-Type, X-Retry-Count, content-encoding');
    assert.equal(r.headers['access-control-max-age'], '86400');
    assert.match(String(r.headers.vary), /Origin/);
  });

  test('puts CORS headers on answers: the Origin echoed, or * without one', async () => {
    const withOrigin = await send(srv.port, { path: '/v1/t', headers: { origin: 'https://a.test' }, body: json({ writeKey: 'KEYA', userId: 'u', event: 'E' }) });
    assert.equal(withOrigin.headers['access-control-allow-origin'], 'https://a.test');
    assert.equal(withOrigin.headers.vary, 'Origin');
    const error = await send(srv.port, { path: '/v1/t', body: '{' });
    assert.equal(error.headers['access-control-allow-origin'], '*');
  });

  test('acknowledges /v1/m metrics without storing them', async () => {
    const before = await srv.store.events.count();
    const r = await send(srv.port, { path: '/v1/m', headers: { 'content-type': 'text/plain' }, body: json({ series: [{ type: 'Counter', metric: 'analytics_js.invoke', value: 1 }] }) });
    assert.deepEqual([r.status, r.json()], [200, { success: true }]);
    assert.equal(await srv.store.events.count(), before);
  });

  test('fills receivedAt from the server clock and corrects timestamp by sentAt (spec/common)', async () => {
    srv.clock.advance(1000);
    const receivedAt = srv.clock.now();
    const r = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYA') }, body: json({
      sentAt: new Date(receivedAt + 3_600_000).toISOString(),
      batch: [{ type: 'identify', userId: 'ts', messageId: 'ts-1', timestamp: new Date(receivedAt + 3_600_000 - 5000).toISOString() }] }) });
    assert.equal(r.status, 200);
    const e = (await srv.events()).find((x) => x.messageId === 'ts-1')!;
    assert.equal(e.receivedAt, receivedAt);
    assert.equal(e.payload.receivedAt, new Date(receivedAt).toISOString());
    assert.equal(e.payload.timestamp, new Date(receivedAt - 5000).toISOString());
    assert.equal(e.payload.originalTimestamp, new Date(receivedAt + 3_600_000 - 5000).toISOString());
  });

  test('stores a duplicate messageId once and still answers 200', async () => {
    const body = json({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'dup-1' });
    const [a, b] = [await send(srv.port, { path: '/v1/t', body }), await send(srv.port, { path: '/v1/t', body })];
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal((await srv.events()).filter((e) => e.messageId === 'dup-1').length, 1);
  });

  test('records invalid events as rejected with a reason and still answers 200', async () => {
    const r = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYA') }, body: json({ batch: [
      { type: 'track', userId: 'u', event: 5, messageId: 'rej-1' }, { userId: 'u', messageId: 'rej-2' },
      { type: 'group', anonymousId: 'a', messageId: 'rej-3' }, { type: 'alias', userId: 'u', messageId: 'rej-4' },
      { type: 'identify', messageId: 'rej-5' }, { type: 'identify', userId: 'ok', messageId: 'rej-ok' }] }) });
    assert.equal(r.status, 200);
    const got = new Map((await srv.events()).map((e) => [e.messageId, [e.status, e.reason]]));
    assert.deepEqual(got.get('rej-1'), ['rejected', 'missing_event']);
    assert.deepEqual(got.get('rej-2'), ['rejected', 'missing_type']);
    assert.deepEqual(got.get('rej-3'), ['rejected', 'missing_group_id']);
    assert.deepEqual(got.get('rej-4'), ['rejected', 'missing_previous_id']);
    assert.deepEqual(got.get('rej-5'), ['rejected', 'no_user_anon_id']);
    assert.deepEqual(got.get('rej-ok'), ['accepted', null]);
  });

  test('stores the first 2,500 items of a 2,600-item batch and rejects the rest as too_many_events', async () => {
    const batch = Array.from({ length: 2600 }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', messageId: `many-${i}` }));
    const r = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYB') }, body: json({ batch }) });
    assert.equal(r.status, 200);
    const events = (await srv.events('src_b')).filter((e) => e.messageId.startsWith('many-'));
    assert.equal(events.filter((e) => e.status === 'accepted').length, 2500);
    const rejected = events.filter((e) => e.status === 'rejected');
    assert.equal(rejected.length, 100);
    assert.ok(rejected.every((e) => e.reason === 'too_many_events' && Number(e.messageId.slice(5)) >= 2500));
  });

  test('refuses truncated JSON, non-UTF-8 bodies and non-object bodies with 400 and a parseable error', async () => {
    const cases: Array<[string | Buffer, string]> = [
      ['{"writeKey":"KEYA","userId":', 'invalid_json'],
      [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_json'],
      ['[{"writeKey":"KEYA"}]', 'invalid_request'],
      ['"KEYA"', 'invalid_request'],
    ];
    for (const [body, code] of cases) {
      const r = await send(srv.port, { path: '/v1/t', headers: { authorization: basic('KEYA') }, body });
      assert.equal(r.status, 400);
      const err = r.json() as { success: boolean; code: string; message: string };
      assert.deepEqual([err.success, err.code, typeof err.message], [false, code, 'string']);
    }
    const notArray = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYA') }, body: json({ batch: 'x' }) });
    assert.deepEqual([notArray.status, (notArray.json() as { code: string }).code], [400, 'invalid_request']);
  });

  test('refuses a single event over 32 KB with 400 and stores nothing', async () => {
    const before = await srv.store.events.count();
    const r = await send(srv.port, { path: '/v1/t', headers: { authorization: basic('KEYA') }, body: json({ userId: 'u', event: 'E', properties: { blob: 'x'.repeat(33_000) } }) });
    assert.deepEqual([r.status, (r.json() as { code: string }).code], [400, 'event_too_large']);
    assert.equal(await srv.store.events.count(), before);
  });

  test('records an oversize batch item as rejected and accepts the others', async () => {
    const r = await send(srv.port, { path: '/v1/batch', headers: { authorization: basic('KEYA') }, body: json({ batch: [
      { type: 'track', userId: 'u', event: 'Big', messageId: 'big-1', properties: { blob: 'x'.repeat(33_000) } },
      { type: 'track', userId: 'u', event: 'Small', messageId: 'big-2' }] }) });
    assert.equal(r.status, 200);
    const got = new Map((await srv.events()).map((e) => [e.messageId, e]));
    assert.deepEqual([got.get('big-1')?.status, got.get('big-1')?.reason], ['rejected', 'event_too_large']);
    assert.equal(JSON.stringify(got.get('big-1')?.payload).length < 1000, true);
    assert.equal(got.get('big-2')?.status, 'accepted');
  });

  test('refuses a request over 500 KB with 400 request_too_large and closes the connection', async () => {
    const before = await srv.store.events.count();
    const item = { type: 'track', userId: 'u', event: 'E', properties: { pad: 'y'.repeat(900) } };
    const body = Buffer.from(json({ writeKey: 'KEYA', batch: Array.from({ length: 600 }, () => item) }));
    assert.ok(body.length > 512_000);
    const chunks = Array.from({ length: Math.ceil(body.length / 16384) }, (_, i) => body.subarray(i * 16384, (i + 1) * 16384));
    const r = await send(srv.port, { path: '/v1/batch', headers: { connection: 'keep-alive' }, body: chunks });
    assert.deepEqual([r.status, (r.json() as { code: string }).code], [400, 'request_too_large']);
    assert.equal(r.headers.connection, 'close');
    const declared = await send(srv.port, { path: '/v1/batch', headers: { 'content-length': String(body.length) }, body });
    assert.equal(declared.status, 400);
    assert.equal(await srv.store.events.count(), before);
  });

  test('refuses a gzip bomb with 400 and stores nothing', async () => {
    const before = await srv.store.events.count();
    const padding = ' '.repeat(50 * 1024 * 1024);
    const bomb = gzipSync(`{"writeKey":"KEYA","batch":[${padding}{"type":"identify","userId":"bomb"}]}`);
    assert.ok(bomb.length < 100_000);
    const r = await send(srv.port, { path: '/v1/batch', headers: { 'content-encoding': 'gzip' }, body: bomb });
    assert.deepEqual([r.status, (r.json() as { code: string }).code], [400, 'request_too_large']);
    assert.equal(await srv.store.events.count(), before);
  });

  test('refuses an unknown or disabled write key with 401 invalid_write_key', async () => {
    for (const headers of [{ authorization: basic('NOPE') }, { authorization: basic('KEYOFF') }, {}] as Array<Record<string, string>>) {
      const r = await send(srv.port, { path: '/v1/t', headers, body: json({ userId: 'u', event: 'E' }) });
      assert.equal(r.status, 401);
      assert.equal((r.json() as { code: string }).code, 'invalid_write_key');
    }
  });

  test('answers unknown paths 404 and wrong methods 405 with Allow', async () => {
    const nf = await send(srv.port, { path: '/v2/t', body: '{}' });
    assert.deepEqual([nf.status, (nf.json() as { code: string }).code], [404, 'not_found']);
    const get = await send(srv.port, { method: 'GET', path: '/v1/t' });
    assert.deepEqual([get.status, get.headers.allow], [405, 'POST, OPTIONS']);
    const post = await send(srv.port, { path: '/v1/pixel/track', body: '{}' });
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD, OPTIONS']);
  });

  test('stops cleanly when the client aborts mid-body and keeps serving', async () => {
    const before = await srv.store.events.count();
    await new Promise<void>((resolve, reject) => {
      const sock = tcpConnect(srv.port, '127.0.0.1', () => {
        sock.write('POST /v1/t HTTP/1.1\r\nHost: api.op.test\r\nContent-Length: 1000\r\n\r\n{"writeKey":"KEYA",');
        setTimeout(() => { sock.destroy(); resolve(); }, 50);
      });
      sock.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    const r = await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'after-abort' }) });
    assert.equal(r.status, 200);
    assert.equal(await srv.store.events.count(), before + 1);
  });

  test('refuses an unknown Content-Encoding with 415', async () => {
    const r = await send(srv.port, { path: '/v1/t', headers: { 'content-encoding': 'br' }, body: 'xx' });
    assert.deepEqual([r.status, (r.json() as { code: string }).code], [415, 'unsupported_encoding']);
  });
});

describe('Tracking API on a custom domain', () => {
  test('accepts a connected source and refuses another with 403 source_not_on_domain', async (t) => {
    const srv = await startIngestServer({ scope: { kind: 'custom', domainId: 'dom_1', cdnHost: 'cdn.cdp.shop.test', apiHost: 'api.cdp.shop.test', sourceIds: new Set(['src_b']) } });
    t.after(() => srv.close());
    const ok = await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYB', userId: 'u', event: 'E', messageId: 'cd-1' }) });
    assert.equal(ok.status, 200);
    assert.ok((await srv.events('src_b')).some((e) => e.messageId === 'cd-1'));
    const refused = await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYA', userId: 'u', event: 'E' }) });
    assert.deepEqual([refused.status, (refused.json() as { code: string }).code], [403, 'source_not_on_domain']);
    assert.equal((await srv.events('src_a')).length, 0);
  });
});

describe('Tracking API durability and storage failures', () => {
  test('reports committed events to onStored, and a throwing listener does not fail the request', async (t) => {
    const seen: StoredEvent[] = [];
    const srv = await startIngestServer({ onStored: { wants: (id) => id === 'src_a', stored: (events) => { seen.push(...events); throw new Error('listener bug'); } } });
    t.after(() => srv.close());
    const r = await send(srv.port, { path: '/v1/batch', body: json({ writeKey: 'KEYA', batch: [
      { type: 'track', userId: 'u', event: 'E', messageId: 'on-1' }, { type: 'track', userId: 'u', messageId: 'on-2' }] }) });
    assert.equal(r.status, 200);
    assert.deepEqual(seen.map((e) => [e.messageId, e.status, e.payload.event ?? null]), [['on-1', 'accepted', 'E'], ['on-2', 'rejected', null]]);
    assert.equal(await srv.store.events.count(), 2);
    // A source nobody listens to is not decoded for the listener.
    await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYB', userId: 'u', event: 'E', messageId: 'on-3' }) });
    assert.equal(seen.length, 2);
  });

  test('answers only after the append has resolved', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const appended: string[] = [];
    const log = {
      append: async () => { throw new Error('not used by the handler'); },
      appendEncoded: async (events: EncodedEvents) => {
        await gate;
        appended.push(...events.messageIds);
        return { stored: events.count, duplicates: 0 };
      },
      recent: async () => [], count: async () => 0,
    };
    const srv = await startIngestServer({ log });
    t.after(() => srv.close());
    let answered = false;
    const pending = send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'slow-1' }) })
      .then((r) => { answered = true; return r; });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(answered, false);
    release();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.deepEqual(appended, ['slow-1']);
  });

  test('answers 503 storage_unavailable when the append fails, so clients retry', async (t) => {
    const fail = async () => { throw new Error('disk full'); };
    const log = { append: fail, appendEncoded: fail, recent: async () => [], count: async () => 0 };
    const srv = await startIngestServer({ log });
    t.after(() => srv.close());
    const r = await send(srv.port, { path: '/v1/t', body: json({ writeKey: 'KEYA', userId: 'u', event: 'E' }) });
    assert.equal(r.status, 503);
    const body = r.json() as { success: boolean; code: string; message: string };
    assert.deepEqual([body.success, body.code], [false, 'storage_unavailable']);
    assert.equal(body.message.includes('disk full'), false);
  });
});

describe('Tracking API internal failures', () => {
  test('answers 500 internal_error without details when a dependency throws', async (t) => {
    const handler = createIngestHandler({
      sources: { byWriteKey: () => { throw new Error('secret internals'); } },
      log: { append: async () => ({ stored: 0, duplicates: 0 }), appendEncoded: async () => ({ stored: 0, duplicates: 0 }), recent: async () => [], count: async () => 0 },
      clock: new FakeClock(),
    });
    const server = createServer((req, res) => handler(req, res, { kind: 'default', cdnHost: 'c.test', apiHost: 'a.test' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const r = await send((server.address() as { port: number }).port, { path: '/v1/t', body: json({ writeKey: 'K', userId: 'u', event: 'E' }) });
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { success: false, code: 'internal_error', message: 'internal error' });
  });
});

describe('Tracking API behind a trusted proxy', () => {
  test('takes context.ip from X-Forwarded-For only when the peer is trusted', async (t) => {
    const trusted = await startIngestServer({ options: { trustedProxies: ['127.0.0.1'] } });
    const untrusted = await startIngestServer({ options: { trustedProxies: ['10.9.9.9'] } });
    t.after(async () => { await trusted.close(); await untrusted.close(); });
    const body = json({ writeKey: 'KEYA', userId: 'u', event: 'E', messageId: 'xff-1' });
    const headers = { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' };
    await send(trusted.port, { path: '/v1/t', headers, body });
    await send(untrusted.port, { path: '/v1/t', headers, body });
    assert.equal(ctxOf((await trusted.events())[0]!).ip, '203.0.113.9');
    assert.equal(ctxOf((await untrusted.events())[0]!).ip, '127.0.0.1');
  });
});
