/**
 * `npm run bench:edge`: the HTTPS edge against nginx configured equivalently, in one run (same
 * ECDSA P-256 certificate, TLS 1.2/1.3 with the same cipher list, session tickets and session
 * cache off on both, one nginx worker for one Node event loop, access logs off on both, HSTS and
 * nosniff headers on both, precompressed gzip of the same patched analytics.js bytes).
 *
 * Figures (each `RESULT` line; ratios are firstparty / nginx measured in this run):
 * 1. analytics.js over HTTPS keep-alive, `Accept-Encoding: gzip`, h2load `--h1 -c 50` for 4 s;
 * 2. full TLS handshakes: h2load `--h1 -c 50 -n 4000` with `Connection: close` on a tiny path;
 * 1 and 2 run twice, alternating nginx, firstparty and a minimal Node server, keeping the best of each;
 *    each also reports server CPU time per request (`cpu_ratio` = nginx's / firstparty's), steadier
 *    than req/s on a shared machine. The minimal Node server (`node:https`, same certificate, TLS
 *    options and bytes, no routing, metrics or protection) is Node's own floor: `node_floor` lines
 *    say how much of the gap to nginx is Node's TLS/HTTP stack rather than the edge;
 * 3. 100,000 hostnames configured (50,000 certificates, distinct PEM strings) with 1,000 hot:
 *    RSS of a separate edge process and p99 handshake latency of 4,000 handshakes on hot names.
 * `BENCH_EDGE_CPU_PROFILE=<dir>` writes a V8 CPU profile of each firstparty run there
 * (`edge-<figure>-<round>.cpuprofile`, open in Chrome DevTools) to see where the edge's CPU goes.
 * Needs nginx and h2load (`apt-get install -y nginx nghttp2-client`): installs them when root,
 * otherwise prints `SKIP <reason>`.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createHttpsServer, get as httpsGet, type Server as HttpsServer } from 'node:https';
import { Session } from 'node:inspector/promises';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createCdnHandler, loadAnalyticsBundle } from '../src/cdn/index.ts';
import type { HostScope, Source } from '../src/core/index.ts';
import { CertCache, EdgeServer, HostRouter, TLS_OPTIONS, edgeTlsOptions, type EdgeCertificate } from '../src/edge/index.ts';
import { createTestPki, type TestPki } from '../src/edge/test-support.ts';

const HOST = 'cdn.bench.test';
const SCOPE: HostScope = { kind: 'default', cdnHost: HOST, apiHost: 'api.bench.test' };
const SOURCE: Source = { id: 'src_bench', workspaceId: 'ws', name: 'bench', type: 'analytics.js', writeKey: 'BENCHKEY', enabled: true, createdAt: 0 };
const BUNDLE_PATH = `/analytics.js/v1/${SOURCE.writeKey}/analytics.min.js`;
const HOSTS_TOTAL = 100_000;
const HOT = 1_000;
const PROFILE_DIR = process.env['BENCH_EDGE_CPU_PROFILE'];

async function main(): Promise<void> {
  if (process.argv.includes('--hosts-child')) return hostsChild();
  const missing = ensureTools();
  if (missing) {
    console.log(`SKIP bench:edge ${missing}`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'fp-bench-edge-'));
  const pki = await createTestPki();
  let nginx: ChildProcess | null = null;
  let edge: EdgeServer | null = null;
  let floor: HttpsServer | null = null;
  try {
    const cert = await pki.issue('bench', [SCOPE.cdnHost, SCOPE.apiHost]);
    edge = await startEdge(cert);
    const edgePort = edge.address().port;
    const body = await fetchIdentity(edgePort, pki.ca.rootPem);
    const nginxPort = await freePort();
    nginx = await startNginx(dir, cert, body, nginxPort);
    floor = await startNodeFloor(cert, body);
    const floorPort = (floor.address() as AddressInfo).port;

    const url = (port: number, path: string) => [`--connect-to=127.0.0.1:${port}`, `https://${HOST}:${port}${path}`];
    const keepAlive = async (port: number) => h2load(['--h1', '-t1', '-c50', '-D4', '--warm-up-time=1', '-H', 'accept-encoding: gzip', ...url(port, BUNDLE_PATH)]);
    const handshakes = async (port: number) => h2load(['--h1', '-t1', '-c50', '-n4000', '-H', 'connection: close', ...url(port, '/healthz')]);
    // Alternating rounds, best of each: on a shared machine the load drifts between runs. Server CPU
    // time per request is measured too: it drifts less with the machine's load than throughput.
    const nginxWorker = nginxWorkerPid(nginx);
    const edgeCpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
    const measured = async (run: (port: number) => Promise<H2loadRun>, port: number, cpuUs: () => number, profileAs?: string) => {
      const profiler = profileAs ? await startProfiler() : null;
      const before = cpuUs();
      const r = await run(port);
      const cpuUsPerRequest = (cpuUs() - before) / Math.max(1, r.done);
      if (profiler && profileAs) await profiler.stop(profileAs);
      return { ...r, cpuUsPerRequest };
    };
    const best = async (figure: string, run: (port: number) => Promise<H2loadRun>) => {
      const edgeRuns = [];
      const nginxRuns = [];
      const floorRuns = [];
      for (let round = 0; round < 2; round++) {
        nginxRuns.push(await measured(run, nginxPort, () => processCpuUs(nginxWorker)));
        edgeRuns.push(await measured(run, edgePort, edgeCpuUs, PROFILE_DIR ? join(PROFILE_DIR, `edge-${figure}-${round}.cpuprofile`) : undefined));
        floorRuns.push(await measured(run, floorPort, edgeCpuUs));
      }
      const top = (runs: Array<H2loadRun & { cpuUsPerRequest: number }>) => ({
        rps: Math.max(...runs.map((r) => r.rps)), failed: runs.reduce((n, r) => n + r.failed, 0), cpuUs: Math.min(...runs.map((r) => r.cpuUsPerRequest)), bodyBytes: runs[0]!.bodyBytes,
      });
      return { edge: top(edgeRuns), nginx: top(nginxRuns), floor: top(floorRuns) };
    };
    const { edge: kaEdge, nginx: kaNginx, floor: kaFloor } = await best('keepalive', keepAlive);
    const { edge: hsEdge, nginx: hsNginx, floor: hsFloor } = await best('handshakes', handshakes);
    console.log(`keep-alive analytics.js gzip: firstparty ${kaEdge.rps.toFixed(0)} req/s (${kaEdge.failed} failed, ${kaEdge.cpuUs.toFixed(0)} µs CPU/req, ${kaEdge.bodyBytes.toFixed(0)} body bytes/response), nginx ${kaNginx.rps.toFixed(0)} req/s (${kaNginx.failed} failed, ${kaNginx.cpuUs.toFixed(0)} µs CPU/req, ${kaNginx.bodyBytes.toFixed(0)} body bytes/response)`);
    console.log(`full handshakes: firstparty ${hsEdge.rps.toFixed(0)} /s (${hsEdge.failed} failed, ${hsEdge.cpuUs.toFixed(0)} µs CPU each), nginx ${hsNginx.rps.toFixed(0)} /s (${hsNginx.failed} failed, ${hsNginx.cpuUs.toFixed(0)} µs CPU each)`);
    console.log(`minimal Node https (floor): keep-alive ${kaFloor.rps.toFixed(0)} req/s (${kaFloor.cpuUs.toFixed(0)} µs CPU/req), handshakes ${hsFloor.rps.toFixed(0)} /s (${hsFloor.cpuUs.toFixed(0)} µs CPU each)`);
    console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await edge.close(1_000);
    edge = null;
    const hosts = await hostsFigure();
    console.log(`RESULT edge.keepalive.ratio ${(kaEdge.rps / kaNginx.rps).toFixed(2)} x target 0.9`);
    console.log(`RESULT edge.handshakes.ratio ${(hsEdge.rps / hsNginx.rps).toFixed(2)} x target 0.9`);
    // nginx CPU per request / firstparty CPU per request: 1 means as cheap as nginx.
    console.log(`RESULT edge.keepalive.cpu_ratio ${(kaNginx.cpuUs / kaEdge.cpuUs).toFixed(2)} x target 0.9`);
    console.log(`RESULT edge.handshakes.cpu_ratio ${(hsNginx.cpuUs / hsEdge.cpuUs).toFixed(2)} x target 0.9`);
    // Node's own floor: nginx CPU per request / minimal Node server's (the best the edge could reach on Node).
    console.log(`RESULT edge.keepalive.node_floor.cpu_ratio ${(kaNginx.cpuUs / kaFloor.cpuUs).toFixed(2)} x target none`);
    console.log(`RESULT edge.handshakes.node_floor.cpu_ratio ${(hsNginx.cpuUs / hsFloor.cpuUs).toFixed(2)} x target none`);
    console.log(`RESULT edge.hosts100k.rss ${hosts.rssMb.toFixed(0)} MB target 1024`);
    console.log(`RESULT edge.hosts100k.handshake.p99 ${hosts.p99Ms.toFixed(1)} ms target none`);
  } finally {
    await edge?.close(1_000);
    floor?.close();
    if (nginx && nginx.exitCode === null) nginx.kill('SIGTERM');
    await pki.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A TCP port free on loopback right now (the kernel's pick), for nginx. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Returns a reason when nginx or h2load are missing and cannot be installed. */
function ensureTools(): string | null {
  const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
  if (have('nginx') && have('h2load')) return null;
  if (process.getuid?.() !== 0) return 'needs nginx and h2load (apt-get install -y nginx nghttp2-client)';
  spawnSync('apt-get', ['install', '-y', 'nginx', 'nghttp2-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return have('nginx') && have('h2load') ? null : 'apt-get could not install nginx and nghttp2-client';
}

async function startEdge(cert: EdgeCertificate): Promise<EdgeServer> {
  const certs = new CertCache({ sessionTickets: false });
  certs.install(cert);
  const router = new HostRouter();
  router.add(SCOPE);
  const cdn = createCdnHandler({ sources: { byWriteKey: (k) => (k === SOURCE.writeKey ? SOURCE : undefined) }, bundle: await loadAnalyticsBundle() });
  const edge = new EdgeServer({ certs, router, cdn: cdn as never, api: cdn as never, listen: { host: '127.0.0.1', port: 0 } });
  await edge.start();
  return edge;
}

/**
 * Node's floor: a bare `node:https` server with the edge's TLS options and certificate (tickets
 * off) answering the bundle path with the same gzip bytes and headers, and anything else `ok`.
 */
async function startNodeFloor(cert: EdgeCertificate, body: Buffer): Promise<HttpsServer> {
  const gz = gzipSync(body, { level: 9 });
  const headers = {
    'content-type': 'application/javascript; charset=utf-8', 'cache-control': 'public, max-age=60, stale-while-revalidate=3600',
    'access-control-allow-origin': '*', vary: 'Accept-Encoding', 'content-encoding': 'gzip', 'content-length': gz.length,
    'strict-transport-security': 'max-age=31536000', 'x-content-type-options': 'nosniff',
  };
  const small = { 'content-type': 'text/plain', 'content-length': 3, 'strict-transport-security': 'max-age=31536000', 'x-content-type-options': 'nosniff' };
  const server = createHttpsServer({ ...edgeTlsOptions(false), cert: cert.certPem + (cert.chainPem ? `\n${cert.chainPem}` : ''), key: cert.keyPem }, (req, res) => {
    if (req.url === BUNDLE_PATH) res.writeHead(200, headers).end(gz);
    else res.writeHead(200, small).end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Starts a V8 CPU profile of this process; `stop(path)` writes it as a `.cpuprofile` file. */
async function startProfiler(): Promise<{ stop(path: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop');
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** The patched bundle bytes as the edge serves them (identity), so nginx serves the very same. */
function fetchIdentity(port: number, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: BUNDLE_PATH, servername: HOST, headers: { host: HOST }, ca }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`bundle: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

async function startNginx(dir: string, cert: EdgeCertificate, body: Buffer, port: number): Promise<ChildProcess> {
  const www = join(dir, 'www');
  const bundleDir = join(www, 'analytics.js', 'v1', SOURCE.writeKey);
  await mkdir(bundleDir, { recursive: true });
  await mkdir(join(dir, 'tmp'));
  await writeFile(join(bundleDir, 'analytics.min.js'), body);
  await writeFile(join(bundleDir, 'analytics.min.js.gz'), gzipSync(body, { level: 9 }));
  await writeFile(join(dir, 'cert.pem'), cert.certPem + cert.chainPem);
  await writeFile(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  const tls12 = TLS_OPTIONS.ciphers.split(':').filter((c) => !c.startsWith('TLS_')).join(':');
  const t = (name: string) => join(dir, 'tmp', name);
  await writeFile(join(dir, 'nginx.conf'), `
user root;
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fcgi')};
  uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};
  sendfile on; tcp_nopush on; keepalive_requests 1000000; keepalive_timeout 60s;
  server {
    listen 127.0.0.1:${port} ssl http2;
    server_name ${HOST};
    ssl_certificate ${join(dir, 'cert.pem')}; ssl_certificate_key ${join(dir, 'key.pem')};
    ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ${tls12}; ssl_prefer_server_ciphers on; ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_tickets off; ssl_session_cache off;
    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header X-Content-Type-Options nosniff always;
    root ${www};
    location /analytics.js/ {
      gzip_static on; etag on; default_type "application/javascript; charset=utf-8";
      add_header Cache-Control "public, max-age=60, stale-while-revalidate=3600";
      add_header Access-Control-Allow-Origin "*";
      add_header Strict-Transport-Security "max-age=31536000" always;
      add_header X-Content-Type-Options nosniff always;
    }
    location = /healthz { default_type text/plain; return 200 "ok\\n"; }
  }
}
`);
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 50; i++) {
    if (await probe(port)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode === null) child.kill('SIGTERM');
  throw new Error('nginx did not start');
}

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: HOST, rejectUnauthorized: false });
    s.once('secureConnect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** One h2load run: requests per second, requests done and failed. */
/** An h2load run: requests/s, requests done and failed, and response body bytes per request (h2load's data traffic / done). */
interface H2loadRun { rps: number; done: number; failed: number; bodyBytes: number }

/** The pid of nginx's single worker (the master only supervises). */
function nginxWorkerPid(master: ChildProcess): number {
  const out = spawnSync('pgrep', ['-P', String(master.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  const pid = Number(out);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('nginx worker not found');
  return pid;
}

/** User + system CPU time of a process in µs, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Runs h2load; returns requests per second, done and failed requests. */
function h2load(args: string[]): Promise<H2loadRun> {
  return new Promise((resolve, reject) => {
    execFile('h2load', args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout);
      const counts = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(stdout);
      const data = /traffic: .*\((\d+)\) data/.exec(stdout);
      if (!rps) return reject(new Error(`h2load: ${err?.message ?? ''}\n${stdout}`));
      const done = Number(counts?.[1] ?? 0);
      resolve({ rps: Number(rps[1]), done, failed: Number(counts?.[2] ?? 0), bodyBytes: data && done > 0 ? Number(data[1]) / done : 0 });
    });
  });
}

/** Starts the 100k-hostname edge in its own process, hammers 1,000 hot names, reads its RSS. */
async function hostsFigure(): Promise<{ rssMb: number; p99Ms: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--hosts-child'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`hosts child exited ${code}`)));
    });
    const latencies: number[] = [];
    const hot = Array.from({ length: HOT }, (_, i) => `cdn.s${i * (HOSTS_TOTAL / 2 / HOT)}.bench.test`);
    let next = 0;
    const worker = async () => {
      while (next < 4 * HOT) {
        const name = hot[next++ % HOT]!;
        latencies.push(await handshakeMs(port, name));
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    latencies.sort((a, b) => a - b);
    const rss = await new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { rss: number }).rss));
      child.send('rss');
    });
    return { rssMb: rss / 1024 / 1024, p99Ms: latencies[Math.floor(latencies.length * 0.99)]! };
  } finally {
    if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  }
}

function handshakeMs(port: number, servername: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    s.once('secureConnect', () => { s.destroy(); resolve(performance.now() - started); });
    s.once('error', reject);
  });
}

/** Child: an edge with 100,000 hostnames (50,000 certificates with distinct PEM strings, 200 key pairs). */
async function hostsChild(): Promise<void> {
  const pki: TestPki = await createTestPki();
  const pool: EdgeCertificate[] = [];
  for (let i = 0; i < 200; i++) pool.push(await pki.issue(`p${i}`, [`pool${i}.bench.test`]));
  await pki.close();
  const certs = new CertCache({ sessionTickets: false });
  const router = new HostRouter();
  // Fresh string copies: the store hands the edge one decrypted PEM per certificate.
  const copy = (s: string) => Buffer.from(s).toString();
  for (let i = 0; i < HOSTS_TOTAL / 2; i++) {
    const p = pool[i % pool.length]!;
    const scope: HostScope = { kind: 'custom', domainId: `d${i}`, cdnHost: `cdn.s${i}.bench.test`, apiHost: `api.s${i}.bench.test`, sourceIds: new Set([`src${i}`]) };
    certs.install({ id: `c${i}`, names: [scope.cdnHost, scope.apiHost], certPem: copy(p.certPem), chainPem: copy(p.chainPem), keyPem: copy(p.keyPem), notAfter: p.notAfter });
    router.add(scope);
  }
  const handler = ((_req: unknown, res: { end(s: string): void }) => res.end('ok')) as never;
  const edge = new EdgeServer({ certs, router, cdn: handler, api: handler, listen: { host: '127.0.0.1', port: 0 } });
  await edge.start();
  process.on('message', () => process.send?.({ rss: process.memoryUsage().rss }));
  process.on('SIGTERM', () => void edge.close(500).then(() => process.exit(0)));
  process.send?.({ port: edge.address().port });
}

await main();
