import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { freePort } from '../peers/index.ts';

const API = 'api.firstparty.localhost';

describe('event inspector: paged list and live tail of a source', () => {
  let fp: Running;
  let dataDir: string;
  let ws: string;
  let source: { id: string; writeKey: string };
  const admin = async (method: string, path: string, body?: unknown, token = fp.adminToken) => {
    const res = await fetch(fp.adminUrl + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: (await res.json()) as any };
  };
  const ingest = (path: string, body: unknown) => new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: fp.edge.port, servername: API, ca: fp.localCaRootPem, method: 'POST', path, agent: false,
      headers: { host: API, authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  const openTail = (path: string, token = fp.adminToken) => new Promise<IncomingMessage>((resolve, reject) => {
    get(fp.adminUrl + path, { headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject);
  });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fp-inspector-'));
    fp = await startFirstparty(loadConfig({
      FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
      FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${await freePort()}`, FIRSTPARTY_RESOLVER: '127.0.0.1:53',
    }), { logger: pino({ level: 'error' }) });
    ws = (await admin('POST', '/api/v1/workspaces', { name: 'Shop', plan: 'business' })).json.id;
    source = (await admin('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'Server', type: 'node' })).json;
  });
  after(async () => {
    await fp?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the live tail streams each stored event of the source as Server-Sent Events, accepted and rejected with its reason', async () => {
    const res = await openTail(`/api/v1/workspaces/${ws}/sources/${source.id}/events/stream`);
    try {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      const frames: any[] = [];
      let text = '';
      const twoEvents = new Promise<void>((resolve) => res.on('data', (c: Buffer) => {
        text += c.toString();
        const blocks = text.split('\n\n');
        text = blocks.pop()!;
        for (const b of blocks) if (b.startsWith('event: event\n')) frames.push(JSON.parse(b.slice(b.indexOf('data: ') + 6)));
        if (frames.length >= 2) resolve();
      }));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await ingest('/v1/batch', { batch: [
        { type: 'track', userId: 'u1', event: 'Signed Up', messageId: 'tail-ok' },
        { type: 'track', event: 'Anonymous', messageId: 'tail-rejected' },
      ] }), 200);
      await Promise.race([twoEvents, new Promise((_, rej) => setTimeout(() => rej(new Error(`tail got ${JSON.stringify(frames)}`)), 5_000))]);
      assert.deepEqual(frames.map((f) => [f.messageId, f.status, f.reason, f.type]), [
        ['tail-ok', 'accepted', null, 'track'], ['tail-rejected', 'rejected', 'no_user_anon_id', 'track'],
      ]);
      assert.equal(frames[0].payload.event, 'Signed Up');
      assert.ok(!Number.isNaN(Date.parse(frames[0].receivedAt)));
    } finally {
      res.destroy();
    }
  });

  test('the paged list shows status and reason, newest first, and pages with before', async () => {
    const first = await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/events?limit=1`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.json.events.map((e: any) => [e.messageId, e.status, e.reason]), [['tail-rejected', 'rejected', 'no_user_anon_id']]);
    const next = await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/events?limit=1&before=${first.json.nextBefore}`);
    assert.deepEqual(next.json.events.map((e: any) => [e.messageId, e.status, e.reason]), [['tail-ok', 'accepted', null]]);
  });

  test('the live tail needs a token of the workspace and a source of it', async () => {
    assert.equal((await openTail(`/api/v1/workspaces/${ws}/sources/${source.id}/events/stream`, 'wrong')).statusCode, 401);
    const missing = await openTail(`/api/v1/workspaces/${ws}/sources/src_nope/events/stream`);
    assert.equal(missing.statusCode, 404);
    missing.resume();
    const other = (await admin('POST', '/api/v1/workspaces', { name: 'Other', plan: 'business' })).json.id;
    const token = (await admin('POST', `/api/v1/workspaces/${other}/tokens`, { name: 'ci' })).json.token;
    assert.equal(typeof token, 'string');
    const forbidden = await openTail(`/api/v1/workspaces/${ws}/sources/${source.id}/events/stream`, token);
    assert.equal(forbidden.statusCode, 403);
    forbidden.resume();
  });
});
