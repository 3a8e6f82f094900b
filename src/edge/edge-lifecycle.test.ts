import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import type { ScopedHandler } from './handlers.ts';
import { DEFAULT, peerCertificate, SHOP_A, startTestEdge } from './test-support.ts';

test('presents the fallback host certificate without SNI, and refuses other workspaces on that connection with 421', async () => {
  const t = await startTestEdge({ fallbackHost: DEFAULT.cdnHost });
  try {
    const peer = await peerCertificate(t.port, undefined, t.pki.ca.rootPem);
    assert.ok(!(peer instanceof Error), String(peer));
    assert.match(peer.subjectaltname ?? '', new RegExp(`DNS:${DEFAULT.cdnHost}`));
    const get = (host: string) => new Promise<number>((resolve, reject) => {
      // An IP address as the target: Node sends no SNI then (RFC 6066 §3 forbids literal addresses).
      const req = httpsRequest({ host: '127.0.0.1', port: t.port, path: '/', headers: { host }, servername: '', ca: t.pki.ca.rootPem, rejectUnauthorized: false, agent: false },
        (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(await get(DEFAULT.apiHost), 200);
    assert.equal(await get(SHOP_A.cdnHost), 421);
    t.certs.install(await t.pki.issue('default-renewed', [DEFAULT.cdnHost, DEFAULT.apiHost]));
    const renewed = await peerCertificate(t.port, undefined, t.pki.ca.rootPem);
    assert.ok(!(renewed instanceof Error));
    assert.notEqual(renewed.fingerprint256, peer.fingerprint256, 'the fallback follows renewals');
  } finally {
    await t.close();
  }
});

test('close() drains: requests in progress on HTTP/2 and HTTP/1.1 complete, then new connections are refused', async () => {
  const slow: ScopedHandler = (_req, res) => { setTimeout(() => res.end('done'), 300); };
  const t = await startTestEdge({ cdn: slow });
  const ca = t.pki.ca.rootPem;
  const session = h2connect(`https://${SHOP_A.cdnHost}:${t.port}`, { ca, host: '127.0.0.1', servername: SHOP_A.cdnHost } as never);
  const agent = new Agent({ keepAlive: true });
  try {
    const h2 = new Promise<string>((resolve, reject) => {
      const s = session.request({ ':path': '/' });
      let body = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => { body += d; });
      s.on('end', () => resolve(body));
      s.on('error', reject);
    });
    const h1 = new Promise<{ body: string; connection: string | undefined }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: t.port, servername: SHOP_A.cdnHost, headers: { host: SHOP_A.cdnHost }, ca, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => resolve({ body, connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.edge.close(5_000);
    assert.equal(t.edge.isReady(), false);
    assert.equal(await h2, 'done');
    const r1 = await h1;
    assert.equal(r1.body, 'done');
    assert.equal(r1.connection, 'close');
    await closing;
    const refused = await peerCertificate(t.port, SHOP_A.cdnHost, ca);
    assert.ok(refused instanceof Error);
    assert.equal((refused as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  } finally {
    session.destroy();
    agent.destroy();
    await t.close();
  }
});
