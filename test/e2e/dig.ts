import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What `dig` printed for one query: header status and flags, and the sections' records. */
export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly raw: string;
}

/**
 * Runs the real `dig` against `server:port` (non-recursive, no cookies) and parses its output.
 * `tcp` uses `+tcp`.
 */
export async function dig(server: string, port: number, name: string, type: string, opts: { tcp?: boolean } = {}): Promise<DigResult> {
  const args = [`@${server}`, '-p', String(port), name, type, '+norec', '+nocookie', '+time=2', '+tries=1', ...(opts.tcp ? ['+tcp'] : [])];
  const { stdout } = await run('dig', args, { timeout: 10_000 });
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  return { status, flags, answer: section(stdout, 'ANSWER'), authority: section(stdout, 'AUTHORITY'), raw: stdout };
}

function section(out: string, name: string): string[] {
  const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(out);
  return m ? m[1]!.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/\s+/g, ' ').trim()) : [];
}
