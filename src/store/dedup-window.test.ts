import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DedupWindow } from './dedup-window.ts';

function keyed(w: DedupWindow) {
  const h = new Uint32Array(2);
  const hashOf = (s: string, m: string): [number, number] => {
    w.hash(s, m, h);
    return [h[0]!, h[1]!];
  };
  return {
    has: (s: string, m: string) => w.has(...hashOf(s, m)),
    add: (s: string, m: string) => w.add(...hashOf(s, m)),
  };
}

test('finds every key added, and no other, as the tables grow far past their first size', () => {
  const w = keyed(new DedupWindow(1_000_000));
  for (let i = 0; i < 200_000; i++) w.add('src_a', `m-${i}`);
  for (let i = 0; i < 200_000; i++) assert.equal(w.has('src_a', `m-${i}`), true, `m-${i}`);
  let found = 0;
  for (let i = 200_000; i < 400_000; i++) if (w.has('src_a', `m-${i}`)) found += 1;
  assert.equal(found, 0);
});

test('a key is the pair (source, messageId): the same messageId of another source, or a shifted split, is another key', () => {
  const w = keyed(new DedupWindow(10));
  w.add('src_a', 'm1');
  assert.equal(w.has('src_a', 'm1'), true);
  assert.equal(w.has('src_b', 'm1'), false);
  assert.equal(w.has('src_', 'am1'), false);
  assert.equal(w.has('src_am1', ''), false);
});

test('keeps at least the latest perGeneration keys; older ones leave a generation at a time', () => {
  const dw = new DedupWindow(3);
  const w = keyed(dw);
  for (const m of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) w.add('s', m);
  // Generations: [a b c] [d e f] [g] -> the first was cleared when g arrived.
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((m) => w.has('s', m)), [false, false, false, true, true, true, true]);
  assert.equal(dw.size, 4);
});

test('hash seeds differ per window, so a key set built against one process says nothing of another', () => {
  const h1 = new Uint32Array(2);
  const h2 = new Uint32Array(2);
  new DedupWindow(1).hash('s', 'm', h1);
  new DedupWindow(1).hash('s', 'm', h2);
  assert.notDeepEqual([...h1], [...h2]);
});

test('refuses a window that is not a positive integer', () => {
  assert.throws(() => new DedupWindow(0), RangeError);
  assert.throws(() => new DedupWindow(1.5), RangeError);
});
