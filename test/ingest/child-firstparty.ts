import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LAUNCHER = fileURLToPath(new URL('./launch-firstparty.ts', import.meta.url));

/** What the launched process reported once listening. */
export interface ChildInfo {
  readonly edgePort: number;
  readonly adminUrl: string;
  readonly adminToken: string;
  readonly caPem: string;
}

/** Test-only: firstparty running in a child process (see launch-firstparty.ts). */
export interface ChildFirstparty {
  readonly info: ChildInfo;
  readonly pid: number;
  /** Sends `signal` to the child by pid and waits until it has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Test-only: starts the launcher with `env` (added to this process's) and `nodeArgs` (extra
 * Node.js flags, e.g. `--cpu-prof`) and waits (bounded) for READY.
 */
export async function startChildFirstparty(env: Record<string, string>, timeoutMs = 20_000, nodeArgs: readonly string[] = []): Promise<ChildFirstparty> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', LAUNCHER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const info = await readyLine(child, timeoutMs);
    return {
      info, pid: child.pid!,
      async kill(signal) {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
        await exited;
      },
    };
  } catch (err) {
    if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL');
    await exited;
    throw err;
  }
}

function readyLine(child: ChildProcess, timeoutMs: number): Promise<ChildInfo> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`firstparty did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^READY (.*)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve(JSON.parse(m[1]!) as ChildInfo);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`firstparty exited (${code ?? signal}) before READY: ${err}`));
    });
  });
}
