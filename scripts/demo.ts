/**
 * `npm run demo`: the whole main job on loopback with real DNS software, for a first look.
 *
 * Starts nsd as the customer's parent zone `shop.test` (127.0.0.10:53), unbound as the resolver,
 * and firstparty on its embedded defaults except for DNS on 127.0.0.2:53 / 127.0.0.3:53 (NS records
 * carry no port), then walks through: workspace → analytics.js source → request `cdp.shop.test` →
 * add the NS records at the parent → wait for `active` → send an event over HTTPS to
 * `api.cdp.shop.test` → read it back. With `--once` it exits after that (used by the tests);
 * otherwise it keeps running until Ctrl-C so you can try curl against it. Needs root (port 53)
 * and the peers from scripts/install-peers.sh.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/index.ts';
import { startFirstparty } from '../src/app/index.ts';
import { isRoot, missingBinaries, startDelegationWorld } from '../test/peers/index.ts';

const once = process.argv.includes('--once');
const say = (msg: string) => process.stdout.write(`${msg}\n`);

async function main(): Promise<number> {
  const missing = missingBinaries(['nsd', 'unbound']);
  if (missing) return fail(`${missing}`);
  if (!isRoot()) return fail('the demo binds port 53 on 127.0.0.2, 127.0.0.3 and 127.0.0.10: run it as root');
  say('1. parent zone shop.test on nsd 127.0.0.10:53, resolver unbound on 127.0.0.1');
  const world = await startDelegationWorld({ parent: '127.0.0.10', ns1: '127.0.0.2', ns2: '127.0.0.3' });
  const dataDir = await mkdtemp(join(tmpdir(), 'firstparty-demo-'));
  const fp = await startFirstparty(loadConfig({ ...world.firstpartyEnv(dataDir), FIRSTPARTY_DELEGATION_POLL_MS: '500', FIRSTPARTY_DELEGATION_POLL_MAX_MS: '2000' }),
    { logger: pino({ level: 'warn' }) });
  const stop = async () => {
    await fp.close();
    await world.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    say(`2. firstparty: admin ${fp.adminUrl}, HTTPS edge 127.0.0.1:${fp.edge.port}, DNS 127.0.0.2:53 + 127.0.0.3:53, local CA ${fp.localCaRootPath}`);
    const admin = adminClient(fp.adminUrl, fp.adminToken);
    const ws = await admin('POST', '/api/v1/workspaces', { name: 'Shop', plan: 'business' });
    const src = await admin('POST', `/api/v1/workspaces/${ws.id}/sources`, { name: 'Website', type: 'analytics.js' });
    const dom = await admin('POST', `/api/v1/workspaces/${ws.id}/custom-domains`, { domain: 'cdp.shop.test', sourceIds: [src.id] });
    say(`3. requested ${dom.domain} (${dom.id}) for source ${src.id}; state ${dom.state}; add at the parent:\n   ${dom.nsRecords.join('\n   ')}`);
    await world.delegate();
    say('4. NS records added to shop.test; waiting for the domain to become active');
    const t0 = Date.now();
    let state = '';
    while (state !== 'active') {
      const d = await admin('GET', `/api/v1/workspaces/${ws.id}/custom-domains/${dom.id}`);
      if (d.state !== state) say(`   ${((Date.now() - t0) / 1000).toFixed(1)}s ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
      state = d.state;
      if (Date.now() - t0 > 60_000) throw new Error(`domain still ${state} after 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const sent = await postEvent(fp.edge.port, fp.localCaRootPem, src.writeKey);
    say(`5. POST https://api.cdp.shop.test/v1/track → ${sent}`);
    const events = await admin('GET', `/api/v1/workspaces/${ws.id}/sources/${src.id}/events?limit=1`);
    say(`6. stored: ${JSON.stringify(events.events[0]?.payload)}`);
    if (events.events[0]?.payload?.event !== 'Demo Completed') throw new Error('the event was not stored');
    if (once) return 0;
    const rootCopy = join(tmpdir(), 'firstparty-demo-root.pem');
    await writeFile(rootCopy, fp.localCaRootPem);
    say(`\nTry it yourself (Ctrl-C stops the demo):\n  curl --cacert ${rootCopy} --connect-to api.cdp.shop.test:443:127.0.0.1:${fp.edge.port} \\\n    -u '${src.writeKey}:' -d '{"userId":"u1","event":"Tried It"}' https://api.cdp.shop.test/v1/track`);
    say(`  curl -H 'authorization: Bearer ${fp.adminToken}' '${fp.adminUrl}/api/v1/workspaces/${ws.id}/sources/${src.id}/events?limit=5'`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    return 0;
  } finally {
    await stop();
  }
}

function adminClient(base: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = await res.json();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Sends one track event to the custom API host over HTTPS, trusting only the local CA. */
function postEvent(edgePort: number, rootPem: string, writeKey: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ userId: 'demo-user', event: 'Demo Completed', properties: { step: 5 } });
    const req = request({
      host: '127.0.0.1', port: edgePort, servername: 'api.cdp.shop.test', method: 'POST', path: '/v1/track', ca: rootPem,
      headers: { host: 'api.cdp.shop.test', 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function fail(why: string): number {
  process.stderr.write(`demo cannot run: ${why}\n`);
  return 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
