import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processIdentity } from './event-segments.ts';
import { FOREIGN_MARKER_QUIET_MS, markStoreOpen, OtherStores, storesDirOf, type StoreMarker } from './store-processes.ts';

function mark(dir: string): StoreMarker {
  const m = markStoreOpen(dir);
  assert.ok(m, 'marked open');
  return m;
}

async function folder(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-stores-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The marker a process that has exited would have left: its identity read while it ran. */
async function deadMarker(): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  await new Promise((r) => setTimeout(r, 50));
  const marker = { pid: child.pid!, ...processIdentity(child.pid!), host: hostname() };
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return marker;
}

test('a store alone sees no other; a second store, in this process or another, is seen until it closes', async (t) => {
  const dir = await folder(t);
  const a = mark(dir);
  t.after(() => a.close());
  const others = new OtherStores(dir, a.id);
  assert.equal(others.present(), false);
  const b = mark(dir);
  assert.equal(others.present(), true);
  b.close();
  assert.equal(others.present(), false);
  // Another live process on this host (the test runner's parent stands in for it).
  await writeFile(join(storesDirOf(dir), 'live.json'), JSON.stringify({ pid: process.ppid, ...processIdentity(process.ppid), host: hostname() }));
  assert.equal(others.present(), true);
});

test('markers of processes that died without closing are not counted, and the next store to open removes them', async (t) => {
  const dir = await folder(t);
  const a = mark(dir);
  t.after(() => a.close());
  await writeFile(join(storesDirOf(dir), 'dead.json'), JSON.stringify(await deadMarker()));
  assert.equal(new OtherStores(dir, a.id).present(), false);
  const b = mark(dir);
  t.after(() => b.close());
  assert.deepEqual(readdirSync(storesDirOf(dir)).sort(), [`${a.id}.json`, `${b.id}.json`].sort());
});

test('a marker of another host counts while it is refreshed; unreadable markers and a missing own marker count as others', async (t) => {
  const dir = await folder(t);
  const a = mark(dir);
  t.after(() => a.close());
  const path = join(storesDirOf(dir), 'far.json');
  await writeFile(path, JSON.stringify({ pid: 1, boot: 'x', start: '1', host: `not-${hostname()}` }));
  assert.equal(new OtherStores(dir, a.id).present(), true);
  const old = new Date(Date.now() - FOREIGN_MARKER_QUIET_MS - 5_000);
  await utimes(path, old, old);
  assert.equal(new OtherStores(dir, a.id).present(), false);
  await writeFile(join(storesDirOf(dir), 'torn.json'), '{"pid": 4');
  assert.equal(new OtherStores(dir, a.id).present(), true);
  await rm(join(storesDirOf(dir), 'torn.json'));
  assert.equal(new OtherStores(dir, 'not-a-marker-here').present(), true);
  assert.equal(new OtherStores(join(dir, 'missing'), a.id).present(), true);
});

test('a stale marker of this same process id (pid 1 of a container, run after run) is not counted, and is swept', async (t) => {
  const dir = await folder(t);
  const a = mark(dir);
  t.after(() => a.close());
  await writeFile(join(storesDirOf(dir), 'stale.json'), JSON.stringify({ pid: process.pid, boot: processIdentity().boot, start: 'an earlier run', host: hostname() }));
  assert.equal(new OtherStores(dir, a.id).present(), false);
  const b = mark(dir);
  t.after(() => b.close());
  assert.ok(!readdirSync(storesDirOf(dir)).includes('stale.json'));
});

test('where no marker can be left (the marker folder is a file), the store is simply not marked', async (t) => {
  const dir = await folder(t);
  await writeFile(storesDirOf(dir), 'not a folder');
  assert.equal(markStoreOpen(dir), undefined);
  assert.equal(markStoreOpen(join(dir, 'missing', 'deeper')) !== undefined, true);
});
