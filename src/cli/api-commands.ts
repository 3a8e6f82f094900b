import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type Config } from '../config/index.ts';

/** Help lines of the admin commands. */
export const API_COMMANDS_HELP = `  firstparty workspace create --name <n> [--plan business]
  firstparty workspace get --workspace <ws>
  firstparty token create --workspace <ws> --name <n>        prints a workspace-scoped token once
  firstparty token list|revoke --workspace <ws> [--id <tok>]
  firstparty audit [--workspace <ws>] [--limit <n>]
  firstparty source create --workspace <ws> --name <n> --type <analytics.js|node|python|...>
  firstparty source list|get --workspace <ws> [--id <src>]
  firstparty domain request --workspace <ws> --domain <cdp.example.com> --source <src> [--source <src>...]
        [--subject <s>] [--description <d>] [--csp true] [--additional-domain <d> --additional-source <src>...]
  firstparty domain list --workspace <ws>
  firstparty domain get|remove|check|diagnose --workspace <ws> --id <cd>
  firstparty domain replace --workspace <ws> --id <cd> --domain <new.example.com>
  firstparty domain wait --workspace <ws> --id <cd> [--timeout <seconds>]   progress until active or failed
  firstparty webhook create --workspace <ws> --url <https://...>
  firstparty webhook list --workspace <ws>
  firstparty webhook delete|deliveries --workspace <ws> --id <wh>
  firstparty snippet --workspace <ws> --source <src> [--global <name>] [--alias true]
  firstparty events --workspace <ws> --source <src> [--limit <n>]
  (admin commands talk to FIRSTPARTY_ADMIN_LISTEN with FIRSTPARTY_ADMIN_TOKEN or <data>/admin-token)`;

type Flags = Record<string, string[]>;
/** One admin API request. */
export type Req = { method: string; path: string; body?: unknown };
/** Flag accessors a command builds its request from. */
export type Helpers = { one(name: string): string; opt(name: string): string | undefined; all(name: string): string[]; ws(): string; id(): string };

/** Every admin command: how its flags become one admin API request (`wait` is handled apart). */
export const COMMANDS: Record<string, (h: Helpers) => Req> = {
  'workspace create': (h) => ({ method: 'POST', path: '/api/v1/workspaces', body: { name: h.one('name'), plan: h.opt('plan') ?? 'business' } }),
  'workspace get': (h) => ({ method: 'GET', path: h.ws() }),
  'token create': (h) => ({ method: 'POST', path: `${h.ws()}/tokens`, body: { name: h.one('name') } }),
  'token list': (h) => ({ method: 'GET', path: `${h.ws()}/tokens` }),
  'token revoke': (h) => ({ method: 'DELETE', path: `${h.ws()}/tokens/${h.id()}` }),
  audit: (h) => ({ method: 'GET', path: `${h.opt('workspace') ? `${h.ws()}/audit` : '/api/v1/audit'}?limit=${Number(h.opt('limit') ?? 50)}` }),
  'source create': (h) => ({ method: 'POST', path: `${h.ws()}/sources`, body: { name: h.one('name'), type: h.one('type') } }),
  'source list': (h) => ({ method: 'GET', path: `${h.ws()}/sources` }),
  'source get': (h) => ({ method: 'GET', path: `${h.ws()}/sources/${h.id()}` }),
  'domain request': (h) => ({
    method: 'POST', path: `${h.ws()}/custom-domains`,
    body: {
      domain: h.one('domain'), sourceIds: h.all('source'), usesCsp: h.opt('csp') === 'true',
      ...(h.opt('subject') ? { subject: h.opt('subject') } : {}), ...(h.opt('description') ? { description: h.opt('description') } : {}),
      ...(h.opt('additional-domain') ? { additionalDomain: h.opt('additional-domain'), additionalSourceIds: h.all('additional-source') } : {}),
    },
  }),
  'domain list': (h) => ({ method: 'GET', path: `${h.ws()}/custom-domains` }),
  'domain get': (h) => ({ method: 'GET', path: `${h.ws()}/custom-domains/${h.id()}` }),
  'domain remove': (h) => ({ method: 'DELETE', path: `${h.ws()}/custom-domains/${h.id()}` }),
  'domain check': (h) => ({ method: 'POST', path: `${h.ws()}/custom-domains/${h.id()}/check` }),
  'domain diagnose': (h) => ({ method: 'GET', path: `${h.ws()}/custom-domains/${h.id()}/diagnose` }),
  'domain replace': (h) => ({ method: 'POST', path: `${h.ws()}/custom-domains/${h.id()}/replace`, body: { domain: h.one('domain') } }),
  'webhook create': (h) => ({ method: 'POST', path: `${h.ws()}/webhooks`, body: { url: h.one('url') } }),
  'webhook list': (h) => ({ method: 'GET', path: `${h.ws()}/webhooks` }),
  'webhook delete': (h) => ({ method: 'DELETE', path: `${h.ws()}/webhooks/${h.id()}` }),
  'webhook deliveries': (h) => ({ method: 'GET', path: `${h.ws()}/webhooks/${h.id()}/deliveries` }),
  snippet: (h) => {
    const q = new URLSearchParams();
    if (h.opt('global')) q.set('globalName', h.opt('global')!);
    if (h.opt('alias') === 'true') q.set('aliasPath', 'true');
    return { method: 'GET', path: `${h.ws()}/sources/${encodeURIComponent(h.one('source'))}/snippet${q.size ? `?${q}` : ''}` };
  },
  events: (h) => ({ method: 'GET', path: `${h.ws()}/sources/${encodeURIComponent(h.one('source'))}/events?limit=${Number(h.opt('limit') ?? 20)}` }),
};

/** The names of every admin command (for tests and help). */
export const API_COMMAND_NAMES: readonly string[] = [...Object.keys(COMMANDS), 'domain wait'];

/**
 * Runs an admin command against a running firstparty; resolves to the exit code, or null when
 * `command` is not an admin command. Prints JSON results on stdout and errors on stderr.
 */
export async function runApiCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const key = `${command} ${args[0] ?? ''}`.trim();
  const which = API_COMMAND_NAMES.find((k) => k === key) ?? API_COMMAND_NAMES.find((k) => k === command);
  if (!which) return null;
  try {
    return await runCommand(which, which.includes(' ') ? args.slice(1) : args, env);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`firstparty ${which}: ${err.message}\n${err.usage ? `usage:\n${usageOf(which)}\n` : ''}`);
    return err.usage ? 2 : 1;
  }
}

async function runCommand(which: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args);
  const used = new Set<string>(['config']);
  const client = adminClient(loadConfig(env, flags.config?.[0] ? { file: flags.config[0] } : {}));
  const h: Helpers = {
    one(name) {
      used.add(name);
      const v = flags[name]?.[0];
      if (v === undefined) throw new CliError(`--${name} is required`, true);
      return v;
    },
    opt: (name) => (used.add(name), flags[name]?.[0]),
    all: (name) => (used.add(name), flags[name] ?? []),
    ws: () => `/api/v1/workspaces/${encodeURIComponent(h.one('workspace'))}`,
    id: () => encodeURIComponent(h.one('id')),
  };
  if (which === 'domain wait') {
    const path = `${h.ws()}/custom-domains/${h.id()}`;
    const timeout = Number(h.opt('timeout') ?? 600);
    assertAllUsed(flags, used);
    if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError(`--timeout must be a positive number of seconds, not "${flags.timeout?.[0]}"`, true);
    return waitForDomain(client, path, timeout);
  }
  const r = COMMANDS[which]!(h);
  assertAllUsed(flags, used);
  return client.print(r.method, r.path, r.body);
}

/** A command-line mistake (`usage`: print the command's usage) or an unreachable admin API. */
class CliError extends Error {
  constructor(message: string, readonly usage = false) {
    super(message);
  }
}

function assertAllUsed(flags: Flags, used: Set<string>): void {
  const unknown = Object.keys(flags).filter((f) => !used.has(f));
  if (unknown.length > 0) throw new CliError(`unknown option --${unknown[0]}`, true);
}

function usageOf(which: string): string {
  return API_COMMANDS_HELP.split('\n').filter((l) => l.includes(`firstparty ${which} `) || l.endsWith(`firstparty ${which}`)).join('\n') || API_COMMANDS_HELP;
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)$/.exec(args[i]!);
    if (!m) throw new CliError(`unexpected argument "${args[i]}"`, true);
    if (args[i + 1] === undefined || args[i + 1]!.startsWith('--')) throw new CliError(`--${m[1]} needs a value`, true);
    (flags[m[1]!] ??= []).push(args[++i]!);
  }
  return flags;
}

function adminClient(config: Config) {
  const base = `http://${config.admin.listen.host.includes(':') ? `[${config.admin.listen.host}]` : config.admin.listen.host}:${config.admin.listen.port}`;
  const tokenPath = join(config.dataDir, 'admin-token');
  const token = config.adminToken ?? (existsSync(tokenPath) ? readFileSync(tokenPath, 'utf8').trim() : '');
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the admin API at ${base} (${cause?.code ?? cause?.message ?? String(err)}); is firstparty running, and FIRSTPARTY_ADMIN_LISTEN set as for the server?`);
    }
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
    if (r.json.state === 'failed' || r.json.state === 'removed' || r.json.state === 'replaced') return 1;
    await sleep(1000);
  }
  process.stderr.write(`timed out after ${timeoutSeconds}s; last state: ${last}\n`);
  return 1;
}
