import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchEvents, singleEvent } from './request-events.ts';

const facts = { sourceId: 'src_1', receivedAt: Date.UTC(2026, 0, 1, 12), ip: '203.0.113.7' };
const limits = { maxEventBytes: 2_000, maxBatchEvents: 100 };

function body(batch: unknown[]): { value: Record<string, unknown>; bytes: number } {
  const value = { batch };
  return { value, bytes: Buffer.byteLength(JSON.stringify(value)) };
}

test('batch items carry their stored JSON, identical to serialising the payload', () => {
  const items = Array.from({ length: 5 }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', messageId: `m${i}`, properties: { pad: 'x'.repeat(600) } }));
  const b = body(items);
  assert.ok(b.bytes > limits.maxEventBytes, 'the body is large enough for the size check to run');
  const events = batchEvents(b.value, b.bytes, facts, limits);
  assert.equal(events.length, 5);
  for (const e of events) {
    assert.equal(e.status, 'accepted');
    assert.equal(e.payloadJson, JSON.stringify(e.payload));
  }
});

test('an item over the size limit is rejected even when normalising would shrink it below the limit', () => {
  const small = { type: 'track', userId: 'u', event: 'E', messageId: 'ok' };
  // Fields normalisation drops or overwrites: the stored form is small, the item as sent is not.
  const viaReceivedAt = { ...small, messageId: 'big1', receivedAt: 'r'.repeat(3_000) };
  const viaWriteKey = { ...small, messageId: 'big2', writeKey: 'w'.repeat(3_000) };
  const viaContext = { ...small, messageId: 'big3', context: 'c'.repeat(3_000) };
  const viaOriginal = { ...small, messageId: 'big4', timestamp: '2026-01-01T00:00:00Z', originalTimestamp: 'o'.repeat(3_000) };
  const b = body([small, viaReceivedAt, viaWriteKey, viaContext, viaOriginal]);
  const events = batchEvents(b.value, b.bytes, facts, limits);
  assert.deepEqual(events.map((e) => [e.messageId, e.reason]), [
    ['ok', null], ['big1', 'event_too_large'], ['big2', 'event_too_large'], ['big3', 'event_too_large'], ['big4', 'event_too_large'],
  ]);
});

test('multi-byte text counts in UTF-8 bytes: an item of 1,000 three-byte characters is over a 2,000-byte limit', () => {
  const item = { type: 'track', userId: 'u', event: 'E', messageId: 'euro', properties: { s: '€'.repeat(1_000) } };
  const b = body([item]);
  const [e] = batchEvents(b.value, b.bytes, facts, limits);
  assert.equal(e!.reason, 'event_too_large');
});

/** An object nested `depth` levels deep, built without recursion. */
function deep(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

test('an event nested too deeply to serialise is refused on its own: 400 for a single call, a rejected item in a batch', () => {
  const tooDeep = deep(200_000);
  assert.throws(() => singleEvent({ userId: 'u', event: 'E', properties: tooDeep }, 100, 'track', facts, limits), (err: any) => err.code === 'ERR_INGEST_EVENT_TOO_DEEP');
  const events = batchEvents({ batch: [{ type: 'track', userId: 'u', event: 'ok', messageId: 'ok-1' }, { type: 'track', userId: 'u', event: 'deep', messageId: 'deep-1', properties: tooDeep }] }, 100, facts, limits);
  assert.equal(events[0]!.status, 'accepted');
  assert.equal(events[1]!.status, 'rejected');
  assert.equal(events[1]!.reason, 'event_too_deep');
  assert.equal(events[1]!.messageId, 'deep-1');
  assert.doesNotThrow(() => JSON.stringify(events[1]!.payload));
});
