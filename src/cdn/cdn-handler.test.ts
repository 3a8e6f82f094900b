import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createH2Server, type ServerHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { HostScope, Source } from '../core/index.ts';
import { loadAnalyticsBundle, type AnalyticsBundle } from './bundle.ts';
import { createCdnHandler } from './cdn-handler.ts';

const umd = join(dirname(createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')), 'dist', 'umd');
const SOURCES: Source[] = [
  { id: 'src_a', workspaceId: 'ws_1', name: 'A', type: 'analytics.js', writeKey: 'KEYA', enabled: true, createdAt: 0 },
  { id: 'src_b', workspaceId: 'ws_1', name: 'B', type: 'analytics.js', writeKey: 'KEYB', enabled: true, createdAt: 0 },
  { id: 'src_off', workspaceId: 'ws_1', name: 'Off', type: 'analytics.js', writeKey: 'KEYOFF', enabled: false, createdAt: 0 },
];
const lookup = { byWriteKey: (k: string) => SOURCES.find((s) => s.writeKey === k), byId: (id: string) => SOURCES.find((s) => s.id === id) };
const DEFAULT: HostScope = { kind: 'default', cdnHost: 'cdn.op.test', apiHost: 'api.op.test' };
const CUSTOM: HostScope = { kind: 'custom', domainId: 'd1', cdnHost: 'cdn.cdp.shop.test', apiHost: 'api.cdp.shop.test', sourceIds: new Set(['src_b']) };

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(bundle: AnalyticsBundle, scope: HostScope): Promise<{ server: Server; port: number }> {
  const handler = createCdnHandler({ sources: lookup, bundle }, { maxVariants: 4 });
  const server = createServer((req, res) => handler(req, res, scope));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('CDN host', () => {
  let bundle: AnalyticsBundle;
  let port: number;
  let server: Server;
  before(async () => {
    bundle = await loadAnalyticsBundle();
    ({ server, port } = await listen(bundle, DEFAULT));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('serves analytics.min.js patched with the key and this host pair', async () => {
    const r = await get(port, '/analytics.js/v1/KEYA/analytics.min.js');
    assert.equal(r.status, 200);
    const js = r.body.toString();
    assert.ok(js.includes('window.analyticsWriteKey="KEYA"'));
    assert.ok(js.includes('"https://cdn.op.test/analytics-next/bundles/"'));
    assert.ok(js.includes('"api.op.test/v1"'));
    assert.equal(/cdn\.segment\.com|api\.segment\.io|__WRITE_KEY__"/.test(js), false);
    assert.equal(r.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'public, max-age=60, stale-while-revalidate=3600');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.match(String(r.headers.etag), /^"[\w-]+-identity"$/);
    assert.equal(Number(r.headers['content-length']), r.body.length);
  });

  test('serves the /platform/ variant and gives each key its own bundle', async () => {
    const a = await get(port, '/analytics.js/v1/KEYA/platform/analytics.min.js');
    const b = await get(port, '/analytics.js/v1/KEYB/analytics.min.js');
    assert.ok(a.body.toString().includes('window.analyticsWriteKey="KEYA"'));
    assert.ok(b.body.toString().includes('window.analyticsWriteKey="KEYB"'));
    assert.notEqual(a.headers.etag, b.headers.etag);
  });

  test('negotiates brotli and gzip that decode to the same script', async () => {
    const plain = await get(port, '/analytics.js/v1/KEYA/analytics.min.js');
    const br = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'gzip, deflate, br' });
    const gz = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'gzip' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(brotliDecompressSync(br.body), plain.body);
    assert.deepEqual(gunzipSync(gz.body), plain.body);
    assert.ok(br.body.length < gz.body.length && gz.body.length < plain.body.length / 3);
    assert.equal(new Set([plain.headers.etag, br.headers.etag, gz.headers.etag]).size, 3);
  });

  test('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'br' });
    const again = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'br', 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(again.headers['cache-control'], first.headers['cache-control']);
    const otherCoding = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'gzip', 'if-none-match': String(first.headers.etag) });
    assert.equal(otherCoding.status, 200);
  });

  test('serves the same patched bundle at the alias path /<workspaceId>/<sourceId>.js', async () => {
    const std = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', { 'accept-encoding': 'br' });
    const alias = await get(port, '/ws_1/src_a.js', { 'accept-encoding': 'br' });
    assert.equal(alias.status, 200);
    assert.deepEqual(alias.body, std.body);
    assert.equal(alias.headers.etag, std.headers.etag);
    assert.ok(brotliDecompressSync(alias.body).toString().includes('window.analyticsWriteKey="KEYA"'));
    for (const p of ['/ws_2/src_a.js', '/ws_1/src_zz.js', '/ws_1/src_off.js', '/WS_1/src_a.js']) assert.equal((await get(port, p)).status, 404, p);
  });

  test('answers alias paths 404 when the source lookup cannot find sources by id', async (t) => {
    const handler = createCdnHandler({ sources: { byWriteKey: lookup.byWriteKey }, bundle });
    const plain = createServer((req, res) => handler(req, res, DEFAULT));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    assert.equal((await get((plain.address() as AddressInfo).port, '/ws_1/src_a.js')).status, 404);
  });

  test('answers HEAD with the headers of GET and no body', async () => {
    const r = await get(port, '/analytics.js/v1/KEYA/analytics.min.js', {}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.ok(Number(r.headers['content-length']) > 100_000);
  });

  test('serves every chunk byte-identical to the package file, immutable for a year', async () => {
    for (const name of bundle.chunkNames()) {
      const r = await get(port, `/analytics-next/bundles/${name}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, await readFile(join(umd, name)), name);
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
    const name = 'tsub-middleware.bundle.89bf07058b3d3b126984.js';
    const gz = await get(port, `/analytics-next/bundles/${name}`, { 'accept-encoding': 'gzip' });
    assert.deepEqual(gunzipSync(gz.body), await readFile(join(umd, name)));
  });

  test('serves nothing but the chunk files under /analytics-next/bundles/', async () => {
    const paths = [
      '/analytics-next/bundles/..%2f..%2fpackage.json', '/analytics-next/bundles/../../package.json',
      '/analytics-next/bundles/%2e%2e/%2e%2e/package.json', '/analytics-next/bundles/standalone.js',
      '/analytics-next/bundles/queryString.bundle.34b193ada8fe288d1bd1.js.map', '/analytics-next/bundles/',
      '/analytics-next/bundles/queryString.bundle.34b193ada8fe288d1bd1.js/x',
    ];
    for (const p of paths) {
      const r = await get(port, p);
      assert.equal(r.status, 404, p);
      assert.equal((JSON.parse(r.body.toString()) as { error: { code: string } }).error.code, 'ERR_CDN_NOT_FOUND');
    }
  });

  test('serves settings at /v1/projects/<key>/settings and /projects/<key>/settings', async () => {
    for (const p of ['/v1/projects/KEYA/settings', '/projects/KEYA/settings', '//v1//projects/KEYA/settings']) {
      const r = await get(port, p);
      assert.equal(r.status, 200, p);
      assert.deepEqual(JSON.parse(r.body.toString()), {
        integrations: { 'Segment.io': { apiKey: 'KEYA', apiHost: 'api.op.test/v1', protocol: 'https' } },
        metrics: { host: 'api.op.test/v1', sampleRate: 0 },
      });
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.match(String(r.headers['content-type']), /^application\/json/);
    }
  });

  test('answers an unknown or disabled key with 404 JSON', async () => {
    for (const p of ['/analytics.js/v1/NOPE/analytics.min.js', '/v1/projects/NOPE/settings', '/v1/projects/KEYOFF/settings', '/analytics.js/v1/%22%3E/analytics.min.js']) {
      const r = await get(port, p);
      assert.equal(r.status, 404, p);
      const body = JSON.parse(r.body.toString()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'ERR_CDN_UNKNOWN_WRITE_KEY');
      assert.equal(typeof body.error.message, 'string');
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
  });

  test('answers other paths 404, other methods 405 with Allow, and OPTIONS 204', async () => {
    assert.equal((await get(port, '/')).status, 404);
    assert.equal((await get(port, '/analytics.js/v1/KEYA/analytics.js')).status, 404);
    const post = await get(port, '/v1/projects/KEYA/settings', {}, 'POST');
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD, OPTIONS']);
    const options = await get(port, '/v1/projects/KEYA/settings', { origin: 'https://shop.test' }, 'OPTIONS');
    assert.deepEqual([options.status, options.headers['access-control-allow-origin']], [204, '*']);
  });
});

describe('CDN host of a custom domain', () => {
  test('serves only connected sources, patched for the custom hosts', async (t) => {
    const { server, port } = await listen(await loadAnalyticsBundle(), CUSTOM);
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const ok = await get(port, '/analytics.js/v1/KEYB/analytics.min.js');
    assert.equal(ok.status, 200);
    assert.ok(ok.body.toString().includes('"https://cdn.cdp.shop.test/analytics-next/bundles/"'));
    assert.ok(ok.body.toString().includes('"api.cdp.shop.test/v1"'));
    const settings = JSON.parse((await get(port, '/v1/projects/KEYB/settings')).body.toString()) as { integrations: Record<string, { apiHost: string }> };
    assert.equal(settings.integrations['Segment.io']!.apiHost, 'api.cdp.shop.test/v1');
    assert.equal((await get(port, '/analytics.js/v1/KEYA/analytics.min.js')).status, 404);
    assert.equal((await get(port, '/v1/projects/KEYA/settings')).status, 404);
    assert.equal((await get(port, '/ws_1/src_b.js')).status, 200);
    assert.equal((await get(port, '/ws_1/src_a.js')).status, 404);
  });
});

describe('CDN host over HTTP/2', () => {
  test('serves the patched bundle through the HTTP/2 compatibility API', async (t) => {
    const handler = createCdnHandler({ sources: lookup, bundle: await loadAnalyticsBundle() });
    const server = createH2Server((req, res) => handler(req, res, DEFAULT));
    const sessions = new Set<ServerHttp2Session>();
    server.on('session', (s: ServerHttp2Session) => sessions.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    t.after(async () => {
      client.destroy();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { status, encoding, body } = await new Promise<{ status: number; encoding: unknown; body: Buffer }>((resolve, reject) => {
      const stream = client.request({ ':path': '/analytics.js/v1/KEYA/analytics.min.js', 'accept-encoding': 'br' });
      const parts: Buffer[] = [];
      let head: Record<string, unknown> = {};
      stream.on('response', (h) => { head = h; });
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => resolve({ status: Number(head[':status']), encoding: head['content-encoding'], body: Buffer.concat(parts) }));
      stream.on('error', reject);
    });
    assert.deepEqual([status, encoding], [200, 'br']);
    assert.ok(brotliDecompressSync(body).toString().includes('window.analyticsWriteKey="KEYA"'));
  });
});
