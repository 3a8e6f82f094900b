import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../core/index.ts';
import { AppErrors } from './errors.ts';

/** Where the serving process writes its pid: `<dataDir>/firstparty.pid`. */
export function pidFilePath(dataDir: string): string {
  return join(dataDir, 'firstparty.pid');
}

/** Writes `pid` (default this process) as the one serving `dataDir`; a successor overwrites it. */
export function writePidFile(dataDir: string, pid = process.pid): void {
  writeFileSync(pidFilePath(dataDir), `${pid}\n`);
}

/** The pid written in `dataDir`, or null when there is none or it does not parse. */
export function readPidFile(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFilePath(dataDir), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    // No file: nothing runs on this data folder (or it was never started).
    return null;
  }
}

/** Removes the pid file if it still names `pid` (a successor's file is left alone). */
export function removePidFile(dataDir: string, pid = process.pid): void {
  if (readPidFile(dataDir) === pid) rmSync(pidFilePath(dataDir), { force: true });
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Asks the process serving `dataDir` for a zero-downtime restart (`SIGUSR2`) and waits until a
 * successor wrote its pid and the old process exited. Rejects with `ERR_APP_NOT_RUNNING` when no
 * live process is named, `ERR_APP_RESTART_FAILED` when the switch did not happen within
 * `timeoutMs` (default 60 000).
 */
export async function restartRunning(dataDir: string, timeoutMs = 60_000): Promise<{ from: number; to: number }> {
  const from = readPidFile(dataDir);
  if (from === null || !isAlive(from)) throw new AppError(AppErrors.NOT_RUNNING, `no live pid in ${pidFilePath(dataDir)}`);
  process.kill(from, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const to = readPidFile(dataDir);
    if (to !== null && to !== from && isAlive(to) && !isAlive(from)) return { from, to };
    await sleep(50);
  }
  throw new AppError(AppErrors.RESTART_FAILED, `pid ${from} was not replaced within ${timeoutMs} ms`);
}
