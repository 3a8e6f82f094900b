import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredEvent } from '../core/index.ts';
import { openSqliteStore } from './sqlite-store.ts';

const ev = (messageId: string, pad = 300): StoredEvent => ({
  sourceId: 'src_a', messageId, type: 'track', status: 'accepted', reason: null, receivedAt: 1, payload: { messageId, pad: 'p'.repeat(pad) },
});

/** Fills the file system of `dir` with a file `filler` until writes fail. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    for (const size of [64 * 1024, 512]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // Full at this chunk size: go on with smaller ones.
      }
    }
  } finally {
    closeSync(fd);
  }
}

test('a full disk never loses an acknowledged event: its rows go in once space is back, or at the next start', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a small tmpfs needs root');
  const dir = await mkdtemp(join(tmpdir(), 'fp-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return t.skip(`cannot mount a tmpfs here: ${String(err)}`);
  }
  t.after(async () => {
    execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'events.db');
  for (const restartFirst of [false, true]) {
    const acked = new Set<string>();
    let store = openSqliteStore(path);
    const append = async (ids: string[]) => {
      try {
        await store.events.append(ids.map((id) => ev(id)));
        for (const id of ids) acked.add(id);
      } catch {
        // Refused (an error answer): not acknowledged, the client sends it again.
      }
    };
    const round = restartFirst ? 'r' : 'c';
    for (let i = 0; i < 8; i++) await append([`${round}-warm${i}`]);
    fill(dir);
    // Concurrent appends while the disk is full: whichever are acknowledged must be kept.
    await Promise.all(Array.from({ length: 200 }, (_, i) => append([`${round}-full${i}`, `${round}-fullb${i}`])));
    rmSync(join(dir, 'filler'));
    if (restartFirst) {
      // The process stops before anything else commits: the next start indexes them from the log.
      await store.close().catch(() => undefined);
    } else {
      // Space is back: the next groups carry the owed rows in.
      for (let i = 0; i < 5; i++) await append([`${round}-after${i}`]);
      const seen = new Set((await store.events.recent('src_a', 100_000)).map((e) => e.messageId));
      assert.deepEqual([...acked].filter((id) => !seen.has(id)), [], 'acknowledged events this process reads back');
      await store.close();
    }
    store = openSqliteStore(path);
    const rows = await store.events.recent('src_a', 100_000);
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.messageId, (counts.get(r.messageId) ?? 0) + 1);
    await store.close();
    assert.ok(acked.size > 8, `some events were acknowledged (${acked.size})`);
    assert.deepEqual([...acked].filter((id) => counts.get(id) !== 1), [], `every acknowledged event stored once (${restartFirst ? 'after a restart' : 'in the running process'})`);
    rmSync(path, { force: true });
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    rmSync(`${path}-events`, { recursive: true, force: true });
  }
});
