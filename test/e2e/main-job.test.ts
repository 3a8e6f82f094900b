import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import {
  createTestCa, isRoot, issueTestLeaf, launchChromium, missingBinaries, startDelegationWorld, waitUntil,
  type Browser, type DelegationWorld, type Pebble,
} from '../peers/index.ts';
import { dig } from './dig.ts';

const PARENT = '127.0.0.10';
const NS1 = '127.0.0.2';
const NS2 = '127.0.0.3';
const skip = missingBinaries(['nsd', 'unbound', 'pebble', 'dig', 'certutil', 'openssl']) ?? (isRoot() ? null : 'needs root to bind port 53 on loopback addresses')
  ?? (missingBinaries(['chromium']) ? 'chromium is missing (run scripts/install-peers.sh)' : null);


describe('the main job, end to end on real peers', { skip: skip ?? false }, () => {
  let world: DelegationWorld;
  let pebble: Pebble;
  let fp: Running;
  let dataDir: string;
  let admin: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;
  let ws: string;
  let source: { id: string; writeKey: string };
  let domainId: string;

  before(async () => {
    world = await startDelegationWorld({ parent: PARENT, ns1: NS1, ns2: NS2 }, { pebble: true });
    pebble = world.pebble!;
    dataDir = await mkdtemp(join(tmpdir(), 'fp-e2e-'));
    fp = await startFirstparty(loadConfig({ ...world.firstpartyEnv(dataDir), FIRSTPARTY_REMOVAL_GRACE_MS: '2000' }), { logger: pino({ level: 'warn' }) });
    admin = async (method, path, body) => {
      const res = await fetch(fp.adminUrl + path, {
        method, headers: { authorization: `Bearer ${fp.adminToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    };
  });

  after(async () => {
    await fp?.close();
    await world?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('a workspace with an analytics.js source requests cdp.shop.test and is told the NS records to add', async () => {
    const w = await admin('POST', '/api/v1/workspaces', { name: 'Shop', plan: 'business' });
    assert.equal(w.status, 201);
    ws = w.json.id;
    const s = await admin('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'Website', type: 'analytics.js' });
    assert.equal(s.status, 201);
    source = s.json;
    assert.match(source.writeKey, /^[A-Za-z0-9]{32}$/);
    const d = await admin('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'CDP.Shop.test.', sourceIds: [source.id] });
    assert.equal(d.status, 201);
    domainId = d.json.id;
    assert.equal(d.json.domain, 'cdp.shop.test');
    assert.equal(d.json.state, 'awaiting_delegation');
    assert.deepEqual(d.json.nameservers, ['ns1.firstparty.test', 'ns2.firstparty.test']);
    assert.deepEqual(d.json.hosts, { cdn: 'cdn.cdp.shop.test', api: 'api.cdp.shop.test' });
  });

  test('the domain waits for delegation while the parent zone has no NS records for it', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const d = await admin('GET', `/api/v1/workspaces/${ws}/custom-domains/${domainId}`);
    assert.equal(d.json.state, 'awaiting_delegation');
    assert.equal(d.json.reason, 'awaiting_ns_records');
    assert.equal(d.json.action.actor, 'customer');
  });

  test('our nameservers answer the zone authoritatively over UDP and TCP', async () => {
    for (const [server, tcp] of [[NS1, false], [NS2, true]] as const) {
      const soa = await dig(server, 53, 'cdp.shop.test', 'SOA', { tcp });
      assert.equal(soa.status, 'NOERROR');
      assert.ok(soa.flags.includes('aa'), `aa flag in ${soa.raw}`);
      assert.match(soa.answer.join('\n'), /cdp\.shop\.test\. \d+ IN SOA ns1\.firstparty\.test\./);
      const ns = await dig(server, 53, 'cdp.shop.test', 'NS', { tcp });
      assert.deepEqual(ns.answer.map((l) => l.split(' ').pop()).sort(), ['ns1.firstparty.test.', 'ns2.firstparty.test.']);
      for (const host of ['cdn.cdp.shop.test', 'api.cdp.shop.test']) {
        const a = await dig(server, 53, host, 'A', { tcp });
        assert.deepEqual(a.answer.map((l) => l.split(' ').pop()), ['127.0.0.1']);
      }
      const caa = await dig(server, 53, 'cdp.shop.test', 'CAA', { tcp });
      assert.match(caa.answer.join('\n'), /CAA 0 issue "letsencrypt\.org"/);
      const nx = await dig(server, 53, 'nope.cdp.shop.test', 'A', { tcp });
      assert.equal(nx.status, 'NXDOMAIN');
      assert.ok(nx.flags.includes('aa'));
      assert.match(nx.authority.join('\n'), /SOA/);
      const nodata = await dig(server, 53, 'cdn.cdp.shop.test', 'TXT', { tcp });
      assert.equal(nodata.status, 'NOERROR');
      assert.equal(nodata.answer.length, 0);
      assert.match(nodata.authority.join('\n'), /SOA/);
      const refused = await dig(server, 53, 'example.com', 'A', { tcp });
      assert.equal(refused.status, 'REFUSED');
    }
  });

  test('once the NS records are added, the domain becomes active with a certificate from the ACME CA', async () => {
    const t0 = Date.now();
    await world.delegate();
    let d: any;
    await waitUntil('domain active', async () => {
      d = (await admin('GET', `/api/v1/workspaces/${ws}/custom-domains/${domainId}`)).json;
      assert.notEqual(d.state, 'failed', `issuance failed: ${JSON.stringify(d)}`);
      return d.state === 'active';
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const liveMs = Date.now() - t0;
    assert.deepEqual(d.history.map((h: any) => h.to), ['awaiting_delegation', 'delegated', 'issuing', 'active']);
    assert.ok(d.certificate, 'certificate shown');
    assert.deepEqual([...d.certificate.names].sort(), ['api.cdp.shop.test', 'cdn.cdp.shop.test']);
    assert.match(d.certificate.issuer, /Pebble/i);
    assert.ok(Date.parse(d.certificate.notAfter) > Date.now());
    assert.equal(d.certificate.status, 'valid');
    const renewAt = Date.parse(d.certificate.nextRenewalAt);
    assert.ok(renewAt > Date.now() && renewAt < Date.parse(d.certificate.notAfter), `renewal scheduled inside the lifetime: ${d.certificate.nextRenewalAt}`);
    process.stdout.write(`# time from NS records to active: ${liveMs} ms\n`);
  });

  test('both hosts present a certificate that chains to the ACME CA root', async () => {
    const root = await pebble.fetchRootPem();
    for (const host of ['cdn.cdp.shop.test', 'api.cdp.shop.test']) {
      const peer = await new Promise<{ authorized: boolean; subjectaltname: string | undefined }>((resolve, reject) => {
        const sock = tlsConnect({ host: '127.0.0.1', port: fp.edge.port, servername: host, ca: [root], ALPNProtocols: ['http/1.1'] }, () => {
          resolve({ authorized: sock.authorized, subjectaltname: sock.getPeerCertificate().subjectaltname });
          sock.end();
        });
        sock.on('error', reject);
      });
      assert.equal(peer.authorized, true);
      assert.match(peer.subjectaltname ?? '', new RegExp(`DNS:${host.replace(/\./g, '\\.')}`));
    }
  });

  test('the metrics endpoint reports certificate, edge and DNS figures', async () => {
    const text = await (await fetch(`${fp.adminUrl}/metrics`)).text();
    assert.match(text, /^firstparty_certificate_events_total\{kind="obtained"\} 1$/m);
    assert.match(text, /^firstparty_edge_certificates_expiring\{within_days="30"\} 0$/m);
    assert.match(text, /^firstparty_edge_tls_handshakes_total\{result="ok"\} [1-9]/m);
    assert.match(text, /^firstparty_dns_queries_total\{qtype="SOA"\} [1-9]/m);
  });

  test('a page with the snippet sends page and track events from Chromium through the custom hosts only', async () => {
    const snip = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`)).json;
    assert.equal(snip.cdnHost, 'cdn.cdp.shop.test');
    assert.equal(snip.apiHost, 'api.cdp.shop.test');
    assert.match(snip.snippet, /https:\/\/cdn\.cdp\.shop\.test\/analytics\.js\/v1\//);

    const pageCa = await createTestCa('shop.test page CA');
    const leaf = await issueTestLeaf(pageCa, ['www.shop.test']);
    const html = `<!doctype html><html><head><title>Shop</title><script>${snip.snippet}</script></head>` +
      `<body><button id="buy" onclick="analytics.track('Order Completed', {revenue: 10})">Buy</button></body></html>`;
    const site: Server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    const sitePort = (site.address() as AddressInfo).port;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium({
        mapAllHostsTo: `127.0.0.1:${fp.edge.port}`,
        hostResolverRules: `MAP www.shop.test 127.0.0.1:${sitePort}, MAP *.cdp.shop.test 127.0.0.1:${fp.edge.port}, EXCLUDE localhost`,
        trustRootPems: [await pebble.fetchRootPem(), pageCa.certPem],
      });
      const page = await browser.browser.newPage();
      const hosts = new Set<string>();
      const failures: string[] = [];
      page.on('request', (r) => hosts.add(new URL(r.url()).hostname));
      page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
      await page.goto('https://www.shop.test/');
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.click('#buy');
      let events: any[] = [];
      await waitUntil('page and track stored', async () => {
        events = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/events?limit=10`)).json.events;
        return events.some((e) => e.type === 'track') && events.some((e) => e.type === 'page');
      }, { timeoutMs: 15_000, intervalMs: 200 });
      const track = events.find((e) => e.type === 'track');
      const pageEvent = events.find((e) => e.type === 'page');
      for (const e of [track, pageEvent]) {
        assert.equal(e.sourceId, source.id);
        assert.equal(e.status, 'accepted');
        assert.equal(e.payload.context.ip, '127.0.0.1');
        assert.equal(e.payload.context.library.name, 'analytics.js');
        assert.ok(e.payload.anonymousId);
      }
      assert.equal(track.payload.event, 'Order Completed');
      assert.equal(track.payload.properties.revenue, 10);
      assert.equal(pageEvent.payload.context.page.url, 'https://www.shop.test/');
      assert.deepEqual([...hosts].sort(), ['api.cdp.shop.test', 'cdn.cdp.shop.test', 'www.shop.test'], `hosts contacted: ${[...hosts].join(', ')}`);
      assert.deepEqual(failures, []);
    } finally {
      await browser?.close();
      await new Promise<void>((r) => site.close(() => r()));
    }
  });

  test('removal revokes the certificate at the CA, keeps serving for the grace period, then stops DNS and HTTPS', async () => {
    const before = (await admin('GET', `/api/v1/workspaces/${ws}/custom-domains/${domainId}`)).json;
    const removed = await admin('DELETE', `/api/v1/workspaces/${ws}/custom-domains/${domainId}`);
    assert.equal(removed.json.state, 'removed');
    const handshake = (host: string) => new Promise<boolean>((resolve) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: fp.edge.port, servername: host, rejectUnauthorized: false }, () => {
        sock.end();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    assert.equal((await dig(NS1, 53, 'cdp.shop.test', 'SOA')).status, 'NOERROR', 'zone still served during the grace period');
    assert.equal(await handshake('api.cdp.shop.test'), true, 'hosts still served during the grace period');
    await waitUntil('certificate revoked at the CA', async () => /"Status":"Revoked"/i.test(JSON.stringify(await pebble.certStatusBySerial(before.certificate.serial))),
      { timeoutMs: 20_000, intervalMs: 200 });
    await waitUntil('zone and hosts gone after the grace period', async () =>
      (await dig(NS1, 53, 'cdp.shop.test', 'SOA')).status === 'REFUSED' && !(await handshake('api.cdp.shop.test')), { timeoutMs: 10_000, intervalMs: 250 });
  });
});
