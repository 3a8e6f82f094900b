import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_BLOCK, DIRECT_CREATE_FLAGS, DirectStage, ZERO_STEP_BYTES } from './direct-stage.ts';
import { SegmentAppender } from './event-segments.ts';

async function folder(t: { after: (fn: () => Promise<void>) => void }, base = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(base, 'fp-direct-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Groups of every awkward size: tiny, exactly a block, across blocks, larger than the stage. */
function groups(): Buffer[][] {
  const sizes = [1, 7, DIRECT_BLOCK, DIRECT_BLOCK - 1, DIRECT_BLOCK + 1, 3 * DIRECT_BLOCK + 17, 1024 * 1024, 1024 * 1024 + 5, 2_500_000, 100];
  return sizes.map((n, i) => {
    const bytes = randomBytes(n);
    // Split some groups into several chunks, as a header and payload lines are.
    return i % 2 === 0 ? [bytes] : [bytes.subarray(0, n >> 1), bytes.subarray(n >> 1)];
  });
}

test('direct appends leave exactly the bytes buffered appends do, and zero padding only past a crashed segment end', async (t) => {
  const direct = await folder(t);
  const buffered = await folder(t);
  const a = new SegmentAppender(direct, undefined, 'w');
  const b = new SegmentAppender(buffered, undefined, 'w', false);
  if (!a.isDirect) return t.skip(`the file system of ${tmpdir()} refuses O_DIRECT: only buffered appends run here`);
  assert.equal(b.isDirect, false);
  const list = groups();
  for (const g of list) assert.deepEqual(a.append(g), b.append(g));
  const crashed = await readFile(join(direct, '00000001.jsonl'));
  const expected = await readFile(join(buffered, '00000001.jsonl'));
  // Before close (a crash): the logical bytes, then zeros, written ahead so that appends overwrite
  // blocks the file already has (at least a step of them past the end).
  assert.equal(crashed.length % DIRECT_BLOCK, 0);
  assert.ok(crashed.length - expected.length >= ZERO_STEP_BYTES, `${crashed.length - expected.length} zero bytes ahead`);
  assert.ok(crashed.subarray(0, expected.length).equals(expected));
  assert.ok(crashed.subarray(expected.length).every((x) => x === 0));
  a.close();
  b.close();
  assert.ok((await readFile(join(direct, '00000001.jsonl'))).equals(expected));
  // The probe's scratch file is gone.
  assert.deepEqual(readdirSync(direct), ['00000001.jsonl']);
});

test('a failed direct write leaves the stage as it was: the next append writes the right bytes', async (t) => {
  const dir = await folder(t);
  const stage = DirectStage.probe(dir);
  if (stage === undefined) return t.skip(`the file system of ${tmpdir()} refuses O_DIRECT`);
  const path = join(dir, 'f');
  const fd = openSync(path, DIRECT_CREATE_FLAGS, 0o600);
  try {
    stage.reset(Buffer.from('head\n'));
    stage.write(fd, 5, [Buffer.from('one\n')]);
    // A write that fails (a descriptor that is not open) must not disturb the kept tail.
    const closed = openSync(path, 'r');
    closeSync(closed);
    assert.throws(() => stage.write(closed, 9, [Buffer.alloc(2 * 1024 * 1024, 0x78)]), { code: 'EBADF' });
    stage.write(fd, 9, [Buffer.from('two\n')]);
  } finally {
    closeSync(fd);
  }
  const bytes = await readFile(path);
  assert.equal(bytes.subarray(0, 13).toString(), 'head\none\ntwo\n');
  assert.ok(bytes.subarray(13).every((x) => x === 0));
  assert.equal(statSync(path).size, DIRECT_BLOCK);
});

test('with direct appends off (as where the file system refuses O_DIRECT), segments go through the page cache', async (t) => {
  const dir = await folder(t);
  const log = new SegmentAppender(dir, undefined, 'w', false);
  assert.equal(log.isDirect, false);
  const at = log.append([Buffer.from('#x\n')]);
  // Buffered: the bytes are the file, with no padding even before close.
  const bytes = await readFile(join(dir, '00000001.jsonl'), 'utf8');
  assert.equal(bytes.slice(at.offset), '#x\n');
  log.close();
  assert.deepEqual(readdirSync(dir), ['00000001.jsonl']);
});
