import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { findBinary } from '../../test/peers/index.ts';
import type { ScopedHandler } from './handlers.ts';
import { curl, peerCertificate, SHOP_A, startTestEdge, type TestEdge } from './test-support.ts';

const noCurl = findBinary('curl') === null ? 'curl is not installed' : false;

/** Answers only once the whole request body has arrived, then echoes its length. */
const bodyReader: ScopedHandler = (req, res) => {
  let n = 0;
  req.on('data', (d: Buffer) => { n += d.length; });
  req.on('end', () => res.end(JSON.stringify({ bytes: n })));
};

/** Opens a TLS connection speaking HTTP/1.1 to the edge; resolves once the handshake is done. */
function openTls(port: number, servername: string, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['http/1.1'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Opens a plain TCP connection to the edge (no TLS yet). */
function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends raw bytes on a new HTTP/1.1 connection and resolves with everything read until close or `waitMs`. */
async function rawExchange(port: number, servername: string, ca: string, bytes: string, waitMs: number): Promise<{ text: string; ms: number }> {
  const s = await openTls(port, servername, ca);
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => { s.destroy(); resolve({ text, ms: Date.now() - started }); }, waitMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('close', () => { clearTimeout(timer); resolve({ text, ms: Date.now() - started }); });
    s.on('error', () => { /* the edge closing the connection is what is being observed */ });
    s.write(bytes);
  });
}

describe('the edge protection limits', { skip: noCurl }, () => {
  let t: TestEdge;
  let ca: string;
  before(async () => {
    t = await startTestEdge({
      api: bodyReader,
      limits: { maxHeaderBytes: 4096, maxBodyBytes: 1000, headersTimeoutMs: 400, requestTimeoutMs: 800, maxConnectionsPerAddress: 3 },
    });
    ca = t.pki.ca.rootPem;
  });
  after(() => t.close());

  test('answers 431 to an HTTP/1.1 request whose headers exceed the limit', async () => {
    const r = await curl(SHOP_A.cdnHost, t.port, '/', t.pki.rootPath, ['--http1.1', '-H', `X-Big: ${'a'.repeat(6000)}`]);
    assert.equal(r.status, 431);
    const ok = await curl(SHOP_A.cdnHost, t.port, '/', t.pki.rootPath, ['--http1.1', '-H', `X-Big: ${'a'.repeat(1000)}`]);
    assert.equal(ok.status, 200);
  });

  test('answers 431 to an HTTP/2 request whose header list exceeds the limit', async () => {
    const r = await curl(SHOP_A.cdnHost, t.port, '/', t.pki.rootPath, ['--http2', '-H', `X-Big: ${'a'.repeat(6000)}`]);
    assert.equal(r.httpVersion, '2');
    assert.equal(r.status, 431);
    assert.equal(JSON.parse(r.body).error.code, 'ERR_EDGE_HEADERS_TOO_LARGE');
  });

  test('answers 413 to a request declaring a body over the limit, over both protocols', async () => {
    for (const proto of ['--http1.1', '--http2']) {
      const big = await curl(SHOP_A.apiHost, t.port, '/v1/batch', t.pki.rootPath, [proto, '--data-binary', 'x'.repeat(2000)]);
      assert.equal(big.status, 413, proto);
      assert.equal(JSON.parse(big.body).error.code, 'ERR_EDGE_BODY_TOO_LARGE');
      const small = await curl(SHOP_A.apiHost, t.port, '/v1/batch', t.pki.rootPath, [proto, '--data-binary', 'x'.repeat(200)]);
      assert.deepEqual(JSON.parse(small.body), { bytes: 200 }, proto);
    }
  });

  test('answers 408 and closes a slowloris connection that never finishes its headers', async () => {
    const r = await rawExchange(t.port, SHOP_A.cdnHost, ca, `GET / HTTP/1.1\r\nHost: ${SHOP_A.cdnHost}\r\nX-Slow: 1\r\n`, 5_000);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(r.ms < 3_000, `closed after ${r.ms} ms`);
  });

  test('answers 408 to an HTTP/1.1 request whose body does not arrive in time', async () => {
    const r = await rawExchange(t.port, SHOP_A.apiHost, ca,
      `POST /v1/batch HTTP/1.1\r\nHost: ${SHOP_A.apiHost}\r\nContent-Length: 50\r\n\r\nabc`, 5_000);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
  });

  test('answers 408 to an HTTP/2 stream whose body does not arrive in time', async () => {
    const session = h2connect(`https://${SHOP_A.apiHost}:${t.port}`, { ca, host: '127.0.0.1', servername: SHOP_A.apiHost } as never);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/v1/batch' }, { endStream: false });
        stream.write('abc');
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
      });
      assert.equal(status, 408);
    } finally {
      session.destroy();
    }
  });

  test('answers 429 on connections beyond the per-address limit and closes floods at accept', async () => {
    // TCP connections that never start TLS hold their slots until the handshake timeout.
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await openTcp(t.port));
      const over = await curl(SHOP_A.cdnHost, t.port, '/', t.pki.rootPath, ['--http2']);
      assert.equal(over.status, 429);
      assert.equal(over.headers['retry-after'], '1');
      for (let i = 0; i < 3; i++) held.push(await openTcp(t.port));
      const flood = await peerCertificate(t.port, SHOP_A.cdnHost, ca);
      assert.ok(flood instanceof Error, 'beyond twice the limit the connection is closed before TLS');
      assert.ok(t.edge.metrics.refused.value(['per_address_flood']) >= 1);
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    const again = await curl(SHOP_A.cdnHost, t.port, '/', t.pki.rootPath, ['--http2']);
    assert.equal(again.status, 200);
  });

  test('answers /healthz and /readyz on any host, and /readyz with 503 once not ready', async () => {
    const health = await curl(SHOP_A.cdnHost, t.port, '/healthz', t.pki.rootPath, ['--http2', '-H', 'Host: unknown.test']);
    assert.equal(health.status, 200);
    assert.equal((await curl(SHOP_A.apiHost, t.port, '/readyz', t.pki.rootPath)).status, 200);
    t.edge.setReady(false);
    try {
      assert.equal((await curl(SHOP_A.apiHost, t.port, '/readyz', t.pki.rootPath)).status, 503);
      assert.equal((await curl(SHOP_A.apiHost, t.port, '/healthz', t.pki.rootPath)).status, 200);
    } finally {
      t.edge.setReady(true);
    }
  });
});

test('answers connections beyond the per-address limit at once and closes them: HTTP/1.1 before any request, HTTP/2 after its first', async () => {
  const t = await startTestEdge({ limits: { maxConnectionsPerAddress: 2, headersTimeoutMs: 10_000 } });
  const ca = t.pki.ca.rootPem;
  const held = [await openTls(t.port, SHOP_A.cdnHost, ca), await openTls(t.port, SHOP_A.cdnHost, ca)];
  try {
    const started = Date.now();
    const h1 = await rawExchange(t.port, SHOP_A.cdnHost, ca, '', 5_000);
    assert.match(h1.text, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    assert.match(h1.text, /\r\nretry-after: 1\r\n/);
    assert.match(h1.text, /\r\nConnection: close\r\n/);
    assert.equal(JSON.parse(h1.text.slice(h1.text.indexOf('\r\n\r\n') + 4)).error.code, 'ERR_EDGE_TOO_MANY_CONNECTIONS');
    assert.ok(Date.now() - started < 3_000, `answered and closed after ${Date.now() - started} ms, long before the header timeout`);
    const session = h2connect(`https://${SHOP_A.cdnHost}:${t.port}`, { ca, host: '127.0.0.1', servername: SHOP_A.cdnHost } as never);
    try {
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
      assert.equal(status, 429);
      await goaway;
    } finally {
      session.destroy();
    }
  } finally {
    for (const s of held) s.destroy();
    await t.close();
  }
});
