import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../core/index.ts';
import { cdnSettings } from './settings.ts';

test('points Segment.io and metrics at the API host with the key as apiKey and metrics off', () => {
  assert.deepEqual(cdnSettings('WK1', 'api.cdp.shop.test'), {
    integrations: { 'Segment.io': { apiKey: 'WK1', apiHost: 'api.cdp.shop.test/v1', protocol: 'https' } },
    metrics: { host: 'api.cdp.shop.test/v1', sampleRate: 0 },
  });
});

test('names no Segment host and no other integration', () => {
  const json = JSON.stringify(cdnSettings('WK1', 'api.op.test:8443'));
  assert.equal(/segment\.(io|com)/.test(json), false);
  assert.deepEqual(Object.keys(cdnSettings('WK1', 'api.op.test').integrations), ['Segment.io']);
});

test('refuses an apiHost with a scheme or path', () => {
  assert.throws(() => cdnSettings('WK1', 'https://api.test'), (e) => isAppError(e));
  assert.throws(() => cdnSettings('WK1', 'api.test/v1'), (e) => isAppError(e));
});
