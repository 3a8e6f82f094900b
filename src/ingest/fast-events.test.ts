import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvents, payloadTexts, type EncodedEvents } from '../core/index.ts';
import type { EventType } from './event-rules.ts';
import { scanRequest } from './fast-events.ts';
import { batchEvents, singleEvent, type BaseFacts, type EventLimits } from './request-events.ts';

const FACTS: BaseFacts = { sourceId: 'src_1', receivedAt: Date.parse('2026-03-04T05:06:07.089Z'), ip: '198.51.100.7' };
const LIMITS: EventLimits = { maxEventBytes: 32 * 1024, maxBatchEvents: 2500 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The general path's outcome: `JSON.parse`, normalise, serialise. */
function general(body: string, route: EventType | 'batch', facts = FACTS, limits = LIMITS): EncodedEvents {
  const value = JSON.parse(body) as Record<string, unknown>;
  const bytes = Buffer.byteLength(body);
  return encodeEvents(route === 'batch' ? batchEvents(value, bytes, facts, limits) : [singleEvent(value, bytes, route, facts, limits)]);
}

/** Everything observable of encoded events, generated ids replaced, payload key order kept. */
function view(e: EncodedEvents): unknown {
  const gen = (v: unknown) => (typeof v === 'string' && UUID.test(v) ? 'GENERATED' : v);
  return {
    sourceIds: e.sourceIds, types: e.types, reasons: e.reasons, receivedAts: e.receivedAts,
    messageIds: e.messageIds.map(gen),
    payloads: payloadTexts(e).map((t) => {
      const p = JSON.parse(t) as Record<string, unknown>;
      if ('messageId' in p) p.messageId = gen(p.messageId);
      return JSON.stringify(p);
    }),
  };
}

function assertSame(body: string, route: EventType | 'batch', facts = FACTS, limits = LIMITS): boolean {
  const scanned = scanRequest(Buffer.from(body), route, limits);
  let expected: unknown;
  try {
    expected = view(general(body, route, facts, limits));
  } catch {
    assert.equal(scanned, undefined, `the fast path took a body the general path refuses: ${body}`);
    return false;
  }
  if (scanned === undefined) return false;
  assert.deepEqual(view(scanned.encode(facts)), expected, body);
  return true;
}

test('encodes common single calls and batches itself, exactly as the general path would', () => {
  const track = { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm1', timestamp: '2026-03-04T05:00:00.000Z', properties: { revenue: 9.5, note: 'é "q" \\ /' }, context: { library: { name: 'analytics-node', version: '3' } } };
  assert.equal(assertSame(JSON.stringify(track), 'track'), true);
  assert.equal(assertSame(JSON.stringify({ ...track, writeKey: 'KEY', context: { ip: '203.0.113.1' } }), 'track'), true);
  assert.equal(assertSame(JSON.stringify({ batch: [track, { ...track, messageId: 'm2', type: 'identify' }], sentAt: '2026-03-04T05:06:00.000Z', writeKey: 'K' }), 'batch'), true);
  assert.equal(assertSame(JSON.stringify({ batch: [{ ...track, writeKey: 'K' }] }, null, 2), 'batch'), true);
  // Browser shapes: no context.ip, the write key in the event, sentAt in the event.
  assert.equal(assertSame(JSON.stringify({ event: 'Viewed', anonymousId: 'a', writeKey: 'K', sentAt: '2026-03-04T05:06:05.000Z', timestamp: '2026-03-04T05:06:04.000Z', context: { page: { url: 'https://x.test/' } } }), 'track'), true);
});

test('reports the write keys the general path reads', () => {
  const s = scanRequest(Buffer.from(JSON.stringify({ batch: [{ type: 'track' }, { type: 'track', writeKey: 'ITEM' }], writeKey: 'TOP' })), 'batch', LIMITS);
  assert.deepEqual(s?.writeKeys, ['TOP', 'ITEM']);
  assert.deepEqual(scanRequest(Buffer.from('{"writeKey":"W","event":"e","userId":"u"}'), 'track', LIMITS)?.writeKeys, ['W']);
});

test('leaves bodies it does not handle to the general path', () => {
  for (const body of [
    '{"batch":[{"type":"track"}],"context":{"ip":"1.1.1.1"}}', // batch-level context is merged by the general path
    '{"batch":[],"batch":[]}', '\ufeff{"event":"e"}', '[1]', '{"event":"e"} x', '{"event":"e",}', '{"batch":{}}',
  ]) assert.equal(scanRequest(Buffer.from(body), body.includes('batch') ? 'batch' : 'track', LIMITS), undefined, body);
  assert.equal(scanRequest(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'track', LIMITS), undefined);
  assert.equal(scanRequest(Buffer.from(`${'['.repeat(300)}${']'.repeat(300)}`), 'batch', LIMITS), undefined);
});

// Deterministic pseudo-random generator (mulberry32) so a failure can be replayed.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Raw JSON texts for each field, including what JSON.stringify never writes (escapes, repeats, odd numbers). */
const CHOICES: Record<string, string[]> = {
  type: ['"track"', '"identify"', '"page"', '"screen"', '"group"', '"alias"', '"bogus"', '""', 'null', '5', '{}', '"tr\\u0061ck"'],
  messageId: ['"m-1"', '""', 'null', '42', `"${'x'.repeat(101)}"`, `"${'é'.repeat(100)}"`, '"a\\"b"', '{"x":1}', '"ü-\\u00e9"'],
  userId: ['"u"', '"  "', '7', '1e400', '"\\u00a0"', 'true', '"\\t"', '0'],
  anonymousId: ['"anon"', '""', '-0', '[1]'],
  event: ['"E"', '" "', '3', '"Ev\\u0065nt 😀"'],
  groupId: ['"g"', '""', '1.5E+3'],
  previousId: ['"p"', 'null'],
  timestamp: ['"2026-03-04T05:00:00.000Z"', '"2026-03-04T05:00:00Z"', '"2026-02-30T00:00:00.000Z"', '"garbage"', '12345', 'null', '{}', '"2026-03-04T05:00:00.000+02:00"'],
  sentAt: ['"2026-03-04T05:06:00.000Z"', 'null', '"nope"', '[]', '"2026-03-04T05:06:09.500Z"'],
  writeKey: ['"KEY"', '5', '""'],
  context: ['{}', '{"ip":"1.1.1.1"}', '{"ip":null}', '{"ip":""}', '{"ip":5}', '{"library":{"name":"x"}}', '"str"', '[]', 'null', '{"ip":"a","ip":"b"}', '{"i\\u0070":"x"}', '{ "page" : { "url" : "https://x.test/?a=1&b=\\"2\\"" } }'],
  properties: ['{"a":[1,2,{"b":null}],"s":"line\\nbreak","u":"\\ud83d\\ude00","lone":"\\ud800"}', '{"big":1e2,"neg":-0.5e-3}', '[]'],
  receivedAt: ['"client"'],
  originalTimestamp: ['"2020-01-01T00:00:00.000Z"'],
  integrations: ['{"All":false}', '"x"'],
};
const KEYS = Object.keys(CHOICES);

function randomEvent(r: () => number): string {
  const parts: string[] = [];
  for (const k of KEYS) {
    if (r() < 0.45) continue;
    const opts = CHOICES[k]!;
    const key = r() < 0.03 ? `"${k.replace(/^./, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}"` : `"${k}"`;
    const sp = r() < 0.2 ? ' \n\t' : '';
    parts.push(`${sp}${key}${sp}:${sp}${opts[Math.floor(r() * opts.length)]!}${sp}`);
    if (r() < 0.03) parts.push(`"${k}":${opts[0]!}`); // a repeated key
  }
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return `{${parts.join(',')}}`;
}

test('matches the general path on 4,000 generated single calls and batches (and refuses what it refuses)', () => {
  const r = rng(20261203);
  let fast = 0;
  const limits: EventLimits = { maxEventBytes: 2_000, maxBatchEvents: 6 };
  for (let n = 0; n < 2_000; n++) {
    const facts = r() < 0.2 ? { ...FACTS, ip: undefined } : FACTS;
    const type = (['track', 'page', 'identify', 'group', 'alias', 'screen'] as const)[n % 6]!;
    if (assertSame(randomEvent(r), type, facts, limits)) fast++;
    const items = Array.from({ length: Math.floor(r() * 9) }, () => (r() < 0.1 ? ['5', '"x"', 'null', '[]'][Math.floor(r() * 4)]! : r() < 0.05 ? `{"type":"track","properties":{"pad":"${'p'.repeat(2_100)}"}}` : randomEvent(r)));
    const top = [`"batch":[${items.join(',')}]`];
    if (r() < 0.5) top.push(`"sentAt":${CHOICES.sentAt![Math.floor(r() * CHOICES.sentAt!.length)]}`);
    if (r() < 0.3) top.push('"writeKey":"TOP"');
    if (r() < 0.05) top.push('"context":{"ip":"9.9.9.9"}');
    if (assertSame(`{${top.join(',')}}`, 'batch', facts, limits)) fast++;
  }
  // Most generated bodies are valid JSON the fast path takes; a silent fallback everywhere must fail this.
  assert.ok(fast > 2_500, `fast path taken ${fast} times`);
});

test('never takes a body JSON.parse refuses: 3,000 mutated bodies', () => {
  const r = rng(7);
  const seed = JSON.stringify({ batch: [{ type: 'track', event: 'E', userId: 'u', properties: { a: [1, 2.5, -3e2, true, null, 'é\\n'] } }], sentAt: '2026-03-04T05:06:00.000Z' });
  for (let n = 0; n < 3_000; n++) {
    const bytes = Buffer.from(seed);
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) bytes[Math.floor(r() * bytes.length)] = ' {}[]",:\\0123456789eE+-.tfnul\u0001x'.charCodeAt(Math.floor(r() * 32));
    const body = r() < 0.2 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : bytes;
    assertSame(body.toString('latin1'), 'batch');
  }
});
