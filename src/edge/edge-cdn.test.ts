import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCdnHandler, loadAnalyticsBundle } from '../cdn/index.ts';
import type { Source } from '../core/index.ts';
import { findBinary } from '../../test/peers/index.ts';
import { curl, SHOP_A, startTestEdge, type TestEdge } from './test-support.ts';

const SOURCE: Source = { id: 'src_a', workspaceId: 'ws_a', name: 'Shop A', type: 'analytics.js', writeKey: 'KEY_A', enabled: true, createdAt: 0 };
const BUNDLE = `/analytics.js/v1/${SOURCE.writeKey}/analytics.min.js`;

describe('the CDN behind the edge, with curl', { skip: findBinary('curl') === null ? 'curl is not installed' : false }, () => {
  let t: TestEdge;
  before(async () => {
    const cdn = createCdnHandler({ sources: { byWriteKey: (k) => (k === SOURCE.writeKey ? SOURCE : undefined) }, bundle: await loadAnalyticsBundle() });
    t = await startTestEdge({ cdn: cdn as never });
  });
  after(() => t.close());

  test('negotiates brotli, gzip and identity by Accept-Encoding over HTTP/2 and HTTP/1.1, with Vary', async () => {
    for (const proto of ['--http2', '--http1.1']) {
      const br = await curl(SHOP_A.cdnHost, t.port, BUNDLE, t.pki.rootPath, [proto, '-H', 'Accept-Encoding: gzip, br']);
      assert.equal(br.status, 200, proto);
      assert.equal(br.headers['content-encoding'], 'br');
      assert.match(br.headers.vary ?? '', /accept-encoding/i);
      const gz = await curl(SHOP_A.cdnHost, t.port, BUNDLE, t.pki.rootPath, [proto, '-H', 'Accept-Encoding: gzip']);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      const plain = await curl(SHOP_A.cdnHost, t.port, BUNDLE, t.pki.rootPath, [proto]);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(Number(br.headers['content-length']) < Number(gz.headers['content-length']));
      assert.ok(Number(gz.headers['content-length']) < Number(plain.headers['content-length']));
      assert.match(plain.body, new RegExp(SHOP_A.apiHost.replace(/\./g, '\\.')), 'the bundle is patched for the API host');
    }
  });

  test('answers a matching strong ETag with 304, keeps security headers and short caching on the bundle', async () => {
    const first = await curl(SHOP_A.cdnHost, t.port, BUNDLE, t.pki.rootPath, ['--http2', '-H', 'Accept-Encoding: br']);
    const etag = first.headers.etag!;
    assert.match(etag, /^"/, 'a strong validator (RFC 9110 §8.8.3)');
    assert.match(first.headers['cache-control']!, /max-age=60.*stale-while-revalidate/);
    const again = await curl(SHOP_A.cdnHost, t.port, BUNDLE, t.pki.rootPath, ['--http2', '-H', 'Accept-Encoding: br', '-H', `If-None-Match: ${etag}`]);
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(again.headers['access-control-allow-origin'], '*');
  });
});
