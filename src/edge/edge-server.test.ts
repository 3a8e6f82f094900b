import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { findBinary } from '../../test/peers/index.ts';
import { curl, DEFAULT, peerCertificate, SHOP_A, SHOP_B, startTestEdge, type TestEdge } from './test-support.ts';

const noCurl = findBinary('curl') === null ? 'curl is not installed' : false;

/** GET over an open HTTP/2 session; resolves status, headers and body. */
function h2get(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    let status = 0;
    let responseHeaders: Record<string, unknown> = {};
    let body = '';
    stream.on('response', (h) => { status = Number(h[':status']); responseHeaders = h; });
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => { body += d; });
    stream.on('end', () => resolve({ status, headers: responseHeaders, body }));
    stream.on('error', reject);
  });
}

/** GET over HTTP/1.1 with `agent`; resolves status, whether the socket was reused, and body. */
function h1get(port: number, host: string, path: string, ca: string, agent: Agent): Promise<{ status: number; reused: boolean; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: host, headers: { host }, ca, agent }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTPS edge with real clients', { skip: noCurl }, () => {
  let t: TestEdge;
  let ca: string;
  before(async () => {
    t = await startTestEdge();
    ca = t.pki.ca.rootPem;
  });
  after(() => t.close());

  test('serves a CDN host to curl over HTTP/2 and HTTP/1.1, with HSTS and nosniff', async () => {
    const h2 = await curl(SHOP_A.cdnHost, t.port, '/x', t.pki.rootPath, ['--http2']);
    assert.equal(h2.exitCode, 0, h2.stderr);
    assert.equal(h2.httpVersion, '2');
    assert.deepEqual(JSON.parse(h2.body), { kind: 'cdn', cdnHost: SHOP_A.cdnHost, httpVersion: '2.0' });
    assert.equal(h2.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(h2.headers['x-content-type-options'], 'nosniff');
    const h1 = await curl(SHOP_A.apiHost, t.port, '/v1/t', t.pki.rootPath, ['--http1.1']);
    assert.equal(h1.httpVersion, '1.1');
    assert.deepEqual(JSON.parse(h1.body), { kind: 'api', cdnHost: SHOP_A.cdnHost, httpVersion: '1.1' });
  });

  test('negotiates h2 by ALPN with the node:http2 client and routes by :authority', async () => {
    const session = h2connect(`https://${DEFAULT.apiHost}:${t.port}`, { ca, host: '127.0.0.1', servername: DEFAULT.apiHost } as never);
    try {
      const r = await h2get(session, '/v1/batch');
      assert.equal(r.status, 200);
      assert.equal(session.alpnProtocol, 'h2');
      assert.deepEqual(JSON.parse(r.body), { kind: 'api', cdnHost: DEFAULT.cdnHost, httpVersion: '2.0' });
      // The CDN host of the same scope shares the certificate, so the connection may be reused for it.
      const cdn = await h2get(session, '/x', { ':authority': DEFAULT.cdnHost });
      assert.equal(JSON.parse(cdn.body).kind, 'cdn');
    } finally {
      session.close();
    }
  });

  test('fails the handshake for an SNI name it has no certificate for', async () => {
    const before = t.edge.metrics.handshakes.value(['unknown_sni']);
    const r = await curl('cdn.cdp.unknown-shop.test', t.port, '/', t.pki.rootPath, ['--http2']);
    assert.equal(r.exitCode, 35, `curl should report a TLS handshake failure: ${r.stderr}`);
    const peer = await peerCertificate(t.port, 'cdn.cdp.unknown-shop.test', ca);
    assert.ok(peer instanceof Error, 'no certificate may be presented for an unknown name');
    assert.ok(t.edge.metrics.handshakes.value(['unknown_sni']) >= before + 2);
  });

  test('fails the handshake cleanly when the client sends no SNI', async () => {
    const peer = await peerCertificate(t.port, undefined, ca);
    assert.ok(peer instanceof Error);
    assert.match(peer.message, /alert handshake failure|alert number 40/);
  });

  test('refuses with 421 a Host of another workspace than the SNI name, and with 404 an unknown Host', async () => {
    const cross = await curl(SHOP_A.cdnHost, t.port, '/x', t.pki.rootPath, ['--http2', '-H', `Host: ${SHOP_B.cdnHost}`]);
    assert.equal(cross.status, 421);
    assert.equal(JSON.parse(cross.body).error.code, 'ERR_EDGE_MISDIRECTED');
    const toDefault = await curl(SHOP_A.cdnHost, t.port, '/x', t.pki.rootPath, ['--http1.1', '-H', `Host: ${DEFAULT.apiHost}`]);
    assert.equal(toDefault.status, 421);
    const unknown = await curl(SHOP_A.cdnHost, t.port, '/x', t.pki.rootPath, ['--http2', '-H', 'Host: cdn.cdp.nowhere.test']);
    const bogus = await curl(SHOP_A.cdnHost, t.port, '/x', t.pki.rootPath, ['--http2', '-H', 'Host: 10.0.0.1']);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body, bogus.body, 'every unknown Host gets the same answer');
  });

  test('keeps HTTP/2 and HTTP/1.1 keep-alive connections serving across a certificate renewal', async () => {
    const session = h2connect(`https://${SHOP_B.cdnHost}:${t.port}`, { ca, host: '127.0.0.1', servername: SHOP_B.cdnHost } as never);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await h2get(session, '/a')).status, 200);
      const first = await h1get(t.port, SHOP_B.cdnHost, '/a', ca, agent);
      const oldFingerprint = (session.socket as unknown as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      t.certs.install(await t.pki.issue('b-renewed', [SHOP_B.cdnHost, SHOP_B.apiHost]));
      const again = await h2get(session, '/b');
      assert.equal(again.status, 200);
      const second = await h1get(t.port, SHOP_B.cdnHost, '/b', ca, agent);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the HTTP/1.1 keep-alive socket stays open');
      assert.equal(second.fingerprint, first.fingerprint);
      const fresh = await peerCertificate(t.port, SHOP_B.cdnHost, ca);
      assert.ok(!(fresh instanceof Error));
      assert.notEqual(fresh.fingerprint256, oldFingerprint, 'a new handshake gets the renewed certificate');
      assert.equal(session.closed, false);
    } finally {
      session.close();
      agent.destroy();
    }
  });

  test('counts requests, handshakes and certificates by days to expiry in its metrics', async () => {
    await curl(SHOP_A.cdnHost, t.port, '/m', t.pki.rootPath, ['--http2']);
    const text = t.edge.metrics.render();
    assert.match(text, /^firstparty_edge_requests_total\{host_kind="cdn",scope="custom",status="200"\} [1-9]\d*$/m);
    assert.match(text, /^firstparty_edge_tls_handshakes_total\{result="ok"\} [1-9]\d*$/m);
    assert.match(text, /^firstparty_edge_tls_handshake_duration_seconds_count [1-9]\d*$/m);
    assert.match(text, /^firstparty_edge_request_duration_seconds_bucket\{host_kind="cdn",scope="custom",le="\+Inf"\} [1-9]\d*$/m);
    // Local-CA leaves live 90 days: none within 30 days, all within +Inf.
    assert.match(text, /^firstparty_edge_certificates_expiring\{within_days="30"\} 0$/m);
    assert.match(text, new RegExp(`^firstparty_edge_certificates_expiring\\{within_days="\\+Inf"\\} ${[...t.certs.certificates()].length}$`, 'm'));
  });
});
