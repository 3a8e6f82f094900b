import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, utimes } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { encodeEvents, type StoredEvent } from '../core/index.ts';
import { processIdentity, SegmentAppender, SegmentReader, segmentsDirFor } from './event-segments.ts';
import { groupHeader } from './group-header.ts';
import { openSqliteStore } from './sqlite-store.ts';

/** A database path `events.db` in a folder of its own, removed after the test. */
async function tempDatabase(t: { after: (fn: () => Promise<void>) => void }): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-eventlog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, path: join(dir, 'events.db') };
}

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
  const { path } = await tempDatabase(t);
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

test('a file database keeps every index field of every row, whether a chunk\'s rows share source, type and reason or not', async (t) => {
  const { path } = await tempDatabase(t);
  const store = openSqliteStore(path);
  t.after(() => store.close());
  // One append of 100 alike events (a chunk sharing its values), then appends that mix sources,
  // types, reasons and receipt times, all committed as one group across several chunks.
  const alike = Array.from({ length: 100 }, (_, i): StoredEvent => ({ ...ev(`s${i}`, 'src_s'), receivedAt: 1000 + i }));
  const mixed = Array.from({ length: 150 }, (_, i): StoredEvent => ({
    sourceId: i % 3 === 0 ? 'src_t' : 'src_s', messageId: `x${i}`, type: i % 2 === 0 ? 'track' : 'page',
    status: i % 5 === 0 ? 'rejected' : 'accepted', reason: i % 5 === 0 ? `bad ${i}` : null, receivedAt: 2000 + i, payload: { n: i },
  }));
  await Promise.all([store.events.append(alike), store.events.append(mixed.slice(0, 70)), store.events.append(mixed.slice(70))]);
  const strip = ({ seq: _seq, ...e }: StoredEvent & { seq: number }) => e;
  const got = [...(await store.events.recent('src_s', 1000)), ...(await store.events.recent('src_t', 1000))].map(strip);
  const want = [...alike.map((e) => ({ ...e, payload: { event: e.messageId } })), ...mixed];
  const key = (e: StoredEvent) => `${e.sourceId}/${e.messageId}`;
  assert.deepEqual(new Map(got.map((e) => [key(e), e])), new Map(want.map((e) => [key(e), e])));
});

test('a file database keeps payloads in the segment log, byte-exact (non-ASCII included), and reads them back by position', async (t) => {
  const { path } = await tempDatabase(t);
  const store = openSqliteStore(path);
  t.after(() => store.close());
  const odd = { event: 'Bestellung abgeschlossen — 注文 ✓ 😀', nested: { line: 'a\nb', quote: '"' } };
  await store.events.append([{ ...ev('u1'), payload: odd }, ev('u2')]);
  const [second, first] = await store.events.recent('src_a', 10);
  assert.deepEqual(first!.payload, odd);
  assert.deepEqual(second!.payload, { event: 'u2' });
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT payload, log_segment AS s, log_offset AS o, log_length AS l FROM events ORDER BY seq').all() as Array<{ payload: string; s: number; o: number; l: number }>;
    assert.deepEqual(rows.map((r) => r.payload), ['', '']);
    const segment = await readFile(join(segmentsDirFor(path), '00000001.jsonl'));
    // One JSON line per payload, at the recorded byte positions.
    assert.deepEqual(JSON.parse(segment.subarray(rows[0]!.o, rows[0]!.o + rows[0]!.l).toString('utf8')), odd);
    assert.equal(segment[rows[0]!.o + rows[0]!.l], 0x0a);
    assert.equal(rows[1]!.o, rows[0]!.o + rows[0]!.l + 1);
  } finally {
    db.close();
  }
});

test('bytes a crash left after the last indexed payload are never read, and appends continue after them', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path);
  await store.events.append([ev('c1')]);
  await store.close();
  // A torn line, as a crash between the log write and the index commit leaves it.
  await appendFile(join(segmentsDirFor(path), '00000001.jsonl'), '{"event":"torn');
  store = openSqliteStore(path);
  t.after(() => store.close());
  await store.events.append([ev('c2')]);
  assert.deepEqual((await store.events.recent('src_a', 10)).map((e) => e.payload), [{ event: 'c2' }, { event: 'c1' }]);
});

test('rows stored with their payload inline (before the segment log) are still read', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path);
  await store.close();
  const db = new BetterSqlite3(path);
  db.prepare(`INSERT INTO events (source_id, message_id, type, status, reason, received_at, payload) VALUES ('src_a', 'old', 'track', 'accepted', NULL, 1, '{"event":"old"}')`).run();
  db.close();
  store = openSqliteStore(path);
  t.after(() => store.close());
  await store.events.append([ev('new')]);
  assert.deepEqual((await store.events.recent('src_a', 10)).map((e) => e.payload), [{ event: 'new' }, { event: 'old' }]);
});

test('the segment log moves to a new segment once the current one is full, never splitting a group', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-segments-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Each segment starts with its owner line; groups follow it.
  const base = Buffer.byteLength(`%${JSON.stringify({ pid: process.pid, ...processIdentity(), writer: 'w1', host: hostname() })}\n`);
  const log = new SegmentAppender(dir, base + 100, 'w1');
  const line = (s: string) => Buffer.from(`${s}\n`);
  const a = log.append([line('{"n":1}'), line('{"n":2}')]);
  const b = log.append([line('x'.repeat(120))]);
  const c = log.append([line('{"n":4}')]);
  log.close();
  assert.deepEqual([a, b, c], [{ segment: 1, offset: base }, { segment: 2, offset: base }, { segment: 3, offset: base }]);
  assert.deepEqual(JSON.parse((await readFile(join(dir, '00000001.jsonl'), 'utf8')).split('\n')[0]!.slice(1)), { pid: process.pid, ...processIdentity(), writer: 'w1', host: hostname() });
  const reader = new SegmentReader(dir);
  t.after(() => reader.close());
  assert.equal(reader.read({ segment: 1, offset: base + 8, length: 7 }), '{"n":2}');
  assert.equal(reader.read({ segment: 2, offset: base, length: 120 }), 'x'.repeat(120));
  assert.throws(() => reader.read({ segment: 3, offset: base, length: 100 }), /ends before byte/);
  // A reopened log, and a second one beside it (another process on the same database), each
  // append to a segment of their own: no two writers ever share a file.
  const again = new SegmentAppender(dir, base + 100, 'w1');
  const beside = new SegmentAppender(dir, base + 100, 'w1');
  assert.deepEqual(again.append([line('{"n":5}')]), { segment: 4, offset: base });
  assert.deepEqual(beside.append([line('{"n":6}')]), { segment: 5, offset: base });
  assert.deepEqual(again.append([line('{"n":7}')]), { segment: 4, offset: base + 8 });
  again.close();
  beside.close();
  assert.equal(reader.read({ segment: 4, offset: base + 8, length: 7 }), '{"n":7}');
});

/** Appends `events` to the segment log of the database at `path` as the writer does, without indexing them (a crash lost the commit). */
function logWithoutIndex(path: string, events: StoredEvent[], cut?: number): void {
  const encoded = encodeEvents(events);
  const log = new SegmentAppender(segmentsDirFor(path));
  const bytes = Buffer.concat([groupHeader(encoded), encoded.payloads]);
  log.append([cut === undefined ? bytes : bytes.subarray(0, bytes.length - cut)]);
  log.close();
}

test('groups synced to the segment log whose index commit a crash lost are indexed again at the next start, once', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path);
  await store.events.append([ev('r1')]);
  await store.close();
  const odd = { event: 'Bestellung — 注文 😀', line: 'a\nb' };
  logWithoutIndex(path, [ev('r2'), { ...ev('r3'), payload: odd }, ev('r1'), { ...ev('r4', 'src_b'), status: 'rejected', reason: 'missing userId' }]);
  store = openSqliteStore(path);
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 1, events: 4 });
  const recent = await store.events.recent('src_a', 10);
  assert.deepEqual(recent.map((e) => e.messageId), ['r3', 'r2', 'r1']);
  assert.deepEqual(recent[0]!.payload, odd);
  const [rejected] = await store.events.recent('src_b', 10);
  assert.equal(rejected!.status, 'rejected');
  assert.equal(rejected!.reason, 'missing userId');
  // A client's retry of a recovered event is a duplicate, and new appends go on.
  assert.deepEqual(await store.events.append([ev('r2'), ev('r5')]), { stored: 1, duplicates: 1 });
  await store.close();
  store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 0, events: 0 });
  assert.equal(await store.events.count(), 5);
});

test('a torn group at the end of a segment is never indexed; the whole groups before it are', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path);
  await store.close();
  logWithoutIndex(path, [ev('w1')]);
  for (const cut of [1, 5, 40]) logWithoutIndex(path, [ev(`t${cut}`), ev(`u${cut}`)], cut);
  // Bytes that are no group at all: a header that is not JSON, and one whose columns disagree.
  await appendFile(join(segmentsDirFor(path), '00000006.jsonl'), '#{"count":2,"sourceIds":["src_a"]}\n{"event":"x"}\n');
  await appendFile(join(segmentsDirFor(path), '00000007.jsonl'), '#not json\n');
  // A header whose length spans two lines: newline-aligned, but not one JSON object.
  const lying = groupHeader({ ...encodeEvents([ev('l1')]), payloadLengths: [6] });
  await appendFile(join(segmentsDirFor(path), '00000008.jsonl'), Buffer.concat([lying, Buffer.from('{ }\n{}\n')]));
  store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 1, events: 1 });
  assert.deepEqual((await store.events.recent('src_a', 10)).map((e) => e.messageId), ['w1']);
  await store.events.append([ev('w2')]);
  assert.deepEqual((await store.events.recent('src_a', 10)).map((e) => e.payload), [{ event: 'w2' }, { event: 'w1' }]);
});

test('two event logs on one database (two processes during a restart) store a messageId once, whichever gets it first', async (t) => {
  const { path } = await tempDatabase(t);
  const a = openSqliteStore(path);
  const b = openSqliteStore(path);
  t.after(async () => { await a.close(); await b.close(); });
  assert.deepEqual(await a.events.append([ev('x1'), ev('x2')]), { stored: 2, duplicates: 0 });
  assert.deepEqual(await b.events.append([ev('x1'), ev('x3')]), { stored: 1, duplicates: 1 });
  // a learns of b's row when it next writes.
  assert.deepEqual(await a.events.append([ev('x3'), ev('x4')]), { stored: 1, duplicates: 1 });
  assert.deepEqual(await b.events.append([ev('x4'), ev('x2'), ev('x5')]), { stored: 1, duplicates: 2 });
  assert.deepEqual((await a.events.recent('src_a', 10)).map((e) => e.messageId), ['x5', 'x4', 'x3', 'x2', 'x1']);
});

test('a store alone on its database holds its write transaction across groups; reads through it see every resolved append', async (t) => {
  const { path } = await tempDatabase(t);
  // Held until something asks: no timer lets go within the test.
  const store = openSqliteStore(path, { holdMs: 600_000 });
  t.after(() => store.close());
  const raw = new BetterSqlite3(path, { readonly: true });
  t.after(() => raw.close());
  const committed = () => (raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  for (let i = 0; i < 5; i++) assert.deepEqual(await store.events.append([ev(`h${i}`)]), { stored: 1, duplicates: 0 });
  // Acknowledged (in the segment log, synced) but not yet committed: other connections see none.
  assert.equal(committed(), 0);
  // A read through the store commits first.
  assert.equal(await store.events.count('src_a'), 5);
  assert.equal(committed(), 5);
  assert.deepEqual(await store.events.append([ev('h0'), ev('h5')]), { stored: 1, duplicates: 1 });
  await store.close();
  assert.equal(committed(), 6);
});

test('control-plane writes on the main connection never wait out a transaction the event writer holds', async (t) => {
  const { path } = await tempDatabase(t);
  // Held until something asks: a write that waited for the writer's own timer would time out.
  const store = openSqliteStore(path, { holdMs: 600_000 });
  t.after(() => store.close());
  // The writer thread is running (and holding) before the load starts.
  await store.events.append([ev('c-first')]);
  let appending = true;
  let appended = 1;
  const load = (async () => {
    while (appending) {
      await store.events.append([ev(`c${appended}`)]);
      appended += 1;
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await store.workspaces.create({ id: `ws${i}`, name: 'Shop', plan: 'business', createdAt: 1 });
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  appending = false;
  await load;
  assert.ok(appended > 20, `appends ran meanwhile (${appended})`);
  assert.equal((await store.workspaces.list()).length, 20);
  assert.ok(Math.max(...times) < 1_000, `slowest control write ${Math.max(...times).toFixed(1)} ms`);
  assert.equal(await store.events.count('src_a'), appended);
});

test('closing a store (twice at once, too) leaves each segment exactly its groups, with no zeros written ahead', async (t) => {
  const { path } = await tempDatabase(t);
  const store = openSqliteStore(path);
  for (let i = 0; i < 3; i++) await store.events.append([ev(`z${i}`)]);
  const closes = [store.close(), store.close()];
  await Promise.all(closes);
  const segmentDir = segmentsDirFor(path);
  const files = (await readdir(segmentDir)).filter((n) => n.endsWith('.jsonl'));
  assert.equal(files.length, 1);
  const bytes = await readFile(join(segmentDir, files[0]!));
  assert.equal(bytes.at(-1), 0x0a, 'ends with its last payload line');
  assert.ok(!bytes.includes(0), 'no zero bytes');
  // The next open finds nothing to recover and reads every event.
  const again = openSqliteStore(path);
  t.after(() => again.close());
  assert.deepEqual((again.events as unknown as { recovered: unknown }).recovered, { groups: 0, events: 0 });
  assert.equal(await again.events.count('src_a'), 3);
});

test('a second store opening the database makes a holding writer let go: its first appends see every acknowledged event', async (t) => {
  const { path } = await tempDatabase(t);
  const a = openSqliteStore(path, { holdMs: 600_000 });
  let b: ReturnType<typeof openSqliteStore> | undefined;
  t.after(async () => { await a.close(); await b?.close(); });
  assert.deepEqual(await a.events.append([ev('y1')]), { stored: 1, duplicates: 0 });
  // A restart's new process opens the database while the old one keeps writing: the old one's
  // next group commits what it held and stops holding; the new one waits for the lock, not longer.
  b = openSqliteStore(path, { holdMs: 600_000 });
  const started = Date.now();
  assert.deepEqual(await a.events.append([ev('y2')]), { stored: 1, duplicates: 0 });
  assert.deepEqual(await b.events.append([ev('y1'), ev('y2'), ev('y3')]), { stored: 1, duplicates: 2 });
  assert.deepEqual(await a.events.append([ev('y3'), ev('y4')]), { stored: 1, duplicates: 1 });
  assert.ok(Date.now() - started < 4_000, 'no writer waited out its busy timeout');
  assert.equal(await b.events.count('src_a'), 4);
  // Once the second store is gone, the first holds again (its reads still see everything).
  await b.close();
  b = undefined;
  assert.deepEqual(await a.events.append([ev('y5')]), { stored: 1, duplicates: 0 });
  const raw = new BetterSqlite3(path, { readonly: true });
  t.after(() => raw.close());
  assert.equal((raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 4);
  assert.equal(await a.events.count('src_a'), 5);
});

test('deduplication covers the configured window of latest events, also after a restart', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path, { dedupWindowEvents: 3 });
  for (const m of ['d1', 'd2', 'd3', 'd4', 'd5']) await store.events.append([ev(m)]);
  assert.deepEqual(await store.events.append([ev('d5'), ev('d4'), ev('d3')]), { stored: 0, duplicates: 3 });
  await store.close();
  // At start the window holds the latest 3 rows: d3..d5 are found, d1 (older) is stored again.
  store = openSqliteStore(path, { dedupWindowEvents: 3 });
  t.after(() => store.close());
  assert.deepEqual(await store.events.append([ev('d3'), ev('d4'), ev('d5')]), { stored: 0, duplicates: 3 });
  assert.deepEqual(await store.events.append([ev('d1')]), { stored: 1, duplicates: 0 });
  assert.equal(await store.events.count(), 6);
});

test('a messageId with a lone surrogate is one key before and after a restart and across event logs', async (t) => {
  const { path } = await tempDatabase(t);
  let store = openSqliteStore(path);
  assert.deepEqual(await store.events.append([ev('msg-\ud800'), ev('msg-\ud800')]), { stored: 1, duplicates: 1 });
  await store.close();
  store = openSqliteStore(path);
  const other = openSqliteStore(path);
  t.after(async () => { await store.close(); await other.close(); });
  assert.deepEqual(await store.events.append([ev('msg-\ud800')]), { stored: 0, duplicates: 1 });
  assert.deepEqual(await other.events.append([ev('x-\udfff')]), { stored: 1, duplicates: 0 });
  assert.deepEqual(await store.events.append([ev('x-\udfff')]), { stored: 0, duplicates: 1 });
  assert.equal(await store.events.count(), 2);
});

test('recovery leaves alone the segments of a writer still running in another process, and takes them once it is gone', async (t) => {
  const { path } = await tempDatabase(t);
  (await openSqliteStore(path)).close();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  // The child's segment: its owner line, then a group synced but not yet indexed.
  const owner = { pid: child.pid!, ...processIdentity(child.pid!), writer: 'w-child', host: hostname() };
  const encoded = encodeEvents([ev('live1')]);
  await mkdir(segmentsDirFor(path), { recursive: true });
  await appendFile(join(segmentsDirFor(path), '00000001.jsonl'), Buffer.concat([Buffer.from(`%${JSON.stringify(owner)}\n`), groupHeader(encoded), encoded.payloads]));
  let store = openSqliteStore(path);
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 0, events: 0 });
  await store.close();
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 1, events: 1 });
  assert.deepEqual((await store.events.recent('src_a', 5)).map((e) => e.messageId), ['live1']);
});

test('opening never throws on what else the segment folder holds, and indexes no group whose header names other events', async (t) => {
  const { dir, path } = await tempDatabase(t);
  (await openSqliteStore(path)).close();
  const segs = segmentsDirFor(path);
  await mkdir(join(segs, '00000009.jsonl'), { recursive: true });
  await symlink(join(dir, 'missing'), join(segs, '00000010.jsonl'));
  await appendFile(join(segs, 'notes.txt'), 'hello');
  // A header naming m1 over the payload of m2.
  const header = groupHeader(encodeEvents([{ ...ev('m1'), payload: { messageId: 'm1', event: 'x' } }]));
  await appendFile(join(segs, '00000011.jsonl'), Buffer.concat([header, encodeEvents([{ ...ev('m2'), payload: { messageId: 'm2', event: 'x' } }]).payloads]));
  // Segment numbers past eight digits are segments too.
  logWithoutIndex(path, [ev('n1')]);
  await rename(join(segs, '00000012.jsonl'), join(segs, '123456789.jsonl'));
  // A FIFO (opening it to read would wait for a writer) and a number no writer reaches.
  execFileSync('mkfifo', [join(segs, '00000013.jsonl')]);
  await appendFile(join(segs, '9007199254740993.jsonl'), 'x');
  const store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 1, events: 1 });
  assert.deepEqual((await store.events.recent('src_a', 5)).map((e) => e.messageId), ['n1']);
  // The next writer takes the number after the highest.
  await store.events.append([ev('n2')]);
  assert.ok((await readdir(segs)).includes('123456790.jsonl'));
});

test('a marker folder that cannot be used (a file in its place) leaves the store opening and storing as ever', async (t) => {
  const { path } = await tempDatabase(t);
  await mkdir(segmentsDirFor(path), { recursive: true });
  await appendFile(join(segmentsDirFor(path), '.stores'), 'not a folder');
  const store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual(await store.events.append([ev('k1'), ev('k1')]), { stored: 1, duplicates: 1 });
  assert.equal(await store.events.count('src_a'), 1);
});

test('processes opening a new database at the same moment apply each migration once', async (t) => {
  const { dir } = await tempDatabase(t);
  const entry = new URL('./sqlite-store.ts', import.meta.url).href;
  const script = `const { openSqliteStore } = await import(${JSON.stringify(entry)}); const at = Number(process.argv[2]);
    while (Date.now() < at) {}
    const s = openSqliteStore(process.argv[1]); await s.close(); console.log('opened');`;
  for (let round = 0; round < 3; round++) {
    const path = join(dir, `race${round}.db`);
    const at = Date.now() + 1_500;
    const runs = Array.from({ length: 4 }, () => new Promise<string>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path, String(at)], (err, stdout, stderr) => resolve(err ? `failed: ${stderr}` : stdout.trim()));
    }));
    assert.deepEqual(await Promise.all(runs), ['opened', 'opened', 'opened', 'opened']);
  }
});

test('a segment of a writer on another host (a shared volume) is left alone while it changes, and recovered once quiet', async (t) => {
  const { path } = await tempDatabase(t);
  (await openSqliteStore(path)).close();
  const owner = { pid: 1, boot: 'elsewhere', start: '1', writer: 'w-remote', host: `${hostname()}-other` };
  const encoded = encodeEvents([ev('far1')]);
  const file = join(segmentsDirFor(path), '00000001.jsonl');
  await mkdir(segmentsDirFor(path), { recursive: true });
  await appendFile(file, Buffer.concat([Buffer.from(`%${JSON.stringify(owner)}\n`), groupHeader(encoded), encoded.payloads]));
  let store = openSqliteStore(path);
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 0, events: 0 });
  await store.close();
  const quiet = new Date(Date.now() - 60_000);
  await utimes(file, quiet, quiet);
  store = openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((store.events as unknown as { recovered: unknown }).recovered, { groups: 1, events: 1 });
});
