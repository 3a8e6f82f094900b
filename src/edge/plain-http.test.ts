import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostRouter } from './host-router.ts';
import { PlainHttpServer } from './plain-http.ts';
import { curl, DEFAULT, echoHandler, SHOP_A } from './test-support.ts';
import { findBinary } from '../../test/peers/index.ts';

const skip = findBinary('curl') === null ? 'curl is not installed' : false;

async function withPlain(allowPlainHttpApi: boolean, run: (port: number) => Promise<void>): Promise<void> {
  const router = new HostRouter();
  router.add(DEFAULT);
  router.add(SHOP_A);
  const server = new PlainHttpServer({ router, api: echoHandler('api'), listen: { host: '127.0.0.1', port: 0 }, allowPlainHttpApi, httpsPort: 8443 });
  await server.start();
  try {
    await run(server.address().port);
  } finally {
    await server.close();
  }
}

test('redirects a CDN host to HTTPS with 308, keeping path and query', { skip }, () => withPlain(false, async (port) => {
  const r = await curl(SHOP_A.cdnHost, port, '/analytics.js/v1/K/analytics.min.js?x=1', '/dev/null', [], 'http');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://${SHOP_A.cdnHost}:8443/analytics.js/v1/K/analytics.min.js?x=1`);
}));

test('refuses an API host over plain HTTP with 403 unless allowed, and serves it when allowed', { skip }, async () => {
  await withPlain(false, async (port) => {
    const r = await curl(DEFAULT.apiHost, port, '/v1/t', '/dev/null', ['--data-binary', '{}'], 'http');
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error.code, 'ERR_EDGE_HTTPS_REQUIRED');
  });
  await withPlain(true, async (port) => {
    const r = await curl(DEFAULT.apiHost, port, '/v1/t', '/dev/null', ['--data-binary', '{}'], 'http');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).kind, 'api');
  });
});

test('answers unknown hosts with 404 and health checks on any host', { skip }, () => withPlain(false, async (port) => {
  assert.equal((await curl('nowhere.test', port, '/', '/dev/null', [], 'http')).status, 404);
  assert.equal((await curl('nowhere.test', port, '/healthz', '/dev/null', [], 'http')).status, 200);
  assert.equal((await curl(SHOP_A.cdnHost, port, '/readyz', '/dev/null', [], 'http')).status, 200);
}));
