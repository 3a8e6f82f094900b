import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../core/index.ts';
import { loadAnalyticsBundle } from './bundle.ts';
import { CdnErrors } from './errors.ts';
import { assertPatchable, PATCHED_LITERALS, patchStandalone, segmentHostMentions } from './patch.ts';

const target = { writeKey: 'WK_abc123', cdnHost: 'cdn.cdp.shop.test', apiHost: 'api.cdp.shop.test' };

test('the 1.84.3 bundle holds each literal the CDN patches', async () => {
  const { standalone } = await loadAnalyticsBundle();
  const count = (s: string) => standalone.split(s).length - 1;
  assert.equal(count(PATCHED_LITERALS.writeKey), 1);
  assert.equal(count(PATCHED_LITERALS.cdnOrigin), 3);
  assert.equal(count(PATCHED_LITERALS.apiHost), 1);
});

test('replaces the embedded key, every Segment CDN origin and the default API host', async () => {
  const { standalone } = await loadAnalyticsBundle();
  const out = patchStandalone(standalone, target);
  assert.ok(out.includes('window.analyticsWriteKey="WK_abc123"'));
  assert.equal(out.split('https://cdn.cdp.shop.test').length - 1, 3);
  assert.ok(out.includes('"https://cdn.cdp.shop.test/analytics-next/bundles/"'));
  assert.ok(out.includes('var r="api.cdp.shop.test/v1"'));
  for (const literal of Object.values(PATCHED_LITERALS)) assert.equal(out.includes(literal), false, literal);
});

test('leaves only Segment mentions that are never fetched: a docs link and the CSP blocked-URI test', async () => {
  const { standalone } = await loadAnalyticsBundle();
  const left = segmentHostMentions(patchStandalone(standalone, target));
  assert.equal(left.length, 2, left.join('\n'));
  assert.ok(left.some((m) => m.includes('Analytics.js 2.0","https://segment.com/docs/connections/sources/catalog/librar')));
  assert.ok(left.some((m) => m.includes('t.blockedURI.includes("cdn.segment")')));
});

test('the lazy chunks mention no Segment host', async () => {
  const bundle = await loadAnalyticsBundle();
  for (const name of bundle.chunkNames()) assert.deepEqual(segmentHostMentions(bundle.chunk(name)!.toString()), [], name);
});

test('refuses hosts and keys that could break out of a JavaScript string', () => {
  const bad = [
    { ...target, writeKey: 'a"b' }, { ...target, writeKey: '' }, { ...target, cdnHost: 'x.test/"+alert(1)+"' },
    { ...target, apiHost: 'https://api.test' }, { ...target, apiHost: 'api.test/v1' },
  ];
  for (const t of bad) assert.throws(() => patchStandalone('"__WRITE_KEY__"', t), (e) => isAppError(e));
  assert.equal(patchStandalone('"api.segment.io/v1"', { ...target, apiHost: '[::1]:8443' }), '"[::1]:8443/v1"');
});

test('a build without a patched literal is refused at load', () => {
  assert.throws(() => assertPatchable('"__WRITE_KEY__" https://cdn.segment.com'), (e) => isAppError(e, CdnErrors.BUNDLE_UNPATCHABLE));
  assert.doesNotThrow(() => assertPatchable('"__WRITE_KEY__" https://cdn.segment.com "api.segment.io/v1"'));
});
