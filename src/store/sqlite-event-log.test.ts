import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { StoredEvent } from '../core/index.ts';
import { openSqliteStore } from './sqlite-store.ts';

const ev = (messageId: string, sourceId = 'src_a'): StoredEvent => ({
  sourceId, messageId, type: 'track', status: 'accepted', reason: null, receivedAt: 1, payload: { event: messageId },
});

test('counts stored and duplicate events exactly across multi-row chunks, and keeps arrival order', async (t) => {
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  assert.deepEqual(await store.events.append(Array.from({ length: 10 }, (_, i) => ev(`m${i}`))), { stored: 10, duplicates: 0 });
  // 123 events: 10 already stored, one repeated inside the request, 112 new; spans two chunks and a remainder.
  const batch = [...Array.from({ length: 120 }, (_, i) => ev(`m${i}`)), ev('m50'), ev('m5', 'src_b'), ev('m121')];
  assert.deepEqual(await store.events.append(batch), { stored: 112, duplicates: 11 });
  const ids = (await store.events.recent('src_a', 1000)).reverse().map((e) => e.messageId);
  assert.deepEqual(ids, [...Array.from({ length: 120 }, (_, i) => `m${i}`), 'm121']);
  assert.equal(await store.events.count('src_b'), 1);
});

test('concurrent appends share one commit and each learns its own counts', async (t) => {
  const store = openSqliteStore(':memory:');
  t.after(() => store.close());
  const results = await Promise.all([
    store.events.append(Array.from({ length: 60 }, (_, i) => ev(`a${i}`))),
    store.events.append([ev('a1'), ev('b1')]),
    store.events.append(Array.from({ length: 50 }, (_, i) => ev(`a${i}`))),
  ]);
  assert.deepEqual(results, [{ stored: 60, duplicates: 0 }, { stored: 1, duplicates: 1 }, { stored: 0, duplicates: 50 }]);
  assert.equal(await store.events.count(), 61);
});

test('a file database commits in the writer thread: counts are exact, reads see every resolved append, close drains', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-eventlog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.db');
  const store = openSqliteStore(path);
  let closed = false;
  t.after(async () => { if (!closed) await store.close(); });
  const results = await Promise.all([
    store.events.append(Array.from({ length: 250 }, (_, i) => ev(`f${i}`))),
    store.events.append([ev('f1'), ev('g1')]),
    store.events.append([ev('g1')]),
  ]);
  assert.deepEqual(results, [{ stored: 250, duplicates: 0 }, { stored: 1, duplicates: 1 }, { stored: 0, duplicates: 1 }]);
  assert.equal(await store.events.count('src_a'), 251);
  assert.deepEqual((await store.events.recent('src_a', 1)).map((e) => e.messageId), ['g1']);
  // Appended in the same turn as close(): still committed before close resolves.
  const last = store.events.append([ev('h1')]);
  await store.close();
  closed = true;
  assert.deepEqual(await last, { stored: 1, duplicates: 0 });
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    assert.equal((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 252);
  } finally {
    db.close();
  }
});
