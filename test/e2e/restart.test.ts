import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { isAlive, readPidFile } from '../../src/app/index.ts';
import { SegmentReader, segmentsDirFor, type PayloadPosition } from '../../src/store/event-segments.ts';
import { freePort, waitUntil } from '../peers/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const API_HOST = 'api.firstparty.localhost';
const CLIENTS = 8;
const LOAD_MS = 6_000;
const RESTART_AT_MS = 1_500;

/** Outcome of one POST /v1/track: the status, or the error that remained after the one allowed retry. */
type Sent = { ok: true; messageId: string } | { ok: false; messageId: string; why: string };

describe('zero-downtime restart under load', () => {
  let cwd: string;
  let proc: ChildProcess;
  let output = '';
  let env: NodeJS.ProcessEnv;
  const ports = { admin: 0, edge: 0, http: 0, dns: 0 };

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'fp-restart-'));
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    env = {
      ...process.env, FIRSTPARTY_ADMIN_LISTEN: `127.0.0.1:${ports.admin}`, FIRSTPARTY_EDGE_LISTEN: `127.0.0.1:${ports.edge}`,
      FIRSTPARTY_EDGE_HTTP_LISTEN: `127.0.0.1:${ports.http}`, FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${ports.dns}`, FIRSTPARTY_LOG_LEVEL: 'warn',
    };
    proc = spawn(process.execPath, [join(root, 'bin/firstparty.mjs'), 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (c: Buffer) => (output += c));
    proc.stderr!.on('data', (c: Buffer) => (output += c));
    await waitUntil('firstparty started', async () => output.includes('firstparty is running'), { timeoutMs: 30_000 });
  });

  after(async () => {
    // The successor is not our child: stop it by the pid it wrote; the first process too if still there.
    for (const pid of [readPidFile(join(cwd, 'data')), proc?.pid]) {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 100 && [readPidFile(join(cwd, 'data')), proc?.pid].some((p) => p && isAlive(p)); i++) await sleep(100);
    await rm(cwd, { recursive: true, force: true });
  });

  test('a restart mid-load fails no request, stores every acknowledged event once, and changes the pid', async () => {
    const dataDir = join(cwd, 'data');
    const writeKey = await createSource(ports.admin, (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim());
    const ca = await readFile(join(dataDir, 'local-ca', 'root.pem'), 'utf8');
    const firstPid = readPidFile(dataDir);
    assert.equal(firstPid, proc.pid);

    // The load goes on until LOAD_MS and at least 500 ms past the switch, so the successor serves part of it.
    const startedAt = Date.now();
    let loadUntil = startedAt + LOAD_MS;
    let switchedAfterMs = -1;
    const results: Sent[] = [];
    let retries = 0;
    const client = async (c: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
      for (let i = 0; Date.now() < loadUntil || switchedAfterMs < 0; i++) {
        const messageId = `m-${c}-${i}`;
        const sent = await track(agent, ports.edge, writeKey, messageId, () => retries++);
        results.push(sent);
      }
      agent.destroy();
    };
    const restarting = (async () => {
      await sleep(RESTART_AT_MS);
      try {
        const { stdout } = await run(process.execPath, [join(root, 'bin/firstparty.mjs'), 'restart'], { cwd, env, timeout: 20_000 });
        return stdout;
      } finally {
        switchedAfterMs = Date.now() - startedAt;
        loadUntil = Math.max(loadUntil, Date.now() + 500);
      }
    })();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const restartOutput = await restarting;

    const newPid = readPidFile(dataDir);
    assert.match(restartOutput, new RegExp(`restarted: pid ${firstPid} handed over to pid ${newPid}`));
    assert.notEqual(newPid, firstPid);
    assert.ok(newPid && isAlive(newPid), 'the successor serves');
    await waitUntil('the first process exited', async () => proc.exitCode !== null, { timeoutMs: 15_000 });
    assert.equal(proc.exitCode, 0);

    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed (${retries} retried)`);
    assert.ok(results.length > 50, `load ran: ${results.length} requests`);

    // A request on the new process, and every acknowledged event stored exactly once.
    const agent = new Agent({ keepAlive: false, ca });
    assert.deepEqual(await track(agent, ports.edge, writeKey, 'after-restart', () => retries++), { ok: true, messageId: 'after-restart' });
    const db = new Database(join(dataDir, 'firstparty.db'), { readonly: true, fileMustExist: true });
    try {
      // Another connection sees the running writer's rows once it commits what it holds (within 10 ms).
      const committed = (id: string) => db.prepare('SELECT 1 FROM events WHERE message_id = ?').get(id) !== undefined;
      await waitUntil('the last event committed', async () => committed('after-restart'), { timeoutMs: 5_000 });
      const rows = db.prepare('SELECT message_id AS id, COUNT(*) AS n FROM events GROUP BY message_id').all() as Array<{ id: string; n: number }>;
      const stored = new Map(rows.map((r) => [r.id, r.n]));
      for (const r of results) assert.equal(stored.get(r.messageId), 1, `event ${r.messageId} stored once`);
      assert.equal(stored.get('after-restart'), 1);
      // Both processes appended events while one drained: every row's payload is its own event's.
      const positions = db.prepare('SELECT message_id AS id, log_segment AS segment, log_offset AS offset, log_length AS length FROM events').all() as Array<{ id: string } & PayloadPosition>;
      const segments = new SegmentReader(segmentsDirFor(join(dataDir, 'firstparty.db')));
      try {
        for (const p of positions) assert.equal((JSON.parse(segments.read(p)) as { messageId?: unknown }).messageId, p.id, `payload of ${p.id}`);
      } finally {
        segments.close();
      }
    } finally {
      db.close();
    }
    process.stdout.write(`# restart under load: ${results.length} requests, ${retries} retried on a closed keep-alive socket, pid ${firstPid} -> ${newPid}, old process gone ${switchedAfterMs} ms after the load began\n`);
  });
});

/** Creates a workspace and a source through the admin API; returns the source's write key. */
async function createSource(adminPort: number, token: string): Promise<string> {
  const post = async (path: string, body: object) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(res.ok, `${path}: ${res.status}`);
    return (await res.json()) as { id: string; writeKey?: string };
  };
  const ws = await post('/api/v1/workspaces', { name: 'Shop', plan: 'business' });
  const source = await post(`/api/v1/workspaces/${ws.id}/sources`, { name: 'Website', type: 'analytics.js' });
  return source.writeKey!;
}

/**
 * POSTs one track call over the agent's keep-alive connection. Retries once, and only when the
 * connection closed before any byte of the response: the server closed an idle keep-alive
 * socket as the request left (the race Node's `http` documentation describes for `reusedSocket`).
 */
async function track(agent: Agent, port: number, writeKey: string, messageId: string, onRetry: () => void): Promise<Sent> {
  const body = JSON.stringify({ userId: 'u1', event: 'Restart Probe', messageId });
  for (let attempt = 0; ; attempt++) {
    const r = await new Promise<{ status?: number; error?: string; closedBeforeResponse: boolean }>((resolve) => {
      let responded = false;
      const req = request({
        host: '127.0.0.1', port, servername: API_HOST, path: '/v1/track', method: 'POST', agent,
        headers: { host: API_HOST, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      }, (res) => {
        responded = true;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, closedBeforeResponse: false }));
        res.on('error', (err) => resolve({ error: err.message, closedBeforeResponse: false }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve({
        error: `${err.code ?? ''} ${err.message}`,
        // ECONNREFUSED or a TLS failure is downtime, never retried.
        closedBeforeResponse: !responded && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'),
      }));
      req.end(body);
    });
    if (r.status === 200) return { ok: true, messageId };
    if (r.error && r.closedBeforeResponse && attempt === 0) {
      onRetry();
      continue;
    }
    return { ok: false, messageId, why: r.error ?? `status ${r.status}` };
  }
}
