/**
 * DNS benchmark: nsd (the reference) and firstparty's DnsServer serving the same custom zones,
 * each as one process, measured by dnsperf in one run, with 1 and with 100,000 zones loaded.
 * Prints qps, the ratio to nsd, latency percentiles (a sequential UDP sampler, 1 query in flight)
 * and resident memory, ending with `RESULT` lines. Not part of the test suite.
 *
 *   npm run bench:dns            # both sizes
 *   BENCH_DNS_ZONES=1000 BENCH_DNS_SECONDS=5 npm run bench:dns
 *
 * Internally re-runs itself with `serve <zones> <port>` to host our server in a child process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildCustomDomainZone, DnsServer, ZoneTable, type ZoneSpec } from '../src/dns/index.ts';

const SECONDS = Number(process.env['BENCH_DNS_SECONDS'] ?? 10);
const SIZES = (process.env['BENCH_DNS_ZONES'] ?? '1,100000').split(',').map(Number);
const QUERY_LINES = 20_000;

function zoneSpec(i: number): ZoneSpec {
  const apex = `z${i}.bench.test`;
  return buildCustomDomainZone({
    apex, serial: 1, nameservers: ['ns1.firstparty.test', 'ns2.firstparty.test'], hosts: [`cdn.${apex}`, `api.${apex}`],
    edgeIPv4: ['192.0.2.10'], edgeIPv6: ['2001:db8::10'], caaIssuers: ['letsencrypt.org'],
    txt: [{ name: `_acme-challenge.cdn.${apex}`, value: `token-${i}` }], hostmaster: 'hostmaster.firstparty.test',
  });
}

/** The same zone in master-file form for nsd. */
function zoneText(spec: ZoneSpec): string {
  const s = spec.soa;
  const lines = [`${spec.apex}. ${s.ttlSeconds} IN SOA ${s.mname}. ${s.rname}. ${spec.serial} ${s.refreshSeconds} ${s.retrySeconds} ${s.expireSeconds} ${s.minimumSeconds}`];
  for (const r of spec.records) {
    const head = `${r.name}. ${r.ttlSeconds} IN ${r.type}`;
    switch (r.type) {
      case 'A': case 'AAAA': lines.push(`${head} ${r.address}`); break;
      case 'NS': lines.push(`${head} ${r.host}.`); break;
      case 'TXT': lines.push(`${head} ${JSON.stringify(r.value)}`); break;
      case 'CAA': lines.push(`${head} ${r.flags} ${r.tag} ${JSON.stringify(r.value)}`); break;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** dnsperf input: names sampled across all zones, mostly A/AAAA, some TXT, CAA and NXDOMAIN. */
function queryLines(zones: number): string {
  const kinds = ['cdn.%s A', 'api.%s AAAA', 'cdn.%s A', '_acme-challenge.cdn.%s TXT', '%s CAA', 'nope.%s A', '%s SOA'];
  const out: string[] = [];
  for (let i = 0; i < QUERY_LINES; i++) out.push(kinds[i % kinds.length]!.replace('%s', `z${Math.floor(Math.random() * zones)}.bench.test`));
  return `${out.join('\n')}\n`;
}

// ---- child mode: our server, single process -------------------------------------------------

async function serve(zones: number, port: number): Promise<void> {
  const table = new ZoneTable();
  for (let i = 0; i < zones; i++) table.setZone(zoneSpec(i));
  const server = new DnsServer({ table, listen: [{ host: '127.0.0.1', port }] });
  await server.start();
  process.stdout.write('READY\n');
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

// ---- parent mode -----------------------------------------------------------------------------

function which(bin: string): string | null {
  for (const d of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) if (existsSync(`${d}/${bin}`)) return `${d}/${bin}`;
  return null;
}

/** Installs dnsperf/nsd with apt when root and missing; returns why the bench cannot run, if so. */
function ensureTools(): string | undefined {
  const missing = ['dnsperf', 'nsd'].filter((b) => which(b) === null);
  if (missing.length === 0) return undefined;
  if (process.getuid?.() !== 0) return `${missing.join(', ')} missing and not root to apt-get install them`;
  try {
    execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    return `apt-get install ${missing.join(' ')} failed: ${(err as Error).message}`;
  }
  return ['dnsperf', 'nsd'].some((b) => which(b) === null) ? 'dnsperf or nsd still missing after install' : undefined;
}

function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => {
    const port = s.address().port;
    s.close(() => resolve(port));
  }));
}

function query(port: number, name: string, id: number): Promise<number | null> {
  const sock = dgram.createSocket('udp4');
  const msg = dnsPacket.encode({ type: 'query', id, questions: [{ name, type: 'A', class: 'IN' }] });
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const timer = setTimeout(() => { sock.close(); resolve(null); }, 1000);
    sock.on('message', () => {
      clearTimeout(timer);
      sock.close();
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

async function waitReady(port: number, zones: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await query(port, `cdn.z${zones - 1}.bench.test`, 1)) !== null) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server on ${port} not ready after ${timeoutMs} ms`);
}

/** Latency percentiles (ms) of sequential queries (one in flight), sampled across zones. */
async function sampleLatency(port: number, zones: number, n = 3000): Promise<{ p50: number; p99: number; max: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = await query(port, `cdn.z${Math.floor(Math.random() * zones)}.bench.test`, i & 0xffff);
    ms.push(v ?? 1000);
  }
  ms.sort((a, b) => a - b);
  const at = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: ms.at(-1)! };
}

function dnsperf(port: number, file: string): { qps: number; avgMs: number; lost: string } {
  const out = execFileSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(SECONDS), '-T', '1', '-c', '8', '-q', '200'], { encoding: 'utf8' });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const avgMs = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1] ?? NaN) * 1000;
  const lost = /Queries lost:\s+(.*)/.exec(out)?.[1]?.trim() ?? '?';
  return { qps, avgMs, lost };
}

/** Resident memory in MiB of a process and its children (nsd forks a server and xfrd). */
function rssMiB(pid: number): number {
  const pids = [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').map(Number).filter((n) => n > 0)];
  let kb = 0;
  for (const p of pids) {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    kb += Number(m?.[1] ?? 0);
  }
  return kb / 1024;
}

async function startNsd(dir: string, zones: number, port: number): Promise<ChildProcess> {
  const q = JSON.stringify;
  const conf = [
    'server:', `  ip-address: 127.0.0.1@${port}`, '  do-ip6: no', '  server-count: 1', '  username: ""', '  chroot: ""',
    '  database: ""', `  zonesdir: ${q(dir)}`, `  pidfile: ${q(join(dir, 'nsd.pid'))}`, `  xfrdfile: ${q(join(dir, 'xfrd.state'))}`,
    `  zonelistfile: ${q(join(dir, 'zone.list'))}`, `  logfile: ${q(join(dir, 'nsd.log'))}`, '  rrl-ratelimit: 0', '  verbosity: 0',
    'remote-control:', '  control-enable: no',
  ];
  for (let i = 0; i < zones; i++) {
    const spec = zoneSpec(i);
    await writeFile(join(dir, `${spec.apex}.zone`), zoneText(spec));
    conf.push('zone:', `  name: ${spec.apex}`, `  zonefile: ${spec.apex}.zone`);
  }
  await writeFile(join(dir, 'nsd.conf'), `${conf.join('\n')}\n`);
  return spawn(which('nsd')!, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
}

function startOurs(zones: number, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'serve', String(zones), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('READY')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`our server exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

interface Figures { qps: number; avgMs: number; lost: string; p50: number; p99: number; rss: number; loadMs: number }

async function measure(name: string, child: ChildProcess, port: number, zones: number, file: string, loadMs: number): Promise<Figures> {
  const before = rssMiB(child.pid!);
  const perf = dnsperf(port, file);
  const lat = await sampleLatency(port, zones);
  const rss = Math.max(before, rssMiB(child.pid!)); // answer caches fill lazily under load
  const f = { ...perf, p50: lat.p50, p99: lat.p99, rss, loadMs };
  console.log(`${name} zones=${zones}: ${f.qps.toFixed(0)} qps, avg ${f.avgMs.toFixed(3)} ms under load, lost ${f.lost}; sequential p50 ${f.p50.toFixed(3)} ms p99 ${f.p99.toFixed(3)} ms; RSS ${f.rss.toFixed(0)} MiB; load ${loadMs} ms`);
  return f;
}

async function runSize(zones: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'firstparty-bench-dns-'));
  const file = join(dir, 'queries.txt');
  await writeFile(file, queryLines(zones));
  const children: ChildProcess[] = [];
  try {
    const nsdPort = await freeUdpPort();
    let t0 = Date.now();
    const nsd = await startNsd(dir, zones, nsdPort);
    children.push(nsd);
    await waitReady(nsdPort, zones, 600_000);
    const ref = await measure('nsd', nsd, nsdPort, zones, file, Date.now() - t0);
    await stop(nsd);

    const ourPort = await freeUdpPort();
    t0 = Date.now();
    const ours = await startOurs(zones, ourPort);
    children.push(ours);
    await waitReady(ourPort, zones, 600_000);
    const fp = await measure('firstparty', ours, ourPort, zones, file, Date.now() - t0);
    await stop(ours);

    const tag = zones === 1 ? '1zone' : `${zones}zones`;
    console.log(`RESULT dns.${tag}.nsd.qps ${ref.qps.toFixed(0)} qps target -`);
    console.log(`RESULT dns.${tag}.qps ${fp.qps.toFixed(0)} qps target -`);
    console.log(`RESULT dns.${tag}.ratio ${(fp.qps / ref.qps).toFixed(2)} x target 0.3`);
    console.log(`RESULT dns.${tag}.p50 ${fp.p50.toFixed(3)} ms target -`);
    console.log(`RESULT dns.${tag}.p99 ${fp.p99.toFixed(3)} ms target 2`);
    console.log(`RESULT dns.${tag}.nsd.p99 ${ref.p99.toFixed(3)} ms target -`);
    console.log(`RESULT dns.${tag}.rss ${fp.rss.toFixed(0)} MiB target ${zones >= 100_000 ? 1024 : '-'}`);
    console.log(`RESULT dns.${tag}.nsd.rss ${ref.rss.toFixed(0)} MiB target -`);
  } finally {
    for (const c of children) await stop(c);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'serve') return serve(Number(process.argv[3]), Number(process.argv[4]));
  const why = ensureTools();
  if (why !== undefined) {
    console.log(`SKIP dns benchmark: ${why}`);
    return;
  }
  for (const zones of SIZES) await runSize(zones);
}

await main();
