import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoOf, normaliseEvent, rejectedSummary, type RequestFacts } from './normalise.ts';

const RECEIVED = Date.UTC(2026, 0, 1, 12, 0, 0);
const facts: RequestFacts = { sourceId: 'src_1', receivedAt: RECEIVED, ip: '203.0.113.7' };

test('types a single call by its path whatever the body says', () => {
  const e = normaliseEvent({ type: 'identify', userId: 'u', event: 'E' }, 'track', facts);
  assert.equal(e.type, 'track');
  assert.equal(e.payload.type, 'track');
  assert.equal(e.status, 'accepted');
});

test('rejects a batch item without type as missing_type and with an unknown one as invalid_type', () => {
  const missing = normaliseEvent({ userId: 'u' }, undefined, facts);
  assert.deepEqual([missing.status, missing.reason, missing.type], ['rejected', 'missing_type', 'unknown']);
  const unknown = normaliseEvent({ type: 'purchase', userId: 'u' }, undefined, facts);
  assert.deepEqual([unknown.status, unknown.reason, unknown.type], ['rejected', 'invalid_type', 'purchase']);
});

test('stores a failing event as rejected with the validation reason', () => {
  const e = normaliseEvent({ type: 'track', userId: 'u' }, undefined, facts);
  assert.equal(e.status, 'rejected');
  assert.equal(e.reason, 'missing_event');
});

test('generates a UUID messageId when the client sent none', () => {
  const e = normaliseEvent({ userId: 'u' }, 'identify', facts);
  assert.match(e.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(e.payload.messageId, e.messageId);
});

test('keeps a client messageId of up to 100 characters and rejects a longer one', () => {
  assert.equal(normaliseEvent({ userId: 'u', messageId: 'm'.repeat(100) }, 'identify', facts).messageId, 'm'.repeat(100));
  const long = normaliseEvent({ userId: 'u', messageId: 'm'.repeat(101) }, 'identify', facts);
  assert.equal(long.reason, 'invalid_message_id');
  assert.notEqual(long.messageId, 'm'.repeat(101));
  assert.equal(normaliseEvent({ userId: 'u', messageId: 12 }, 'identify', facts).reason, 'invalid_message_id');
});

test('corrects the timestamp for client clock skew with sentAt', () => {
  // Client clock is 1 hour fast; the event happened 5 s before it was sent.
  const e = normaliseEvent({ userId: 'u', timestamp: '2026-01-01T12:59:55.000Z', sentAt: '2026-01-01T13:00:00.000Z' }, 'identify', facts);
  assert.equal(e.payload.originalTimestamp, '2026-01-01T12:59:55.000Z');
  assert.equal(e.payload.timestamp, '2026-01-01T11:59:55.000Z');
  assert.equal(e.payload.receivedAt, '2026-01-01T12:00:00.000Z');
  assert.equal(e.payload.sentAt, '2026-01-01T13:00:00.000Z');
});

test('uses the batch-level sentAt when the item has none', () => {
  const e = normaliseEvent({ userId: 'u', timestamp: '2026-01-01T12:59:55+01:00' }, 'identify', { ...facts, sentAt: '2026-01-01T12:00:05Z' });
  assert.equal(e.payload.timestamp, '2026-01-01T11:59:50.000Z');
});

test('keeps the client timestamp (as ISO) without sentAt, and uses receivedAt without either', () => {
  const kept = normaliseEvent({ userId: 'u', timestamp: '2025-06-01T00:00:00+02:00' }, 'identify', facts);
  assert.equal(kept.payload.timestamp, '2025-05-31T22:00:00.000Z');
  const none = normaliseEvent({ userId: 'u' }, 'identify', facts);
  assert.equal(none.payload.timestamp, '2026-01-01T12:00:00.000Z');
  assert.equal('originalTimestamp' in none.payload, false);
});

test('falls back to receivedAt for an unparseable or out-of-range timestamp and never throws', () => {
  const bad = normaliseEvent({ userId: 'u', timestamp: 'yesterday' }, 'identify', facts);
  assert.equal(bad.payload.timestamp, '2026-01-01T12:00:00.000Z');
  assert.equal(bad.payload.originalTimestamp, 'yesterday');
  const huge = normaliseEvent({ userId: 'u', timestamp: '+275760-09-13T00:00:00.000Z', sentAt: '-271821-04-20T00:00:00.000Z' }, 'identify', facts);
  assert.equal(typeof huge.payload.timestamp, 'string');
});

test('fills context.ip from the request only when the event has none', () => {
  assert.deepEqual(normaliseEvent({ userId: 'u' }, 'identify', facts).payload.context, { ip: '203.0.113.7' });
  const own = normaliseEvent({ userId: 'u', context: { ip: '198.51.100.1' } }, 'identify', facts);
  assert.equal((own.payload.context as { ip: string }).ip, '198.51.100.1');
});

test('merges batch-level context and integrations under the item, item fields winning one level deep', () => {
  const e = normaliseEvent(
    { type: 'track', userId: 'u', event: 'E', context: { locale: 'fr', library: { version: '2' } }, integrations: { X: false } },
    undefined,
    { ...facts, context: { locale: 'en', library: { name: 'analytics-go', version: '1' }, os: { name: 'linux' } }, integrations: { All: true, X: true } },
  );
  assert.deepEqual(e.payload.context, {
    locale: 'fr', library: { name: 'analytics-go', version: '2' }, os: { name: 'linux' }, ip: '203.0.113.7',
  });
  assert.deepEqual(e.payload.integrations, { All: true, X: false });
});

test('removes the write key from the stored payload', () => {
  const e = normaliseEvent({ userId: 'u', writeKey: 'SECRET' }, 'identify', facts);
  assert.equal('writeKey' in e.payload, false);
  assert.equal(JSON.stringify(e).includes('SECRET'), false);
});

test('rejects a batch item that is not an object as invalid_event', () => {
  const e = normaliseEvent('hello', undefined, facts);
  assert.deepEqual([e.status, e.reason], ['rejected', 'invalid_event']);
});

test('a forced reason rejects an otherwise valid event', () => {
  const e = normaliseEvent({ type: 'identify', userId: 'u' }, undefined, facts, 'too_many_events');
  assert.deepEqual([e.status, e.reason, e.type], ['rejected', 'too_many_events', 'identify']);
});

test('summarises an oversize event by its identifying fields only', () => {
  const e = rejectedSummary({ type: 'track', messageId: 'm1', userId: 'u', event: 'E', properties: { blob: 'x'.repeat(40000) } }, facts, 'event_too_large', 40100);
  assert.deepEqual(e.payload, { type: 'track', sizeBytes: 40100, messageId: 'm1', userId: 'u', event: 'E' });
  assert.deepEqual([e.status, e.reason, e.messageId], ['rejected', 'event_too_large', 'm1']);
});

test('does not let a __proto__ key change the prototype of the stored payload', () => {
  const raw = JSON.parse('{"userId":"u","__proto__":{"polluted":true},"context":{"__proto__":{"x":1}}}') as unknown;
  const batchContext = JSON.parse('{"__proto__":{"y":2},"locale":"en"}') as unknown;
  const e = normaliseEvent(raw, 'identify', { ...facts, context: batchContext });
  assert.equal(Object.getPrototypeOf(e.payload), Object.prototype);
  assert.equal(Object.getPrototypeOf(e.payload.context), Object.prototype);
  assert.equal((e.payload.context as { y?: number }).y, undefined);
  assert.equal((e.payload.context as { locale?: string }).locale, 'en');
  assert.equal((e.payload as { polluted?: boolean }).polluted, undefined);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

test('keeps a canonical ISO timestamp exactly as Date re-formatting would, and still rolls over 02-30 and 24:00', () => {
  const cases: Array<[string, string]> = [
    ['2026-01-01T12:00:00.000Z', '2026-01-01T12:00:00.000Z'],
    ['0000-01-01T00:00:00.000Z', '0000-01-01T00:00:00.000Z'],
    ['2026-02-30T00:00:00.000Z', '2026-03-02T00:00:00.000Z'],
    ['2026-01-01T24:00:00.000Z', '2026-01-02T00:00:00.000Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ];
  for (const [given, expected] of cases) {
    const e = normaliseEvent({ userId: 'u', timestamp: given }, 'identify', facts);
    assert.equal(e.payload.timestamp, expected, given);
    assert.equal(e.payload.originalTimestamp, given);
  }
  // Every canonical-looking value agrees with the Date round trip.
  for (let i = 0; i < 2000; i++) {
    const ms = Math.floor(Math.random() * 8e12) - 4e12;
    const iso = new Date(ms).toISOString();
    if (iso.length !== 24) continue;
    assert.equal(normaliseEvent({ userId: 'u', timestamp: iso }, 'identify', facts).payload.timestamp, iso);
  }
});

test('isoOf writes what toISOString writes, over the four-digit years', () => {
  const edges = [-62_167_219_200_000, 253_402_300_799_999, 0, -1, 951_782_400_000, 951_868_799_999, 4_107_542_399_999, 1_767_268_800_000];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 4_294_967_296;
  const samples = [...edges, ...Array.from({ length: 200_000 }, () => Math.floor(-62_167_219_200_000 + next() * 315_569_520_000_000))];
  for (const ms of samples) assert.equal(isoOf(ms), new Date(ms).toISOString(), String(ms));
});
