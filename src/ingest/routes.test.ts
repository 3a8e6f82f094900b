import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestRoute } from './routes.ts';

test('routes long and one-letter single-call paths to their event type', () => {
  const pairs = [['identify', 'i'], ['track', 't'], ['page', 'p'], ['screen', 's'], ['group', 'g'], ['alias', 'a']] as const;
  for (const [type, short] of pairs) {
    assert.deepEqual(ingestRoute(`/v1/${type}`), { kind: 'single', type });
    assert.deepEqual(ingestRoute(`/v1/${short}`), { kind: 'single', type });
  }
});

test('routes batch, import, b and their trailing-slash forms to batch', () => {
  for (const p of ['/v1/batch', '/v1/import', '/v1/import/', '/v1/b', '/v1/batch/']) assert.deepEqual(ingestRoute(p), { kind: 'batch' });
});

test('tolerates doubled slashes and a query string', () => {
  assert.deepEqual(ingestRoute('//v1//t'), { kind: 'single', type: 'track' });
  assert.deepEqual(ingestRoute('/v1/t?x=1'), { kind: 'single', type: 'track' });
  assert.deepEqual(ingestRoute('http://api.example.test/v1/batch'), { kind: 'batch' });
});

test('routes metrics and pixel paths', () => {
  assert.deepEqual(ingestRoute('/v1/m'), { kind: 'metrics' });
  assert.deepEqual(ingestRoute('/v1/pixel/track?data=e30'), { kind: 'pixel', type: 'track' });
});

test('does not route anything else', () => {
  for (const p of ['/', '/v1', '/v2/t', '/v1/x', '/v1/pixel/batch', '/v1/t/extra', 'garbage', '']) {
    assert.deepEqual(ingestRoute(p), { kind: 'none' }, p);
  }
});
