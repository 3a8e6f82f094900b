/**
 * Certificate issuance benchmark against Pebble: the time from a custom domain being marked
 * "delegated" to both of its hosts answering HTTPS on the edge with a Pebble-issued certificate,
 * for 1 domain and for 200 domains requested at once; and, for the batch, how many ACME orders
 * failed and how many name sets got more than one certificate (both must be 0).
 *
 * Figures (`RESULT` lines):
 *   certs.single.delegated_to_https   ms  target 2000
 *   certs.batch200.all_https          ms  (time until the last of the 200 answers; no target)
 *   certs.batch200.failed_orders      count target 0
 *   certs.batch200.duplicate_certs    count target 0
 * Needs `pebble` (scripts/install-peers.sh); skips with a reason otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/index.ts';
import { startFirstparty, type Running } from '../src/app/index.ts';
import { freePort, missingBinaries, startPebble } from '../test/peers/index.ts';
import { handshake } from '../test/certs/support.ts';

const BATCH = Number(process.env['BENCH_CERTS_BATCH'] ?? 200);

async function main(): Promise<void> {
  const missing = missingBinaries(['pebble']);
  if (missing) {
    process.stdout.write(`SKIP certs: ${missing}\n`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'fp-bench-certs-'));
  const dnsPort = await freePort();
  const pebble = await startPebble({ dnsServer: `127.0.0.1:${dnsPort}` });
  let fp: Running | undefined;
  try {
    fp = await startFirstparty(loadConfig({
      FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      FIRSTPARTY_NAMESERVERS: 'ns1.firstparty.test,ns2.firstparty.test', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
      FIRSTPARTY_ACME_DIRECTORY: pebble.directoryUrl, FIRSTPARTY_ACME_CA_BUNDLE: pebble.tlsCaPath,
      // Nothing listens there: the delegation check fails at once (the bench marks domains delegated itself).
      FIRSTPARTY_RESOLVER: `127.0.0.1:${await freePort()}`, FIRSTPARTY_DELEGATION_POLL_MS: '600000',
    }), { logger: pino({ level: process.env['BENCH_LOG'] ?? 'silent' }) });
    const root = await pebble.fetchRootPem();
    // Warm-up: registers the ACME account, as a running deployment already has one.
    await timeToHttps(fp, root, ['cdp.warmup.test']);
    const [single] = await timeToHttps(fp, root, ['cdp.single.test']);
    result('certs.single.delegated_to_https', single!, 'ms', '2000');
    const names = Array.from({ length: BATCH }, (_, i) => `cdp.shop${i}.test`);
    const times = await timeToHttps(fp, root, names);
    result(`certs.batch${BATCH}.all_https`, Math.max(...times), 'ms', '-');
    const stats = await orderStats(fp);
    result(`certs.batch${BATCH}.failed_orders`, stats.failed, 'count', '0');
    result(`certs.batch${BATCH}.duplicate_certs`, stats.duplicates, 'count', '0');
  } finally {
    await fp?.close();
    await pebble.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Requests every domain, marks each delegated at once, and resolves to the ms from that moment to
 * both hosts completing a TLS handshake that chains to Pebble's root, per domain.
 */
async function timeToHttps(fp: Running, rootPem: string, domains: readonly string[]): Promise<number[]> {
  // Events, not polling: hundreds of pollers would measure the benchmark's own load.
  const checked = waiter((resolve) => void fp.events.on('domain.delegation_checked', ({ domain }) => resolve(domain.id)));
  const active = waiter((resolve) => void fp.events.on('domain.changed', ({ domain }) => {
    if (domain.state.kind === 'active') resolve(domain.id);
  }));
  const ids: string[] = [];
  for (const name of domains) {
    const ws = await fp.control.createWorkspace({ name, plan: 'business' });
    const src = await fp.control.createSource(ws.id, { name: 'site', type: 'analytics.js' });
    ids.push((await fp.control.requestDomain(ws.id, { domain: name, sourceIds: [src.id] })).id);
  }
  // The worker's first delegation check (which fails: there is no parent zone) must be over, so
  // that the clock starts when the domain is delegated, as after a real check.
  await Promise.all(ids.map((id) => checked(id)));
  const delegatedAt = new Map<string, number>();
  await Promise.all(ids.map(async (id) => {
    const d = (await fp.store.domains.get(id))!;
    delegatedAt.set(id, performance.now());
    await fp.control.apply(d, { type: 'delegation_confirmed' }, { nextCheckAt: Date.now(), checkAttempts: 0 });
  }));
  return Promise.all(ids.map(async (id, i) => {
    const apex = domains[i]!;
    await active(id);
    for (const host of [`cdn.${apex}`, `api.${apex}`]) await untilServed(fp, host, rootPem);
    return performance.now() - delegatedAt.get(id)!;
  }));
}

/** Per-domain promises fed by an event subscription: `wait(id)` resolves once the event fired for `id`. */
function waiter(subscribe: (resolve: (id: string) => void) => void): (id: string) => Promise<void> {
  const seen = new Set<string>();
  const pending = new Map<string, () => void>();
  subscribe((id) => {
    seen.add(id);
    pending.get(id)?.();
  });
  return (id) => new Promise<void>((resolve, reject) => {
    if (seen.has(id)) return resolve();
    const timer = setTimeout(() => reject(new Error(`domain ${id}: no event within 300 s`)), 300_000);
    pending.set(id, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function untilServed(fp: Running, host: string, rootPem: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  let last: string | null = null;
  for (;;) {
    const h = await handshake(fp.edge.port, host, rootPem).catch((err: unknown) => ({ authorized: false, error: String(err) }));
    if (h.authorized) return;
    last = h.error;
    if (performance.now() > deadline) {
      const d = await fp.store.domains.byName(host.split('.').slice(1).join('.') as never);
      throw new Error(`${host} not served over HTTPS within 120 s; domain ${JSON.stringify(d?.state)}, last handshake: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Failed orders, and name sets with more than one valid order, from the order journal. */
async function orderStats(fp: Running): Promise<{ failed: number; duplicates: number }> {
  const open = await fp.store.acmeOrders.listOpen();
  if (open.length > 0) throw new Error(`${open.length} orders still open`);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(fp.config.dataDir, 'firstparty.db'), { readonly: true });
  try {
    const failed = (db.prepare(`SELECT COUNT(*) AS n FROM acme_orders WHERE status != 'valid'`).get() as { n: number }).n;
    const duplicates = (db.prepare(`SELECT COUNT(*) AS n FROM (SELECT names_key FROM acme_orders WHERE status = 'valid' GROUP BY names_key HAVING COUNT(*) > 1)`).get() as { n: number }).n;
    return { failed, duplicates };
  } finally {
    db.close();
  }
}

function result(name: string, value: number, unit: string, target: string): void {
  process.stdout.write(`RESULT ${name} ${Math.round(value * 10) / 10} ${unit} target ${target}\n`);
}

await main();
