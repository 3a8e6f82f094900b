import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize, deserialize } from 'node:v8';
import type { EventGroup } from '../core/index.ts';
import { packGroup, unpackGroup } from './packed-columns.ts';

function group(n: number, vary: (i: number) => { source?: string; type?: string; reason?: string | null; at?: number }): EventGroup {
  const events = { count: n, sourceIds: [] as string[], messageIds: [] as string[], types: [] as string[], reasons: [] as Array<string | null>, receivedAts: [] as number[], payloadLengths: [] as number[] };
  for (let i = 0; i < n; i++) {
    const v = vary(i);
    events.sourceIds.push(v.source ?? 'src_a');
    events.messageIds.push(`m${i}`);
    events.types.push(v.type ?? 'track');
    events.reasons.push(v.reason ?? null);
    events.receivedAts.push(v.at ?? 1_700_000_000_000);
    events.payloadLengths.push(10 + i);
  }
  return { events, sizes: [n], chunks: [Buffer.from('x')] };
}

test('a group crosses to the writer packed and arrives as it was, whatever runs its columns have', () => {
  const cases = [
    group(1, () => ({})),
    group(500, () => ({})),
    group(9, (i) => ({ source: i < 4 ? 'a' : 'b', type: i % 3 === 0 ? 'page' : 'track', reason: i === 0 || i === 8 ? `bad ${i}` : null, at: 5 + (i >> 2) })),
    group(4, (i) => ({ source: `s${i}`, type: `t${i}`, reason: 'r', at: i })),
  ];
  for (const g of cases) {
    const posted = deserialize(serialize(packGroup(g))) as ReturnType<typeof packGroup>;
    assert.deepEqual(unpackGroup(posted), { ...g, chunks: posted.chunks });
    assert.deepEqual(Buffer.from(posted.chunks[0]!), Buffer.from('x'));
  }
  // A batch's shared values cross once.
  const packed = packGroup(group(500, () => ({})));
  assert.deepEqual([packed.events.sourceIds, packed.events.types, packed.events.reasons, packed.events.receivedAts], [['src_a', 500], ['track', 500], [], [1_700_000_000_000, 500]]);
});
