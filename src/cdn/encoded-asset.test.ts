import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { encodeAsset, ifNoneMatchHits, negotiateCoding } from './encoded-asset.ts';

test('precompresses into gzip and brotli that decode to the identity bytes', async () => {
  const body = Buffer.from('function f(){return 1}'.repeat(500));
  const a = await encodeAsset(body);
  assert.deepEqual(a.identity.body, body);
  assert.deepEqual(gunzipSync(a.gzip.body), body);
  assert.deepEqual(brotliDecompressSync(a.br.body), body);
  assert.ok(a.br.body.length < body.length && a.gzip.body.length < body.length);
});

test('gives each coding its own strong ETag, stable for the same bytes', async () => {
  const a = await encodeAsset(Buffer.from('x'));
  const b = await encodeAsset(Buffer.from('x'));
  const c = await encodeAsset(Buffer.from('y'));
  assert.equal(new Set([a.identity.etag, a.gzip.etag, a.br.etag]).size, 3);
  for (const e of [a.identity.etag, a.gzip.etag, a.br.etag]) assert.match(e, /^"[\w-]+"$/);
  assert.equal(a.br.etag, b.br.etag);
  assert.notEqual(a.br.etag, c.br.etag);
});

test('negotiates br over gzip over identity, honouring q-values', () => {
  assert.equal(negotiateCoding('gzip, deflate, br'), 'br');
  assert.equal(negotiateCoding('gzip, deflate'), 'gzip');
  assert.equal(negotiateCoding('br;q=0.5, gzip;q=0.9'), 'gzip');
  assert.equal(negotiateCoding('br;q=0, gzip'), 'gzip');
  assert.equal(negotiateCoding('x-gzip'), 'gzip');
  assert.equal(negotiateCoding('*'), 'br');
  assert.equal(negotiateCoding(undefined), 'identity');
  assert.equal(negotiateCoding(''), 'identity');
  assert.equal(negotiateCoding('deflate'), 'identity');
  assert.equal(negotiateCoding('gzip;q=0, br;q=0'), 'identity');
  assert.equal(negotiateCoding('identity;q=0, *;q=0'), 'identity');
});

test('matches If-None-Match by weak comparison, lists and *', () => {
  assert.equal(ifNoneMatchHits('"abc-br"', '"abc-br"'), true);
  assert.equal(ifNoneMatchHits('W/"abc-br"', '"abc-br"'), true);
  assert.equal(ifNoneMatchHits('"zzz", "abc-br"', '"abc-br"'), true);
  assert.equal(ifNoneMatchHits('*', '"abc-br"'), true);
  assert.equal(ifNoneMatchHits('"abc-gzip"', '"abc-br"'), false);
  assert.equal(ifNoneMatchHits(undefined, '"abc-br"'), false);
});
