import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import { freePort, missingBinaries, startPebble, waitUntil, type Pebble, type PebbleOptions } from '../peers/index.ts';
import { assumeDelegated, handshake, requestDomain, waitActive } from './support.ts';

const skip = missingBinaries(['pebble']);
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A temp data dir, a DNS port and a Pebble validating through that DNS port. */
async function setup(pebbleOpts: Omit<PebbleOptions, 'dnsServer'> = {}): Promise<{ dataDir: string; dnsPort: number; pebble: Pebble }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fp-certs-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const dnsPort = await freePort();
  const pebble = await startPebble({ dnsServer: `127.0.0.1:${dnsPort}`, ...pebbleOpts });
  cleanups.push(() => pebble.stop());
  return { dataDir, dnsPort, pebble };
}

function env(dataDir: string, dnsPort: number, directoryUrl: string, caBundlePath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
    FIRSTPARTY_NAMESERVERS: 'ns1.firstparty.test,ns2.firstparty.test', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
    FIRSTPARTY_ACME_DIRECTORY: directoryUrl, FIRSTPARTY_ACME_CA_BUNDLE: caBundlePath,
    // No parent zone exists here: delegation is assumed (support.ts); the checker asks our own server and is refused.
    FIRSTPARTY_RESOLVER: `127.0.0.1:${dnsPort}`, FIRSTPARTY_DELEGATION_POLL_MS: '600000', ...extra,
  };
}

async function start(vars: Record<string, string>, opts: { issuanceRetryMs?: number[] } = {}): Promise<Running> {
  const fp = await startFirstparty(loadConfig(vars), { logger: pino({ level: 'silent' }), ...opts });
  cleanups.push(() => fp.close());
  assumeDelegated(fp);
  return fp;
}

describe('certificate lifecycle against Pebble', { skip: skip ?? false }, () => {
  test('renews 5-minute certificates before they expire while HTTPS keeps answering, without dropping an open connection', { timeout: 330_000 }, async () => {
    // Pebble's certificateValidityPeriod 300 s: the "half remaining" rule (certificates under 10 days)
    // renews about 150 s after issuance.
    const { dataDir, dnsPort, pebble } = await setup({ validityPeriodSeconds: 300 });
    const fp = await start(env(dataDir, dnsPort, pebble.directoryUrl, pebble.tlsCaPath));
    const id = await requestDomain(fp, 'cdp.shop.test');
    await waitActive(fp, id);
    const root = await pebble.fetchRootPem();
    const first = await handshake(fp.edge.port, 'cdn.cdp.shop.test', root);
    assert.equal(first.authorized, true, first.error ?? '');
    const schedule = await fp.store.renewals.get(id);
    assert.ok(schedule && schedule.renewAt < first.notAfter, 'renewal scheduled before expiry');
    const held = await openKeepAlive(fp.edge.port, 'api.cdp.shop.test', root);
    let renewed: Awaited<ReturnType<typeof handshake>> | null = null;
    await held.get('/');
    await waitUntil('renewed certificate served', async () => {
      // Keep the held connection busy (the edge closes idle ones after 60 s); it must stay the same socket.
      const kept = await held.get('/');
      assert.ok(kept.status > 0 && kept.reused, 'the connection opened before the renewal keeps answering');
      for (const host of ['cdn.cdp.shop.test', 'api.cdp.shop.test']) {
        const h = await handshake(fp.edge.port, host, root);
        assert.equal(h.authorized, true, `${host} at ${new Date().toISOString()}: ${h.error}`);
        if (h.serialHex !== first.serialHex && host === 'api.cdp.shop.test') renewed = h;
      }
      return renewed !== null;
    }, { timeoutMs: 300_000, intervalMs: 5000 });
    assert.ok(Date.now() < first.notAfter, 'renewed before the first certificate expired');
    assert.ok(renewed!.notAfter > first.notAfter);
    const again = await held.get('/');
    assert.ok(again.status > 0 && again.reused, 'the connection opened before the renewal still answers');
    held.close();
    const certs = await fp.store.certRecords.listForDomain(id);
    assert.deepEqual(certs.map((c) => c.status).sort(), ['superseded', 'valid']);
  });

  test('issues while Pebble rejects half of all nonces (PEBBLE_WFE_NONCEREJECT=50)', async () => {
    const { dataDir, dnsPort, pebble } = await setup({ env: { PEBBLE_WFE_NONCEREJECT: '50' } });
    const fp = await start(env(dataDir, dnsPort, pebble.directoryUrl, pebble.tlsCaPath), { issuanceRetryMs: [200] });
    const id = await requestDomain(fp, 'cdp.nonce.test');
    await waitActive(fp, id, 25_000);
    const cert = await fp.store.certificates.currentFor(id);
    assert.match(cert?.issuer ?? '', /Pebble/);
  });

  test('revokes the certificate with reason cessationOfOperation when the domain is removed, as Pebble confirms', async () => {
    const { dataDir, dnsPort, pebble } = await setup();
    const fp = await start(env(dataDir, dnsPort, pebble.directoryUrl, pebble.tlsCaPath, { FIRSTPARTY_LOG_LEVEL: 'silent' }));
    const id = await requestDomain(fp, 'cdp.revoke.test');
    await waitActive(fp, id);
    const cert = (await fp.store.certificates.currentFor(id))!;
    assert.match(JSON.stringify(await pebble.certStatusBySerial(cert.serialHex)), /"Status":"Valid"/i);
    const revoked = new Promise<number>((resolve) => fp.events.on('cert.revoked', ({ reasonCode }) => resolve(reasonCode)));
    const d = (await fp.store.domains.get(id))!;
    await fp.control.removeDomain(d.workspaceId, id);
    assert.equal(await revoked, 5);
    const status = JSON.stringify(await pebble.certStatusBySerial(cert.serialHex));
    assert.match(status, /"Status":"Revoked"/i);
    assert.match(status, /"Reason":5/);
    const [stored] = await fp.store.certRecords.listForDomain(id);
    assert.equal(stored?.status, 'revoked');
    assert.equal(stored?.keySealed, '', 'the private key is deleted');
  });

  test('falls back to a second CA when the primary keeps refusing the names', async () => {
    const { dataDir, dnsPort, pebble: blocked } = await setup({ domainBlocklist: ['fallback.test'] });
    const second = await startPebble({ dnsServer: `127.0.0.1:${dnsPort}` });
    cleanups.push(() => second.stop());
    const bundle = join(dataDir, 'ca-bundle.pem');
    await writeFile(bundle, `${blocked.tlsCaPem}\n${second.tlsCaPem}`);
    const fp = await start(env(dataDir, dnsPort, blocked.directoryUrl, bundle, { FIRSTPARTY_ACME_FALLBACK_DIRECTORY: second.directoryUrl }), { issuanceRetryMs: [100] });
    const id = await requestDomain(fp, 'cdp.fallback.test');
    await waitActive(fp, id, 20_000);
    const cert = (await fp.store.certificates.currentFor(id))!;
    assert.equal(cert.directoryUrl, second.directoryUrl);
    assert.notEqual(await second.certStatusBySerial(cert.serialHex), null, 'the second Pebble issued it');
    const history = await fp.store.domains.history(id);
    assert.ok(history.some((h) => h.reason === 'ca_refused_name'), 'the primary\'s refusal is recorded');
  });

  test('a process killed during an order resumes it after restart and ends with exactly one valid certificate', async () => {
    // Slow validation (3 s) so that the kill lands while the order is open at the CA.
    const { dataDir, dnsPort, pebble } = await setup({ env: { PEBBLE_VA_NOSLEEP: '0', PEBBLE_VA_SLEEPTIME: '3' } });
    const vars = env(dataDir, dnsPort, pebble.directoryUrl, pebble.tlsCaPath);
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fp-launcher.ts')], {
      env: { ...process.env, ...vars, FP_TEST_ASSUME_DELEGATED: '1', FIRSTPARTY_ADMIN_TOKEN: 'crash-test-token' }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    const ready = await new Promise<{ adminUrl: string }>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        const m = /READY (.+)/.exec(b.toString());
        if (m) resolve(JSON.parse(m[1]!) as { adminUrl: string });
      });
      child.once('exit', (code) => reject(new Error(`launcher exited with ${code}`)));
    });
    const api = (path: string, body: unknown) => fetch(ready.adminUrl + path, {
      method: 'POST', headers: { authorization: 'Bearer crash-test-token', 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const ws = await api('/api/v1/workspaces', { name: 'Crash', plan: 'business' });
    const src = await api(`/api/v1/workspaces/${ws.id}/sources`, { name: 'site', type: 'analytics.js' });
    const domain = await api(`/api/v1/workspaces/${ws.id}/custom-domains`, { domain: 'cdp.crash.test', sourceIds: [src.id] });
    const db = new BetterSqlite3(join(dataDir, 'firstparty.db'), { readonly: true, fileMustExist: true });
    cleanups.push(async () => void db.close());
    await waitUntil('order open at the CA', async () => Boolean(db.prepare(`SELECT 1 FROM acme_orders WHERE status = 'open' AND order_url IS NOT NULL`).get()), { timeoutMs: 15_000, intervalMs: 20 });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM certificates`).get() as { n: number }).n, 0, 'killed before any certificate was stored');

    const fp = await start(vars);
    await waitActive(fp, domain.id, 25_000);
    const certs = await fp.store.certRecords.listForDomain(domain.id);
    assert.equal(certs.length, 1, 'exactly one certificate');
    assert.equal(certs[0]?.status, 'valid');
    const orders = db.prepare(`SELECT status FROM acme_orders`).all() as Array<{ status: string }>;
    assert.deepEqual(orders.map((o) => o.status), ['valid'], 'the interrupted order itself was resumed: no second order');
  });
});

/** An HTTPS keep-alive connection to the edge that stays open across a certificate change. */
async function openKeepAlive(port: number, servername: string, rootPem: string): Promise<{ get(path: string): Promise<{ status: number; reused: boolean }>; close(): void }> {
  const { Agent } = await import('node:https');
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: [rootPem], servername });
  const get = (path: string) => new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: servername }, servername }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
  await get('/');
  return { get, close: () => agent.destroy() };
}
