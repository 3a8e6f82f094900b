import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type Config } from '../config/index.ts';

/** Help lines of the admin commands. */
export const API_COMMANDS_HELP = `  firstparty workspace create --name <n> [--plan business]
  firstparty source create --workspace <ws> --name <n> --type <analytics.js|node|python|...>
  firstparty domain request --workspace <ws> --domain <cdp.example.com> --source <src> [--source <src>...]
  firstparty domain get --workspace <ws> --id <cd>
  firstparty domain wait --workspace <ws> --id <cd> [--timeout <seconds>]   progress until active or failed
  firstparty domain remove --workspace <ws> --id <cd>
  firstparty snippet --workspace <ws> --source <src> [--global <name>]
  firstparty events --workspace <ws> --source <src> [--limit <n>]
  (admin commands talk to FIRSTPARTY_ADMIN_LISTEN with FIRSTPARTY_ADMIN_TOKEN or <data>/admin-token)`;

type Flags = Record<string, string[]>;

/**
 * Runs an admin command against a running firstparty; resolves to the exit code, or null when
 * `command` is not an admin command. Prints JSON results on stdout and errors on stderr.
 */
export async function runApiCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const sub = args[0];
  const key = `${command} ${sub ?? ''}`.trim();
  const known = ['workspace create', 'source create', 'domain request', 'domain get', 'domain wait', 'domain remove', 'snippet', 'events'];
  const which = known.find((k) => k === key || k === command);
  if (!which) return null;
  const flags = parseFlags(which.includes(' ') ? args.slice(1) : args);
  const client = adminClient(loadConfig(env, flags.config?.[0] ? { file: flags.config[0] } : {}));
  const one = (name: string) => {
    const v = flags[name]?.[0];
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  };
  const ws = () => `/api/v1/workspaces/${encodeURIComponent(one('workspace'))}`;
  switch (which) {
    case 'workspace create':
      return client.print('POST', '/api/v1/workspaces', { name: one('name'), plan: flags.plan?.[0] ?? 'business' });
    case 'source create':
      return client.print('POST', `${ws()}/sources`, { name: one('name'), type: one('type') });
    case 'domain request':
      return client.print('POST', `${ws()}/custom-domains`, { domain: one('domain'), sourceIds: flags.source ?? [] });
    case 'domain get':
      return client.print('GET', `${ws()}/custom-domains/${encodeURIComponent(one('id'))}`);
    case 'domain remove':
      return client.print('DELETE', `${ws()}/custom-domains/${encodeURIComponent(one('id'))}`);
    case 'domain wait':
      return waitForDomain(client, `${ws()}/custom-domains/${encodeURIComponent(one('id'))}`, Number(flags.timeout?.[0] ?? 600));
    case 'snippet': {
      const g = flags.global?.[0];
      return client.print('GET', `${ws()}/sources/${encodeURIComponent(one('source'))}/snippet${g ? `?globalName=${encodeURIComponent(g)}` : ''}`);
    }
    case 'events':
      return client.print('GET', `${ws()}/sources/${encodeURIComponent(one('source'))}/events?limit=${Number(flags.limit?.[0] ?? 20)}`);
  }
  return null;
}

class UsageError extends Error {}

function parseFlags(args: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)$/.exec(args[i]!);
    if (!m || args[i + 1] === undefined) throw new UsageError(`unexpected argument "${args[i]}"`);
    (flags[m[1]!] ??= []).push(args[++i]!);
  }
  return flags;
}

function adminClient(config: Config) {
  const base = `http://${config.admin.listen.host.includes(':') ? `[${config.admin.listen.host}]` : config.admin.listen.host}:${config.admin.listen.port}`;
  const tokenPath = join(config.dataDir, 'admin-token');
  const token = config.adminToken ?? (existsSync(tokenPath) ? readFileSync(tokenPath, 'utf8').trim() : '');
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }
  return {
    call,
    async print(method: string, path: string, body?: unknown): Promise<number> {
      const r = await call(method, path, body);
      (r.status < 400 ? process.stdout : process.stderr).write(`${JSON.stringify(r.json, null, 2)}\n`);
      return r.status < 400 ? 0 : 1;
    },
  };
}

async function waitForDomain(client: ReturnType<typeof adminClient>, path: string, timeoutSeconds: number): Promise<number> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await client.call('GET', path);
    if (r.status >= 400) {
      process.stderr.write(`${JSON.stringify(r.json)}\n`);
      return 1;
    }
    const line = `${String(r.json.state)}${r.json.reason ? ` (${String(r.json.reason)}: ${String(r.json.message)})` : ''}`;
    if (line !== last) process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    last = line;
    if (r.json.state === 'active') return 0;
    if (r.json.state === 'removed' || r.json.state === 'replaced') return 1;
    await sleep(1000);
  }
  process.stderr.write(`timed out after ${timeoutSeconds}s; last state: ${last}\n`);
  return 1;
}
