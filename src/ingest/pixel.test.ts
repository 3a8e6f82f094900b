import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PIXEL_GIF, pixelEvent } from './pixel.ts';

test('decodes standard and URL-safe base64 JSON from ?data=', () => {
  const json = JSON.stringify({ writeKey: 'K', userId: 'ü>?', event: 'Opened' });
  const std = Buffer.from(json).toString('base64');
  assert.deepEqual(pixelEvent(`/v1/pixel/track?data=${encodeURIComponent(std)}`), JSON.parse(json));
  assert.deepEqual(pixelEvent(`/v1/pixel/track?data=${Buffer.from(json).toString('base64url')}`), JSON.parse(json));
});

test('restores a + that query decoding turned into a space', () => {
  const json = JSON.stringify({ writeKey: 'K', userId: 'u', properties: { s: '>>>>' } });
  const std = Buffer.from(json).toString('base64');
  assert.ok(std.includes('+'));
  assert.deepEqual(pixelEvent(`/v1/pixel/track?data=${std}`), JSON.parse(json));
});

test('yields nothing for missing, non-JSON or non-object data', () => {
  assert.equal(pixelEvent('/v1/pixel/track'), undefined);
  assert.equal(pixelEvent('/v1/pixel/track?data='), undefined);
  assert.equal(pixelEvent(`/v1/pixel/track?data=${Buffer.from('nope').toString('base64')}`), undefined);
  assert.equal(pixelEvent(`/v1/pixel/track?data=${Buffer.from('[1]').toString('base64')}`), undefined);
});

test('the pixel is a 1x1 GIF89a', () => {
  assert.equal(PIXEL_GIF.subarray(0, 6).toString('latin1'), 'GIF89a');
  assert.equal(PIXEL_GIF.readUInt16LE(6), 1);
  assert.equal(PIXEL_GIF.readUInt16LE(8), 1);
});
