import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../src/config/index.ts';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import {
  createTestCa, isRoot, issueTestLeaf, launchChromium, missingBinaries, startDelegationWorld,
  waitUntil, type Browser, type DelegationWorld,
} from '../peers/index.ts';

const DEFAULT_CDN = 'cdn.fp.test';
const DEFAULT_API = 'api.fp.test';
const PAGE_HOST = 'www.shop.test';

const browserSkip = missingBinaries(['chromium', 'certutil', 'openssl']);
const rootSkip = browserSkip ?? missingBinaries(['nsd', 'unbound']) ?? (isRoot() ? null : 'needs root to bind port 53 on loopback addresses');

type Admin = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;

/** A page server for www.shop.test whose HTML and Content-Security-Policy header the test sets. */
interface Site {
  readonly port: number;
  readonly caPem: string;
  html: string;
  csp: string | null;
  close(): Promise<void>;
}

async function startSite(): Promise<Site> {
  const ca = await createTestCa('shop.test page CA');
  const leaf = await issueTestLeaf(ca, [PAGE_HOST]);
  const server: Server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    if (req.url !== '/') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...(site.csp ? { 'content-security-policy': site.csp } : {}) });
    res.end(site.html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const site: Site = {
    port: (server.address() as AddressInfo).port, caPem: ca.certPem, html: '', csp: null,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  return site;
}

/** The page embedding `snippet` as its only inline script (its CSP hash must match exactly). */
function pageHtml(snippet: string): string {
  return `<!doctype html><html><head><title>Shop</title><script>${snippet}</script></head><body>Shop</body></html>`;
}

function adminClient(fp: Running): Admin {
  return async (method, path, body) => {
    const res = await fetch(fp.adminUrl + path, {
      method, headers: { authorization: `Bearer ${fp.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };
}

async function createShop(admin: Admin): Promise<{ ws: string; source: { id: string; writeKey: string } }> {
  const w = await admin('POST', '/api/v1/workspaces', { name: 'Shop', plan: 'business' });
  assert.equal(w.status, 201);
  const s = await admin('POST', `/api/v1/workspaces/${w.json.id}/sources`, { name: 'Website', type: 'analytics.js' });
  assert.equal(s.status, 201);
  return { ws: w.json.id, source: s.json };
}

/** Waits for a stored event of `source` matching `pred` and returns it. */
async function storedEvent(admin: Admin, ws: string, sourceId: string, what: string, pred: (e: any) => boolean): Promise<any> {
  let found: any;
  await waitUntil(what, async () => {
    const events: any[] = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${sourceId}/events?limit=50`)).json.events;
    found = events.find(pred);
    return found !== undefined;
  }, { timeoutMs: 15_000, intervalMs: 150 });
  return found;
}

/** Records every CSP violation the document reports and every console error. */
async function watchPage(page: Page): Promise<{ urls: string[]; consoleErrors: string[]; violations: () => Promise<string[]> }> {
  const urls: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await page.addInitScript(() => {
    const w = window as any;
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  return { urls, consoleErrors, violations: () => page.evaluate(() => (window as any).__violations as string[]) };
}

const hostsOf = (urls: string[]) => [...new Set(urls.map((u) => new URL(u).hostname))].sort();

describe('the snippet in Chromium on the operator\'s default hosts', { skip: browserSkip ?? false }, () => {
  let fp: Running;
  let dataDir: string;
  let admin: Admin;
  let site: Site;
  let browser: Browser;
  let ws: string;
  let source: { id: string; writeKey: string };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fp-snippet-'));
    fp = await startFirstparty(loadConfig({
      FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_DNS_LISTEN: '127.0.0.1:0',
      FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0', FIRSTPARTY_RESOLVER: '127.0.0.1:9',
      FIRSTPARTY_DEFAULT_CDN_HOST: DEFAULT_CDN, FIRSTPARTY_DEFAULT_API_HOST: DEFAULT_API,
    }), { logger: pino({ level: 'warn' }) });
    admin = adminClient(fp);
    ({ ws, source } = await createShop(admin));
    site = await startSite();
    browser = await launchChromium({
      mapAllHostsTo: `127.0.0.1:${fp.edge.port}`,
      hostResolverRules: `MAP ${PAGE_HOST} 127.0.0.1:${site.port}, MAP ${DEFAULT_CDN} 127.0.0.1:${fp.edge.port}, ` +
        `MAP ${DEFAULT_API} 127.0.0.1:${fp.edge.port}, EXCLUDE localhost`,
      trustRootPems: [fp.localCaRootPem, site.caPem],
    });
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await fp?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('a renamed global loads the library from the alias path and sends only to the page, CDN and API hosts', async () => {
    const snip = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet?globalName=fpq&aliasPath=true`)).json;
    const aliasUrl = `https://${DEFAULT_CDN}/${ws}/${source.id}.js`;
    assert.equal(snip.scriptUrl, aliasUrl);
    assert.doesNotMatch(new URL(aliasUrl).pathname, /analytics/i);
    assert.ok(!aliasUrl.includes(source.writeKey), 'the script URL does not carry the write key');
    site.html = pageHtml(snip.snippet);
    site.csp = null;
    const page = await browser.browser.newPage();
    try {
      const watch = await watchPage(page);
      await page.goto(`https://${PAGE_HOST}/`);
      await page.waitForFunction(() => (window as any).fpq?.initialized === true, null, { timeout: 15_000 });
      assert.equal(await page.evaluate(() => typeof (window as any).analytics), 'undefined');
      await page.evaluate(() => (window as any).fpq.track('Renamed Global Works', { n: 1 }));
      const e = await storedEvent(admin, ws, source.id, 'the track event stored', (x) => x.payload.event === 'Renamed Global Works');
      assert.equal(e.status, 'accepted');
      assert.equal(e.payload.properties.n, 1);
      assert.ok(watch.urls.includes(aliasUrl), `the alias script was requested: ${watch.urls.join(', ')}`);
      assert.ok(!watch.urls.some((u) => /\/analytics\.js\/v1\//.test(u)), 'the write-key script path is never requested');
      assert.deepEqual(hostsOf(watch.urls), [DEFAULT_API, DEFAULT_CDN, PAGE_HOST].sort(), `requests: ${watch.urls.join(', ')}`);
      process.stdout.write(`# paths requested: ${[...new Set(watch.urls.map((u) => new URL(u).pathname.replace(source.writeKey, '<writeKey>')))].join(' ')}\n`);
    } finally {
      await page.close();
    }
  });

  test('the snippet endpoint\'s CSP, served as the page\'s policy, lets analytics.js load and send with no violation', async () => {
    const snip = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`)).json;
    assert.deepEqual(snip.csp.directives['connect-src'], [`https://${DEFAULT_CDN}`, `https://${DEFAULT_API}`]);
    site.html = pageHtml(snip.snippet);
    site.csp = snip.csp.policy;
    const page = await browser.browser.newPage();
    try {
      const watch = await watchPage(page);
      await page.goto(`https://${PAGE_HOST}/`);
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.evaluate(() => (window as any).analytics.track('Under CSP'));
      await storedEvent(admin, ws, source.id, 'the event sent under CSP stored', (x) => x.payload.event === 'Under CSP');
      assert.deepEqual(await watch.violations(), []);
      assert.deepEqual(watch.consoleErrors, []);
    } finally {
      await page.close();
    }
  });

  test('without the API host in connect-src the page reports a CSP violation (the check can fail)', async () => {
    const snip = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`)).json;
    site.html = pageHtml(snip.snippet);
    site.csp = `script-src ${snip.csp.directives['script-src'].join(' ')}; connect-src https://${DEFAULT_CDN}`;
    const page = await browser.browser.newPage();
    try {
      const watch = await watchPage(page);
      await page.goto(`https://${PAGE_HOST}/`);
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.evaluate(() => (window as any).analytics.track('Blocked By CSP'));
      let violations: string[] = [];
      await waitUntil('a CSP violation reported', async () => (violations = await watch.violations()).length > 0, { timeoutMs: 10_000, intervalMs: 100 });
      assert.ok(violations.some((v) => v.startsWith('connect-src') && v.includes(DEFAULT_API)), `violations: ${violations.join('; ')}`);
    } finally {
      await page.close();
    }
  });
});

describe('the switch from the default hosts to an active custom domain', { skip: rootSkip ?? false }, () => {
  const PARENT = '127.0.0.30';
  const NS1 = '127.0.0.31';
  const NS2 = '127.0.0.32';
  let world: DelegationWorld;
  let fp: Running;
  let dataDir: string;
  let admin: Admin;
  let site: Site;
  let browser: Browser;

  before(async () => {
    world = await startDelegationWorld({ parent: PARENT, ns1: NS1, ns2: NS2 });
    dataDir = await mkdtemp(join(tmpdir(), 'fp-switch-'));
    fp = await startFirstparty(loadConfig({
      ...world.firstpartyEnv(dataDir), FIRSTPARTY_DEFAULT_CDN_HOST: DEFAULT_CDN, FIRSTPARTY_DEFAULT_API_HOST: DEFAULT_API,
    }), { logger: pino({ level: 'warn' }) });
    admin = adminClient(fp);
    site = await startSite();
    browser = await launchChromium({
      mapAllHostsTo: `127.0.0.1:${fp.edge.port}`,
      hostResolverRules: `MAP ${PAGE_HOST} 127.0.0.1:${site.port}, MAP *.cdp.shop.test 127.0.0.1:${fp.edge.port}, ` +
        `MAP ${DEFAULT_CDN} 127.0.0.1:${fp.edge.port}, MAP ${DEFAULT_API} 127.0.0.1:${fp.edge.port}, EXCLUDE localhost`,
      trustRootPems: [fp.localCaRootPem, site.caPem],
    });
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await fp?.close();
    await world?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('a visitor identified on the default hosts keeps the same anonymousId and userId after the switch, under the requested CSP', async () => {
    const { ws, source } = await createShop(admin);
    const d = await admin('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.shop.test', sourceIds: [source.id], usesCsp: true });
    assert.equal(d.status, 201);
    assert.deepEqual(d.json.csp.directives, {
      'script-src': ['https://cdn.cdp.shop.test'], 'connect-src': ['https://cdn.cdp.shop.test', 'https://api.cdp.shop.test'],
    });

    const before = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`)).json;
    assert.equal(before.cdnHost, DEFAULT_CDN);
    site.html = pageHtml(before.snippet);
    site.csp = null;
    const page = await browser.browser.newPage();
    try {
      const watch = await watchPage(page);
      await page.goto(`https://${PAGE_HOST}/`);
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.evaluate(() => {
        const a = (window as any).analytics;
        a.identify('u-1');
        a.track('Before Switch');
      });
      const first = await storedEvent(admin, ws, source.id, 'the event before the switch', (x) => x.payload.event === 'Before Switch');
      const anonymousId: string = first.payload.anonymousId;
      assert.ok(anonymousId);
      assert.equal(first.payload.userId, 'u-1');
      const stored = await page.evaluate(() => localStorage.getItem('ajs_anonymous_id'));
      const cookie = (await page.context().cookies(`https://${PAGE_HOST}/`)).find((c) => c.name === 'ajs_anonymous_id');
      assert.ok(stored?.includes(anonymousId) || decodeURIComponent(cookie?.value ?? '').includes(anonymousId),
        `anonymousId kept by the page: localStorage ${stored}, cookie ${cookie?.value}`);
      assert.deepEqual(hostsOf(watch.urls), [DEFAULT_API, DEFAULT_CDN, PAGE_HOST].sort());

      await world.delegate();
      await waitUntil('domain active', async () => {
        const v = (await admin('GET', `/api/v1/workspaces/${ws}/custom-domains/${d.json.id}`)).json;
        assert.notEqual(v.state, 'failed', `issuance failed: ${JSON.stringify(v)}`);
        return v.state === 'active';
      }, { timeoutMs: 20_000, intervalMs: 100 });

      const afterSwitch = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`)).json;
      assert.equal(afterSwitch.cdnHost, 'cdn.cdp.shop.test');
      assert.equal(afterSwitch.apiHost, 'api.cdp.shop.test');
      const requested = d.json.csp.directives;
      assert.deepEqual(afterSwitch.csp.directives['connect-src'], requested['connect-src']);
      assert.deepEqual(afterSwitch.csp.directives['script-src'].slice(1), requested['script-src']);
      // The page's policy: what the domain request listed, plus the snippet's own hash.
      site.html = pageHtml(afterSwitch.snippet);
      site.csp = `script-src ${afterSwitch.csp.directives['script-src'][0]} ${requested['script-src'].join(' ')}; connect-src ${requested['connect-src'].join(' ')}`;
      watch.urls.length = 0;
      await page.reload();
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.evaluate(() => (window as any).analytics.track('After Switch'));
      const next = await storedEvent(admin, ws, source.id, 'the event after the switch', (x) => x.payload.event === 'After Switch');
      assert.equal(next.payload.anonymousId, anonymousId);
      assert.equal(next.payload.userId, 'u-1');
      assert.deepEqual(hostsOf(watch.urls), ['api.cdp.shop.test', 'cdn.cdp.shop.test', PAGE_HOST], `requests: ${watch.urls.join(', ')}`);
      assert.deepEqual(await watch.violations(), []);
      assert.deepEqual(watch.consoleErrors, []);
    } finally {
      await page.close();
    }
  });
});
