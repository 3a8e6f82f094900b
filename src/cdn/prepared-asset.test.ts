import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import type { HostScope, Source } from '../core/index.ts';
import { loadAnalyticsBundle } from './bundle.ts';
import { cdnRoute, createCdnHandler } from './cdn-handler.ts';
import { encodeAsset } from './encoded-asset.ts';
import type { NodeRequest, NodeResponse } from './http-types.ts';
import { CodingMemo, prepareAsset } from './prepared-asset.ts';

const POLICY = { contentType: 'application/javascript; charset=utf-8', cacheControl: 'public, max-age=60' };

/** A response that records what was written to it. */
class RecordingResponse {
  statusCode = 200;
  headersSent = false;
  headers: OutgoingHttpHeaders = {};
  body: Buffer | string | undefined;
  ended = false;
  setHeader(name: string, value: string | number | readonly string[]): void {
    this.headers[name.toLowerCase()] = value as string;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.statusCode = status;
    Object.assign(this.headers, headers);
    this.headersSent = true;
  }
  end(data?: Buffer | string): void {
    this.body = data;
    this.ended = true;
  }
}

const request = (url: string, headers: Record<string, string> = {}) => ({ method: 'GET', url, headers }) as unknown as NodeRequest;

test('prepares every representation with its 200 and 304 headers once', async () => {
  const asset = prepareAsset(await encodeAsset(Buffer.from('x'.repeat(2000))), POLICY);
  assert.equal(asset.gzip.ok['content-encoding'], 'gzip');
  assert.equal(asset.br.ok['content-encoding'], 'br');
  assert.equal(asset.identity.ok['content-encoding'], undefined);
  assert.equal(asset.gzip.ok['content-length'], asset.gzip.body.length);
  assert.equal(asset.gzip.ok.etag, asset.gzip.etag);
  assert.notEqual(asset.gzip.etag, asset.br.etag);
  for (const rep of [asset.identity, asset.gzip, asset.br]) {
    assert.deepEqual([rep.ok.vary, rep.ok['cache-control'], rep.ok['access-control-allow-origin']], ['Accept-Encoding', POLICY.cacheControl, '*']);
    assert.equal(rep.notModified['content-length'], undefined);
    assert.equal(rep.notModified.etag, rep.etag);
  }
});

test('memoises the negotiated coding per Accept-Encoding value and stays bounded', () => {
  const memo = new CodingMemo(2);
  assert.equal(memo.pick('gzip, br'), 'br');
  assert.equal(memo.pick('gzip, br'), 'br');
  assert.equal(memo.pick('gzip'), 'gzip');
  assert.equal(memo.pick('br;q=0, gzip;q=0.5'), 'gzip');
  assert.equal(memo.pick(undefined), 'identity');
  assert.equal(memo.pick('identity'), 'identity');
});

test('routes CDN paths with plain string tests exactly as the documented shapes', () => {
  assert.deepEqual(cdnRoute('/analytics.js/v1/KEY/analytics.min.js'), { kind: 'bundle', writeKey: 'KEY' });
  assert.deepEqual(cdnRoute('/analytics.js/v1/KEY/platform/analytics.min.js'), { kind: 'bundle', writeKey: 'KEY' });
  assert.deepEqual(cdnRoute('/analytics.js/v1/platform/analytics.min.js'), { kind: 'bundle', writeKey: 'platform' });
  assert.deepEqual(cdnRoute('/analytics-next/bundles/ajs-destination.bundle.0123.js'), { kind: 'chunk', name: 'ajs-destination.bundle.0123.js' });
  assert.deepEqual(cdnRoute('/projects/KEY/settings'), { kind: 'settings', writeKey: 'KEY' });
  assert.deepEqual(cdnRoute('/v1/projects/KEY/settings'), { kind: 'settings', writeKey: 'KEY' });
  for (const path of ['/analytics.js/v1/analytics.min.js', '/analytics.js/v1/a/b/analytics.min.js', '/analytics.js/v1//analytics.min.js',
    '/analytics-next/bundles/', '/analytics-next/bundles/a/b', '/v1/v1/projects/K/settings', '/projects//settings', '/projects/a/b/settings', '/']) {
    assert.deepEqual(cdnRoute(path), { kind: 'none' }, path);
  }
});

test('answers a cached bundle within the handler call: lookup, writeHead and end, no promise awaited', async () => {
  const source: Source = { id: 'src_a', workspaceId: 'ws', name: 'A', type: 'analytics.js', writeKey: 'KEYA', enabled: true, createdAt: 0 };
  const scope: HostScope = { kind: 'default', cdnHost: 'cdn.op.test', apiHost: 'api.op.test' };
  const handler = createCdnHandler({ sources: { byWriteKey: (k) => (k === 'KEYA' ? source : undefined) }, bundle: await loadAnalyticsBundle() });
  const path = '/analytics.js/v1/KEYA/analytics.min.js';
  const first = new RecordingResponse();
  handler(request(path, { 'accept-encoding': 'gzip' }), first as unknown as NodeResponse, scope);
  assert.equal(first.ended, false, 'the first request waits for the compression');
  for (let i = 0; i < 200 && !first.ended; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(first.statusCode, 200);

  const hit = new RecordingResponse();
  handler(request(path, { 'accept-encoding': 'gzip' }), hit as unknown as NodeResponse, scope);
  assert.equal(hit.ended, true);
  assert.equal(hit.headers['content-encoding'], 'gzip');
  assert.equal(hit.body, first.body);

  const revalidated = new RecordingResponse();
  handler(request(path, { 'accept-encoding': 'gzip', 'if-none-match': String(hit.headers.etag) }), revalidated as unknown as NodeResponse, scope);
  assert.deepEqual([revalidated.ended, revalidated.statusCode, revalidated.body], [true, 304, undefined]);
});
