import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.ts';
import { freePort } from '../peers/index.ts';
import { startChildFirstparty, type ChildFirstparty } from './child-firstparty.ts';

const API_HOST = 'api.firstparty.localhost';
const CLIENTS = 4;

interface Target { port: number; ca: string }

/** One POST over a keep-alive agent; resolves to the status, rejects on a network error. */
function post(agent: Agent, target: Target, path: string, writeKey: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: target.port, servername: API_HOST, ca: target.ca, agent, method: 'POST', path,
      headers: { host: API_HOST, authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: 5_000,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A bounded load generator: `CLIENTS` loops, each sending alternately a single track and a
 * 10-event batch with unique messageIds. A request that fails on the network is retried with the
 * same ids (as the client libraries do) until it is answered or the load stops; ids are recorded
 * only when answered 200.
 */
function startLoad(writeKey: string, target: () => Target | undefined) {
  const acked: string[] = [];
  const statuses = new Map<number, number>();
  let networkErrors = 0;
  let stopped = false;
  let seq = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const loop = async (client: number) => {
    for (let n = 0; !stopped; n++) {
      const ids = Array.from({ length: n % 2 === 0 ? 1 : 10 }, () => `crash-${client}-${seq++}`);
      const [path, body] = ids.length === 1
        ? ['/v1/track', JSON.stringify({ userId: `u${client}`, event: 'Load', messageId: ids[0] })]
        : ['/v1/batch', JSON.stringify({ batch: ids.map((messageId) => ({ type: 'track', userId: `u${client}`, event: 'Load', messageId })) })];
      while (!stopped) {
        const t = target();
        if (t === undefined) { await new Promise((r) => setTimeout(r, 20)); continue; }
        try {
          const status = await post(agent, t, path, writeKey, body);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 200) acked.push(...ids);
          break;
        } catch {
          networkErrors++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  };
  const done = Promise.all(Array.from({ length: CLIENTS }, (_, i) => loop(i)));
  return {
    acked, statuses, errors: () => networkErrors,
    async stop() { stopped = true; await done; agent.destroy(); },
  };
}

let child: ChildFirstparty | undefined;
let dataDir: string | undefined;
after(async () => {
  await child?.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('every event answered 200 is stored exactly once after SIGKILL under load and a restart', { timeout: 60_000 }, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fp-crash-'));
  const env = {
    FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
    FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${await freePort()}`, FIRSTPARTY_RESOLVER: '127.0.0.1:53', FIRSTPARTY_INGEST_RATE_LIMIT: '0',
  };
  child = await startChildFirstparty(env);
  const admin = async (path: string, body: unknown) => {
    const res = await fetch(child!.info.adminUrl + path, {
      method: 'POST', headers: { authorization: `Bearer ${child!.info.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string; writeKey: string };
  };
  const ws = await admin('/api/v1/workspaces', { name: 'Crash', plan: 'business' });
  const source = await admin(`/api/v1/workspaces/${ws.id}/sources`, { name: 'Server', type: 'node' });

  let target: Target | undefined = { port: child.info.edgePort, ca: child.info.caPem };
  const load = startLoad(source.writeKey, () => target);
  await new Promise((r) => setTimeout(r, 1_500));
  const ackedBeforeKill = load.acked.length;
  // Killed while the load goes on: requests in flight (and any sent until it is gone) fail on the network.
  await child.kill('SIGKILL');
  target = undefined;
  child = await startChildFirstparty(env);
  target = { port: child.info.edgePort, ca: child.info.caPem };
  await new Promise((r) => setTimeout(r, 1_000));
  await load.stop();
  await child.kill('SIGKILL');
  child = undefined;

  const diag = `acked ${load.acked.length} (${ackedBeforeKill} before the kill), network errors ${load.errors()}, statuses ${JSON.stringify([...load.statuses])}`;
  process.stdout.write(`# ${diag}\n`);
  assert.ok(ackedBeforeKill > 100, `load ran before the kill: ${diag}`);
  assert.ok(load.acked.length > ackedBeforeKill, `load ran after the restart: ${diag}`);
  assert.ok(load.errors() > 0, `the kill interrupted requests in flight: ${diag}`);
  assert.deepEqual([...load.statuses.keys()], [200], diag);

  // The last kill may have caught index rows held for a commit: the next open indexes them again
  // from the segment log, as a restart would.
  await openSqliteStore(join(dataDir, 'firstparty.db')).close();
  const db = new BetterSqlite3(join(dataDir, 'firstparty.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT message_id AS id, count(*) AS n FROM events WHERE source_id = ? GROUP BY message_id').all(source.id) as Array<{ id: string; n: number }>;
    const stored = new Map(rows.map((r) => [r.id, r.n]));
    const missing = load.acked.filter((id) => !stored.has(id));
    const twice = load.acked.filter((id) => (stored.get(id) ?? 0) > 1);
    assert.deepEqual(missing, [], `acknowledged but not stored (${diag})`);
    assert.deepEqual(twice, [], 'stored more than once');
    assert.equal(new Set(load.acked).size, load.acked.length, 'each id acknowledged once');
    const integrity = db.pragma('integrity_check', { simple: true });
    assert.equal(integrity, 'ok');
  } finally {
    db.close();
  }
});
