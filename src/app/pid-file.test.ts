import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../core/index.ts';
import { AppErrors } from './errors.ts';
import { isAlive, pidFilePath, readPidFile, removePidFile, restartRunning, writePidFile } from './pid-file.ts';

test('writes, reads and removes only its own pid file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-pid-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(readPidFile(dir), null);
  writePidFile(dir, 4242);
  assert.equal(readPidFile(dir), 4242);
  removePidFile(dir, 4243);
  assert.equal(readPidFile(dir), 4242, 'a successor\'s file is left alone');
  removePidFile(dir, 4242);
  assert.equal(readPidFile(dir), null);
  await writeFile(pidFilePath(dir), 'garbage');
  assert.equal(readPidFile(dir), null);
});

test('a restart without a live process fails with ERR_APP_NOT_RUNNING', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-pid-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(restartRunning(dir, 100), (err) => isAppError(err, AppErrors.NOT_RUNNING));
  // Pids are at most 2^22 on Linux: this one cannot exist.
  writePidFile(dir, 2 ** 22 + 1);
  assert.equal(isAlive(2 ** 22 + 1), false);
  await assert.rejects(restartRunning(dir, 100), (err) => isAppError(err, AppErrors.NOT_RUNNING));
  assert.equal(isAlive(process.pid), true);
});
