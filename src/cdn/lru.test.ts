import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from './lru.ts';

test('evicts the least recently used entry past capacity', () => {
  const c = new LruCache<string, number>(2);
  c.set('a', 1);
  c.set('b', 2);
  assert.equal(c.get('a'), 1); // a is now the most recent
  c.set('c', 3);
  assert.equal(c.get('b'), undefined);
  assert.deepEqual([c.get('a'), c.get('c'), c.size], [1, 3, 2]);
});

test('deletes entries and refuses a non-positive capacity', () => {
  const c = new LruCache<string, number>(1);
  c.set('a', 1);
  c.delete('a');
  assert.equal(c.size, 0);
  assert.throws(() => new LruCache(0), RangeError);
});

test('repeated hits on the newest entry keep the recency order of the others', () => {
  const c = new LruCache<string, number>(3);
  c.set('a', 1);
  c.set('b', 2);
  c.set('c', 3);
  c.get('c');
  c.get('c');
  c.get('a'); // order now b, c, a
  c.set('d', 4);
  assert.equal(c.get('b'), undefined, 'b was the least recently used');
  c.delete('d');
  c.set('d', 5);
  assert.deepEqual([c.get('d'), c.get('c'), c.get('a'), c.size], [5, 3, 1, 3]);
});
