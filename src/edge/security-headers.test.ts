import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import type { ScopedHandler } from './handlers.ts';
import { DEFAULT, startTestEdge, type TestEdge } from './test-support.ts';

/** Handlers writing their headers each way a handler can: frozen or fresh writeHead objects, setHeader, implicit. */
const handler: ScopedHandler = (req, res) => {
  switch (req.url) {
    case '/frozen':
      res.writeHead(200, FROZEN);
      break;
    case '/fresh':
      res.writeHead(200, 'OK', { 'Content-Type': 'text/plain', 'Content-Length': 2 });
      break;
    case '/own':
      res.setHeader('Strict-Transport-Security', 'max-age=5');
      res.writeHead(200, { 'X-Content-Type-Options': 'nosniff', 'content-length': 2 });
      break;
    default:
      res.statusCode = 200;
  }
  res.end('ok');
};
const FROZEN = Object.freeze({ 'content-type': 'text/plain', 'content-length': 2 });

let t: TestEdge;
before(async () => { t = await startTestEdge({ cdn: handler, api: handler }); });
after(() => t.close());

/** Raw HTTP/1.1 response header lines of `path`, names lowercased, duplicates kept. */
function rawHeaders(path: string): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: t.port, path, servername: DEFAULT.cdnHost, headers: { host: DEFAULT.cdnHost }, ca: t.pki.ca.rootPem, agent: false }, (res) => {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
      res.resume();
      res.on('end', () => resolve(pairs));
    });
    req.on('error', reject);
    req.end();
  });
}

const values = (pairs: Array<[string, string]>, name: string) => pairs.filter(([n]) => n === name).map(([, v]) => v);

test('HTTP/1.1 responses carry HSTS and nosniff exactly once however the handler writes its headers', async () => {
  for (const path of ['/frozen', '/frozen', '/fresh', '/implicit', '/healthz']) {
    const pairs = await rawHeaders(path);
    assert.deepEqual(values(pairs, 'strict-transport-security'), ['max-age=31536000'], path);
    assert.deepEqual(values(pairs, 'x-content-type-options'), ['nosniff'], path);
  }
  assert.deepEqual(values(await rawHeaders('/frozen'), 'content-type'), ['text/plain'], 'the handler\'s own headers are sent');
  assert.deepEqual(Object.keys(FROZEN), ['content-type', 'content-length'], 'the handler\'s headers object is left as it was');
});

test('a security header the handler sets itself wins over the edge default, without a duplicate', async () => {
  const pairs = await rawHeaders('/own');
  assert.deepEqual(values(pairs, 'strict-transport-security'), ['max-age=5']);
  assert.deepEqual(values(pairs, 'x-content-type-options'), ['nosniff']);
});
