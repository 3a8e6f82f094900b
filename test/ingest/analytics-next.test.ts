import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createTestCa, freePort, issueTestLeaf, launchChromium, missingBinaries, waitUntil, type Browser } from '../peers/index.ts';

const CDN = 'cdn.op.test';
const API = 'api.op.test';
const skip = missingBinaries(['chromium', 'certutil', 'openssl']);

/** Rewrites the snippet's `analytics.load(key, options)` to add Segment.io load options. */
function withSegmentIo(snippet: string, extra: Record<string, unknown>): string {
  return snippet.replace(/analytics\.load\(("[^"]+"), (\{.*?\})\);\n/, (_m, key: string, opts: string) => {
    const o = JSON.parse(opts) as { integrations: { 'Segment.io': Record<string, unknown> } };
    Object.assign(o.integrations['Segment.io'], extra);
    return `analytics.load(${key}, ${JSON.stringify(o)});\n`;
  });
}

/**
 * analytics-next 1.84.3, served by our CDN host, in Chromium, delivering to our default API host
 * in standard delivery (one request per event, `/v1/p`, `/v1/t`) and in batching delivery
 * (`/v1/b`, flushed at 3 events).
 */
describe('analytics-next in Chromium against the default hosts', { skip: skip ?? false }, () => {
  let fp: Running;
  let dataDir: string;
  let site: Server;
  let browser: Browser;
  let ws: string;
  let source: { id: string; writeKey: string };
  let pages: Map<string, string>;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(fp.adminUrl + path, { method, headers: { authorization: `Bearer ${fp.adminToken}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return (await res.json()) as any;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fp-next-'));
    fp = await startFirstparty(loadConfig({
      FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
      FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${await freePort()}`, FIRSTPARTY_RESOLVER: '127.0.0.1:53',
      FIRSTPARTY_DEFAULT_CDN_HOST: CDN, FIRSTPARTY_DEFAULT_API_HOST: API,
    }), { logger: pino({ level: 'error' }) });
    ws = (await admin('POST', '/api/v1/workspaces', { name: 'Shop', plan: 'business' })).id;
    source = await admin('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'Website', type: 'analytics.js' });
    const snip = await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/snippet`);
    assert.equal(snip.apiHost, API);
    const html = (snippet: string) => `<!doctype html><html><head><title>Shop</title><script>${snippet}</script></head><body></body></html>`;
    pages = new Map([
      ['/standard', html(snip.snippet)],
      ['/batching', html(withSegmentIo(snip.snippet, { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 500 } } }))],
    ]);
    assert.match(pages.get('/batching')!, /"strategy":"batching"/);
    const pageCa = await createTestCa('page CA');
    const leaf = await issueTestLeaf(pageCa, ['www.shop.test']);
    site = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pages.get(req.url ?? '') ?? 'not found');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    const sitePort = (site.address() as AddressInfo).port;
    browser = await launchChromium({
      mapAllHostsTo: `127.0.0.1:${fp.edge.port}`,
      hostResolverRules: `MAP www.shop.test 127.0.0.1:${sitePort}, MAP *.op.test 127.0.0.1:${fp.edge.port}, EXCLUDE localhost`,
      trustRootPems: [fp.localCaRootPem, pageCa.certPem],
    });
  });
  after(async () => {
    await browser?.close();
    if (site) await new Promise<void>((r) => site.close(() => r()));
    await fp?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Loads a page, sends a page (from the snippet) and two tracks; returns the API paths posted and the stored events of the run. */
  async function run(path: string, runId: string): Promise<{ posts: string[]; events: any[] }> {
    const page = await browser.browser.newPage();
    const posts: string[] = [];
    const failures: string[] = [];
    page.on('request', (r) => { const u = new URL(r.url()); if (u.hostname === API && r.method() === 'POST') posts.push(u.pathname); });
    page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
    try {
      await page.goto(`https://www.shop.test${path}`);
      await page.waitForFunction(() => (window as any).analytics?.initialized === true, null, { timeout: 15_000 });
      await page.evaluate((id) => { const a = (window as any).analytics; a.track('Viewed', { runId: id }); a.track('Bought', { runId: id }); }, runId);
      let events: any[] = [];
      await waitUntil(`${path}: 2 tracks stored`, async () => {
        events = (await admin('GET', `/api/v1/workspaces/${ws}/sources/${source.id}/events?limit=50`)).events
          .filter((e: any) => e.payload.properties?.runId === runId || (e.type === 'page' && e.payload.context.page.url.endsWith(path)));
        return events.filter((e) => e.type === 'track').length === 2 && events.some((e) => e.type === 'page');
      }, { timeoutMs: 15_000, intervalMs: 100 });
      assert.deepEqual(failures, []);
      return { posts: posts.filter((p) => p !== '/v1/m'), events };
    } finally {
      await page.close();
    }
  }

  test('standard delivery sends each event on its own request and every one is stored accepted', async () => {
    const { posts, events } = await run('/standard', 'std');
    assert.deepEqual([...new Set(posts)].sort(), ['/v1/p', '/v1/t']);
    assert.equal(events.length, 3);
    for (const e of events) {
      assert.equal(e.status, 'accepted');
      assert.equal(e.payload.context.library.name, 'analytics.js');
      assert.equal(e.payload.context.ip, '127.0.0.1');
    }
  });

  test('batching delivery sends the three events in one /v1/b request and every one is stored accepted', async () => {
    const { posts, events } = await run('/batching', 'batch');
    assert.deepEqual(posts, ['/v1/b']);
    assert.equal(events.length, 3);
    for (const e of events) assert.equal(e.status, 'accepted');
    assert.deepEqual(events.map((e) => e.type).sort(), ['page', 'track', 'track']);
  });
});
