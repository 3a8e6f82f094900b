import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createCdnHandler, loadAnalyticsBundle, type CdnHandler } from '../cdn/index.ts';
import type { Source } from '../core/index.ts';
import type { ScopedHandler } from './handlers.ts';
import { SHOP_A, startTestEdge, type TestEdge } from './test-support.ts';

const SOURCE: Source = { id: 'src_a', workspaceId: 'ws_a', name: 'Shop A', type: 'analytics.js', writeKey: 'KEY_A', enabled: true, createdAt: 0 };
const BUNDLE = `/analytics.js/v1/${SOURCE.writeKey}/analytics.min.js`;
const CDN = SHOP_A.cdnHost;

/** One HTTP/1.1 response read off the wire: its head as sent and its body. */
interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** Splits `bytes` into responses; `bodiless[i]` says response i has no body whatever its Content-Length (HEAD, 304). */
function parseResponses(bytes: Buffer, bodiless: readonly boolean[]): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = bytes.toString('latin1', at, end + 4);
    const headers = new Map<string, string>();
    for (const line of head.split('\r\n').slice(1, -2)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const status = Number(head.split(' ')[1]);
    const length = bodiless[out.length] || status === 304 ? 0 : Number(headers.get('content-length') ?? 0);
    out.push({ status, head, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** Opens an HTTP/1.1 TLS connection to the edge for `CDN`. */
function open(port: number, ca: string, alpn: string[] = ['http/1.1']): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: CDN, ca, ALPNProtocols: alpn });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes each of `writes` (waiting `gapMs` between them) on one connection and reads until
 * `expected` responses arrived or the connection closed; `closed` tells whether the edge closed it.
 */
async function exchange(port: number, ca: string, writes: ReadonlyArray<string | Buffer>, bodiless: readonly boolean[], opts: { expected?: number; gapMs?: number } = {}): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const s = await open(port, ca);
  const expected = opts.expected ?? bodiless.length;
  const parts: Buffer[] = [];
  const done = new Promise<{ responses: RawResponse[]; closed: boolean }>((resolve) => {
    const finish = (closed: boolean) => { clearTimeout(timer); s.destroy(); resolve({ responses: parseResponses(Buffer.concat(parts), bodiless), closed }); };
    const timer = setTimeout(() => finish(false), 5_000);
    s.on('data', (d: Buffer) => {
      parts.push(d);
      const all = Buffer.concat(parts);
      const got = parseResponses(all, bodiless);
      const last = got.at(-1);
      if (got.length >= expected && last && all.length >= all.lastIndexOf(last.head.slice(0, 12)) + Buffer.byteLength(last.head, 'latin1') + last.body.length) {
        // Wait a moment for a close that may follow the last response.
        setTimeout(() => finish(s.readableEnded || s.destroyed), 50);
      }
    });
    s.on('end', () => finish(true));
    s.on('error', () => finish(true));
  });
  for (const w of writes) {
    s.write(w);
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
  return done;
}

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  `${method} ${path} HTTP/1.1\r\nHost: ${CDN}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
/** A response head without its Date line (the only line that differs between two answers a second apart). */
const withoutDate = (head: string) => head.split('\r\n').filter((l) => !l.startsWith('Date: ')).join('\r\n');

describe('the HTTP/1.1 fast path', () => {
  let fast: TestEdge;
  let cdn: CdnHandler;
  let fullHandlerCalls = 0;
  before(async () => {
    cdn = createCdnHandler({ sources: { byWriteKey: (k) => (k === SOURCE.writeKey ? SOURCE : undefined) }, bundle: await loadAnalyticsBundle() });
    const counted = Object.assign(((req, res, scope) => { fullHandlerCalls++; cdn(req, res, scope); }) as ScopedHandler, { ready: cdn.ready });
    const api: ScopedHandler = (req, res) => {
      let n = 0;
      req.on('data', (d: Buffer) => { n += d.length; });
      req.on('end', () => res.end(JSON.stringify({ method: req.method, bytes: n })));
    };
    fast = await startTestEdge({ cdn: counted, api, limits: { maxHeaderBytes: 4096 } });
    // The first request of a variant compresses it; later ones are ready.
    await exchange(fast.port, fast.pki.ca.rootPem, [get(BUNDLE)], [false]);
  });
  after(() => fast.close());

  test('answers byte for byte as Node\'s HTTP/1.1 server: 200 in each coding, HEAD, 304, settings and health', async () => {
    const etag = (await exchange(fast.port, fast.pki.ca.rootPem, [get(BUNDLE, { 'Accept-Encoding': 'gzip' })], [false])).responses[0]!.headers.get('etag')!;
    const requests: Array<[string, boolean]> = [
      [get(BUNDLE, { 'Accept-Encoding': 'gzip' }), false],
      [get(BUNDLE, { 'Accept-Encoding': 'gzip, br' }), false],
      [get(BUNDLE), false],
      [get(BUNDLE, { 'Accept-Encoding': 'gzip' }, 'HEAD'), true],
      [get(BUNDLE, { 'Accept-Encoding': 'gzip', 'If-None-Match': etag }), true],
      [get(`/v1/projects/${SOURCE.writeKey}/settings`), false],
      [get('/healthz'), false],
      [get('/readyz', {}, 'HEAD'), true],
      [get('/healthz', { Connection: 'close' }), false],
    ];
    // A first request for an unknown host (404) moves a connection to Node's HTTP/1.1 server.
    const toNode = `GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n`;
    for (const [request, bodiless] of requests) {
      const before = fullHandlerCalls;
      const [a] = (await exchange(fast.port, fast.pki.ca.rootPem, [request], [bodiless])).responses;
      assert.equal(fullHandlerCalls, before, `the fast path answered ${request}`);
      const [notFound, b] = (await exchange(fast.port, fast.pki.ca.rootPem, [toNode + request], [false, bodiless])).responses;
      assert.equal(notFound?.status, 404);
      assert.ok(a && b, request);
      assert.equal(withoutDate(a.head), withoutDate(b.head), request);
      assert.match(a.head, /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
      assert.deepEqual(a.body, b.body, request);
    }
  });

  test('answers pipelined requests in order on one connection, and decodes to the same script', async () => {
    const { responses, closed } = await exchange(fast.port, fast.pki.ca.rootPem,
      [get(BUNDLE, { 'Accept-Encoding': 'gzip' }) + get(BUNDLE, {}, 'HEAD') + get('/healthz') + get(BUNDLE, { 'Accept-Encoding': 'br' })], [false, true, false, false]);
    assert.equal(closed, false);
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(responses[1]!.body.length, 0);
    assert.equal(responses[2]!.body.toString(), 'ok\n');
    assert.deepEqual(gunzipSync(responses[0]!.body), brotliDecompressSync(responses[3]!.body));
  });

  test('hands the connection to Node\'s server at the first request it does not answer, losing and reordering nothing', async () => {
    const post = `POST /v1/batch HTTP/1.1\r\nHost: ${SHOP_A.apiHost}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n`;
    const before = fullHandlerCalls;
    const { responses } = await exchange(fast.port, fast.pki.ca.rootPem,
      [get('/healthz') + post + '01234', '56789' + get(BUNDLE, { 'Accept-Encoding': 'gzip' }) + get('/healthz')], [false, false, false, false], { gapMs: 50 });
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(responses[0]!.body.toString(), 'ok\n');
    assert.deepEqual(JSON.parse(responses[1]!.body.toString()), { method: 'POST', bytes: 10 });
    assert.equal(responses[2]!.headers.get('content-encoding'), 'gzip');
    assert.equal(fullHandlerCalls, before + 1, 'after the hand-over Node\'s server answers the rest');
  });

  test('keeps a head split across reads, at any byte, and answers it when the rest arrives', async () => {
    const before = fullHandlerCalls;
    const requests = get(BUNDLE, { 'Accept-Encoding': 'gzip' }) + get('/healthz') + get(BUNDLE, { 'Accept-Encoding': 'br' });
    for (const cut of [1, 10, 40, requests.indexOf('\r\n\r\n') + 2, requests.indexOf('\r\n\r\n') + 3, requests.length - 1]) {
      const split = await exchange(fast.port, fast.pki.ca.rootPem, [requests.slice(0, cut), requests.slice(cut)], [false, false, false], { gapMs: 30 });
      assert.deepEqual(split.responses.map((r) => r.status), [200, 200, 200], `cut at ${cut}`);
      assert.equal(split.closed, false);
    }
    assert.equal(fullHandlerCalls, before, 'the fast path answered every split request');
  });

  test('answers a head that stops arriving with 408 and one cut off by the client\'s end with 400, closing both', async () => {
    const slow = await startTestEdge({ cdn: cdn, limits: { headersTimeoutMs: 300 } });
    try {
      const late = await exchange(slow.port, slow.pki.ca.rootPem, [`GET /healthz HTTP/1.1\r\nHost: ${CDN}\r\n`], [false]);
      assert.deepEqual([late.responses[0]?.status, late.closed], [408, true]);
      // A header line every 100 ms does not stretch the time a head has (it counts from the first byte).
      const lines = [`GET /healthz HTTP/1.1\r\nHost: ${CDN}\r\n`, ...Array.from({ length: 6 }, (_, i) => `X-Line-${i}: 1\r\n`), '\r\n'];
      const trickled = await exchange(slow.port, slow.pki.ca.rootPem, lines, [false], { gapMs: 100 });
      assert.deepEqual([trickled.responses[0]?.status, trickled.closed], [408, true]);
      const s = await open(slow.port, slow.pki.ca.rootPem);
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise((r) => s.once('close', r));
      s.end(`GET /healthz HTTP/1.1\r\nHost: ${CDN}\r\n`);
      await closed;
      assert.match(Buffer.concat(got).toString('latin1'), /^HTTP\/1\.1 400 /);
    } finally {
      await slow.close();
    }
  });

  test('answers a malformed request line with 400 and an oversized head with 431 on a connection it served', async () => {
    // Separate writes: Node's server sends no 400 while an earlier answer is still being written.
    const bad = await exchange(fast.port, fast.pki.ca.rootPem, [get('/healthz'), 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n'], [false, false], { gapMs: 100 });
    assert.deepEqual(bad.responses.map((r) => r.status), [200, 400]);
    assert.equal(bad.closed, true);
    const big = await exchange(fast.port, fast.pki.ca.rootPem, [get('/healthz'), get('/healthz', { 'X-Big': 'a'.repeat(6000) })], [false, false], { gapMs: 100 });
    assert.deepEqual(big.responses.map((r) => r.status), [200, 431]);
    const garbage = await exchange(fast.port, fast.pki.ca.rootPem, ['GARBAGE\r\n\r\n'], [false]);
    assert.deepEqual([garbage.responses[0]?.status, garbage.closed], [400, true]);
  });

  test('closes after answering Connection: close, and answers nothing pipelined after it', async () => {
    const { responses, closed } = await exchange(fast.port, fast.pki.ca.rootPem, [get('/healthz', { Connection: 'close' }) + get('/healthz')], [false, false], { expected: 1 });
    assert.equal(closed, true);
    assert.equal(responses.length, 1);
    assert.equal(responses[0]!.headers.get('connection'), 'close');
  });

  test('serves HTTP/1.0 requests through Node\'s server, closing unless asked to keep alive', async () => {
    const { responses, closed } = await exchange(fast.port, fast.pki.ca.rootPem, [`GET /healthz HTTP/1.0\r\nHost: ${CDN}\r\n\r\n`], [false]);
    assert.equal(responses[0]?.status, 200);
    assert.equal(responses[0]?.body.toString(), 'ok\n');
    assert.equal(closed, true);
  });

  test('records fast answers in the request metrics like any other', async () => {
    const line = /^firstparty_edge_requests_total\{host_kind="cdn",scope="custom",status="304"\} (\d+)$/m;
    const count = () => Number(line.exec(fast.edge.metrics.render())?.[1] ?? 0);
    const before = count();
    const etag = (await exchange(fast.port, fast.pki.ca.rootPem, [get(BUNDLE)], [false])).responses[0]!.headers.get('etag')!;
    await exchange(fast.port, fast.pki.ca.rootPem, [get(BUNDLE, { 'If-None-Match': etag }) + get(BUNDLE, { 'If-None-Match': etag })], [true, true]);
    assert.equal(count(), before + 2);
  });
});
