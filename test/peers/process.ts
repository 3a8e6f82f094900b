import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** How long a peer gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3_000;
/** Bytes of a peer's stdout+stderr kept for error messages. */
const OUTPUT_KEEP_BYTES = 16_384;

/** Where a binary lives, searching `PATH` plus the sbin folders a non-root `PATH` often lacks; null when absent. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder: keep looking in the next one.
    }
  }
  return null;
}

/**
 * The skip reason for a test needing `names`, or null when every binary is present.
 * `chromium` is looked up at Debian's real binary path as well as on `PATH`.
 */
export function missingBinaries(names: string[]): string | null {
  const missing = names.filter((n) => (n === 'chromium' ? chromiumPath() === null : findBinary(n) === null));
  return missing.length === 0 ? null : `missing: ${missing.join(', ')} (run scripts/install-peers.sh)`;
}

/** The Chromium executable: Debian's real binary first (its `/usr/bin` wrapper prints shell noise), else the wrapper. */
export function chromiumPath(): string | null {
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not installed at this path: try the next one.
    }
  }
  return findBinary('chromium');
}

/** Whether this process runs as root (needed to bind port 53). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * A port free on `host` (default 127.0.0.1) for both TCP and UDP at the time of the call, so DNS
 * peers can take it for both transports. Another process may still grab it before it is used.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindTcpEphemeral(host);
    if (await udpBindable(host, port)) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host}`);
}

function bindTcpEphemeral(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function udpBindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** A fresh temporary directory named after the peer. */
export function makeTempDir(peer: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `firstparty-${peer}-`));
}

/** Removes a temporary directory made by {@link makeTempDir}. */
export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** A peer process started by the harness, tracked by pid and stopped only by that pid. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** The last bytes the process wrote to stdout and stderr, for error messages. */
  output(): string;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>;
  /** SIGTERM to the pid, SIGKILL to its process group after 3 s; also reaps children left behind. */
  stop(): Promise<void>;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

/** Last-resort cleanup if the test runner exits with peers still running: SIGKILL each tracked group. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) killGroup(p.pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  signalPid(-pid, signal);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: the process (group) is already gone, which is the goal.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Spawns `command` in its own process group (so daemons that fork, like nsd, can be reaped by the
 * group id) with the given environment; stdin closed, output captured.
 */
export function spawnManaged(name: string, command: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) {
    // The failure is reported by the throw below; the 'error' event would otherwise be uncaught.
    child.once('error', (err) => void err);
    throw new Error(`${name}: spawn of ${command} failed`);
  }
  const proc = manage(name, child, child.pid);
  live.add(proc);
  installExitHook();
  return proc;
}

function manage(name: string, child: ChildProcess, pid: number): ManagedProcess {
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_KEEP_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ?? String(code));
    });
    child.once('error', (err) => {
      done = true;
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      resolve('spawn-error');
    });
  });
  const proc: ManagedProcess = {
    name,
    pid,
    output: () => out,
    hasExited: () => done,
    exited,
    stop: async () => {
      if (!done) signalPid(pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
      });
      const timedOut = await Promise.race([exited.then(() => false), grace]);
      clearTimeout(timer);
      // Children of a forking daemon may outlive the leader (or the leader ignored SIGTERM).
      killGroup(pid, 'SIGKILL');
      if (timedOut) await exited;
      live.delete(proc);
    },
  };
  return proc;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` every `intervalMs` (default 50) until it returns true, failing after `timeoutMs`
 * (default 10 s) or as soon as `proc` exits; the error carries the process output.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { proc?: ManagedProcess; timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.proc?.hasExited()) {
      throw new Error(`${opts.proc.name} exited (${await opts.proc.exited}) before ${what}:\n${opts.proc.output()}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await delay(opts.intervalMs ?? 50);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  const output = opts.proc ? `\n${opts.proc.name} output:\n${opts.proc.output()}` : '';
  throw new Error(`timed out waiting for ${what}${detail}${output}`);
}
