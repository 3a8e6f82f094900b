import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { freePort, isRoot, missingBinaries, waitUntil } from '../peers/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** The shell lines of the README's code block that follows `marker`. */
async function readmeBlock(marker: string): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf(marker);
  assert.ok(from >= 0, `README has "${marker}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(m, `a sh block after "${marker}"`);
  return m[1]!.split('\n').filter((l) => l.trim() !== '');
}

describe('the README quick start, executed as written', () => {
  let cwd: string;
  let proc: ChildProcess;
  let output = '';
  const ports = { admin: 0, edge: 0, dns: 0 };

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'fp-readme-'));
    ports.admin = await freePort();
    ports.edge = await freePort();
    ports.dns = await freePort();
    // The quick start's command is `npm start` = `node bin/firstparty.mjs start`; ports are moved off the
    // defaults only so that the test cannot collide with a firstparty already running on this machine.
    assert.deepEqual((await readmeBlock('## Quick start')).slice(-1), ['npm start          # = firstparty start: every role in one process, embedded defaults']);
    proc = spawn(process.execPath, [join(root, 'bin/firstparty.mjs'), 'start'], {
      cwd, env: { ...process.env, FIRSTPARTY_ADMIN_LISTEN: `127.0.0.1:${ports.admin}`, FIRSTPARTY_EDGE_LISTEN: `127.0.0.1:${ports.edge}`, FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${ports.dns}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (c: Buffer) => (output += c));
    proc.stderr!.on('data', (c: Buffer) => (output += c));
    await waitUntil('firstparty started', async () => output.includes('firstparty is running'), { timeoutMs: 30_000 });
  });

  after(async () => {
    proc?.kill('SIGTERM');
    await new Promise((r) => proc?.once('exit', r));
    await rm(cwd, { recursive: true, force: true });
  });

  test('start prints its listeners and the local CA root, and writes the data folder', () => {
    assert.match(output, /admin API\s+http:\/\/127\.0\.0\.1:\d+/);
    assert.match(output, /local CA root\s+\S+data\/local-ca\/root\.pem/);
    assert.match(output, /certificates\s+local CA/);
  });

  test('the curl commands create a workspace and source, store an event, read it back and request a domain', { skip: missingBinaries(['curl']) ?? false }, async () => {
    const lines = await readmeBlock('It prints what it listens on');
    const ids: Record<string, string> = {};
    const outputs: any[] = [];
    for (const line of lines) {
      const cmd = line.replace(/127\.0\.0\.1:4100/g, `127.0.0.1:${ports.admin}`).replace(/:8443/g, `:${ports.edge}`)
        .replace(/<(\w+)>/g, (_, k: string) => {
          assert.ok(ids[k], `value for <${k}> known before: ${line}`);
          return ids[k]!;
        });
      const { stdout } = await run('bash', ['-c', line.startsWith('export') ? `${cmd}; echo "$TOKEN"` : `export TOKEN=$(cat data/admin-token); ${cmd}`], { cwd });
      if (line.startsWith('export')) continue;
      const json = JSON.parse(stdout);
      outputs.push(json);
      if (json.plan) ids.ws = json.id;
      if (json.writeKey) Object.assign(ids, { src: json.id, writeKey: json.writeKey });
    }
    const [, , tracked, events, domain] = outputs;
    assert.deepEqual(tracked, { success: true });
    assert.equal(events.events[0].payload.event, 'Signed Up');
    assert.equal(events.events[0].payload.userId, 'u1');
    assert.equal(domain.state, 'awaiting_delegation');
    assert.equal(domain.domain, 'cdp.shop.com');
    assert.equal(domain.nsRecords.length, 2);
  });
});

describe('npm run demo --once: the whole flow on loopback', () => {
  const skip = missingBinaries(['nsd', 'unbound']) ?? (isRoot() ? null : 'the demo binds port 53: needs root');
  test('gets from nothing to an event received through the custom domain', { skip: skip ?? false, timeout: 120_000 }, async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'demo', '--', '--once'], { cwd: root, timeout: 110_000 });
    assert.match(stdout, /POST https:\/\/api\.cdp\.shop\.test\/v1\/track → 200 \{"success":true\}/);
    assert.match(stdout, /stored: \{.*"event":"Demo Completed"/);
    assert.match(stdout, /\d+\.\ds active/);
  });
});

describe('the README configuration table', () => {
  test('documents every setting the configuration module reads', async () => {
    const { ENV_VARS } = await import('../../src/config/index.ts');
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const missing = Object.keys(ENV_VARS).filter((key) => {
      if (readme.includes(`\`${key}\``)) return false;
      // Rows may group variants: `FIRSTPARTY_EDGE_IPV4` / `_IPV6`.
      const parts = key.split('_');
      return !parts.some((_, i) => i >= 1 && readme.includes(`\`_${parts.slice(i).join('_')}\``) && readme.includes(`\`${parts.slice(0, i).join('_')}`));
    });
    assert.deepEqual(missing, []);
  });
});
