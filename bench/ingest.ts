/**
 * `npm run bench:ingest`: Tracking API throughput over HTTPS keep-alive on loopback, in one run:
 * 1. a bare Node HTTPS server that only parses the JSON body and answers 200 (the reference),
 * 2. firstparty (every role, durable SQLite storage with group commit) on its default API host,
 * each in its own process, driven by a load generator in a third process: a small HTTP/1.1
 * client on raw TLS sockets (one request in flight per connection, keep-alive), so the client
 * costs little CPU on this 2-core machine (bodies are templates with fresh ids spliced in). Single
 * ~1 KB events and 100-event batches, each with a random UUID messageId as the client libraries send. Both servers run throughout and
 * their rounds alternate (`BENCH_ROUNDS`, default 3, of `BENCH_DURATION_MS`, default 3 s, after an
 * uncounted warm-up round of each), so a shift in the shared machine's background load hits both;
 * the median round is reported. Prints
 * `RESULT` lines (ratio, events/s, p50/p99 latency, and server CPU per request from /proc, which
 * background load disturbs less than rates do). `BENCH_INGEST_CPU_PROFILE=<dir>` starts firstparty
 * with V8's CPU profiler (one `.cpuprofile` per thread, written there when it stops) to see where
 * the server's CPU goes; `BENCH_ONLY=single|batch` runs one scenario; `BENCH_INGEST_NODE_ARGS` adds
 * Node.js flags to the firstparty process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createTestCa, issueTestLeaf } from '../test/peers/index.ts';
import { startChildFirstparty } from '../test/ingest/child-firstparty.ts';
import { freePort } from '../test/peers/index.ts';

const HOST = 'api.firstparty.localhost';
const SELF = fileURLToPath(import.meta.url);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const WARMUP_MS = 1_000;
/** Alternating bare/firstparty rounds per scenario; the median round is reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat CPU times. */
const CLOCK_TICKS = 100;
const PROFILE_DIR = process.env['BENCH_INGEST_CPU_PROFILE'];
const ONLY = process.env['BENCH_ONLY'];
/** Extra Node.js flags for the firstparty process (`BENCH_INGEST_NODE_ARGS`, space-separated), e.g. GC settings. */
const NODE_ARGS = (process.env['BENCH_INGEST_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
/**
 * Concurrent batch senders (`BENCH_BATCH_CONNECTIONS`, default 64). A durable server answers a
 * batch only after its commit's fsync, so its throughput needs requests in flight to share
 * commits; both servers get the same load.
 */
const BATCH_CONNECTIONS = Number(process.env['BENCH_BATCH_CONNECTIONS'] ?? 64);


interface LoadSpec { port: number; ca: string; path: string; batch: number; connections: number; durationMs: number; writeKey: string; tag: string }
interface LoadResult { requests: number; events: number; seconds: number; p50Ms: number; p99Ms: number; non200: number; clientCpuUsPerRequest: number }

/** ~1 KB: a track as analytics-node sends it, with context. */
function event(id: string): Record<string, unknown> {
  return {
    type: 'track', event: 'Order Completed', userId: 'user-1234567890', anonymousId: '6f0b3c1e-3a5d-4c0e-9a57-1f2e3d4c5b6a', messageId: id,
    timestamp: '2026-01-01T12:00:00.000Z',
    properties: { orderId: 'ord_5f1c2a', revenue: 129.99, currency: 'EUR', products: [{ sku: 'SKU-1', name: 'Blue shirt', price: 49.99, quantity: 1 }, { sku: 'SKU-2', name: 'Red shoes', price: 80, quantity: 1 }] },
    context: {
      library: { name: '@segment/analytics-node', version: '3.1.0' }, ip: '203.0.113.7', locale: 'en-GB',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      page: { path: '/checkout/complete', referrer: 'https://www.shop.test/cart', title: 'Thank you', url: 'https://www.shop.test/checkout/complete?x=1' },
      campaign: { name: 'summer', source: 'newsletter', medium: 'email' },
    },
  };
}

/** The load generator (child process): `connections` keep-alive TLS sockets, one request in flight each. */
async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const auth = `Basic ${Buffer.from(`${spec.writeKey}:`).toString('base64')}`;
  // The event serialised once around a marker id; each request splices fresh ids in, so the
  // client spends its CPU on the wire rather than on building and serialising objects.
  const MARK = '\u0000id\u0000';
  const [before, after] = JSON.stringify(event(MARK)).split(JSON.stringify(MARK)) as [string, string];
  // Random ids, as the client libraries make them (UUID v4): the store sees the keys it sees in use.
  const one = () => `${before}"${randomUUID()}"${after}`;
  const body = () => {
    if (spec.batch === 1) return Buffer.from(one());
    const items: string[] = new Array(spec.batch);
    for (let i = 0; i < spec.batch; i++) items[i] = one();
    return Buffer.from(`{"batch":[${items.join(',')}]}`);
  };
  const latencies: number[] = [];
  let non200 = 0;
  let measuring = false;
  let stopped = false;
  const conn = () => new Promise<void>((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: spec.port, servername: HOST, ca: spec.ca, ALPNProtocols: ['http/1.1'] });
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = () => {
      if (stopped) return void sock.end(() => resolve());
      const b = body();
      sentAt = performance.now();
      // One write: two would leave the body waiting on Nagle's algorithm for the header's ACK.
      sock.write(Buffer.concat([Buffer.from(`POST ${spec.path} HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`), b]));
    };
    sock.on('secureConnect', send);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      buf = buf.subarray(end + 4 + length);
      if (measuring) {
        latencies.push(performance.now() - sentAt);
        if (!head.startsWith('HTTP/1.1 200')) non200++;
      }
      send();
    });
    sock.on('error', reject);
  });
  const all = Promise.all(Array.from({ length: spec.connections }, conn));
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stopped = true;
  await all;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  const clientCpuUsPerRequest = (cpu.user + cpu.system) / Math.max(1, latencies.length);
  return { requests: latencies.length, events: latencies.length * spec.batch, seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), non200, clientCpuUsPerRequest };
}

/** The reference server (child process): parses the JSON body and answers 200. */
async function runBare(certPem: string, keyPem: string): Promise<void> {
  const ok = Buffer.from('{"success":true}');
  const server = createServer({ cert: certPem, key: keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(parts).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ok.length });
      res.end(ok);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
}

/**
 * CPU pinning: with taskset and at least two CPUs, every server (bare and firstparty, all threads)
 * runs on CPU 0 and every load generator on CPU 1, so the figures measure one server core each
 * instead of the contention between client and server. `BENCH_PIN=0` turns it off.
 */
const PIN = process.env['BENCH_PIN'] !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
const SERVER_CPU = '0';
const LOAD_CPU = '1';

/** Runs `execPath args` pinned to `cpu` when pinning is on. */
function spawnPinned(cpu: string, args: string[]) {
  return PIN ? spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Runs this file in a child process with a mode and JSON argument; resolves to its last stdout line's JSON. */
function child(mode: string, arg: unknown, onReady?: (line: string) => void): { done: Promise<string>; pid: number | undefined } {
  const p = spawnPinned(mode === 'load' ? LOAD_CPU : SERVER_CPU, ['--import', 'tsx', SELF, mode, JSON.stringify(arg)]);
  let out = '';
  const done = new Promise<string>((resolve, reject) => {
    p.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const ready = /^READY (.*)$/m.exec(out);
      if (ready && onReady) { onReady(ready[1]!); onReady = undefined; }
    });
    p.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' || signal === 'SIGTERM' ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`${mode} exited ${code ?? signal}`))));
  });
  return { done, pid: p.pid };
}

/** CPU time (user + system, all threads) a process has used, in ms; NaN where /proc is missing. */
async function cpuMs(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** CPU time of each thread of a process in ms, by thread id (with its name); empty where /proc is missing. */
async function threadCpuMs(pid: number): Promise<Map<number, { name: string; ms: number }>> {
  const out = new Map<number, { name: string; ms: number }>();
  try {
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS });
    }
  } catch {
    // A thread that ended between the listing and its read: the others still count.
  }
  return out;
}

/** `# threads:` line: CPU per request of the server's busiest threads over a round (main = the process's first thread). */
function threadLine(pid: number, before: Map<number, { name: string; ms: number }>, after: Map<number, { name: string; ms: number }>, requests: number): string {
  const used = [...after].map(([tid, t]) => ({ tid, name: tid === pid ? 'main' : `${t.name}:${tid}`, ms: t.ms - (before.get(tid)?.ms ?? 0) }))
    .filter((t) => t.ms > 0).sort((a, b) => b.ms - a.ms).slice(0, 6);
  return `#   server threads (us/request): ${used.map((t) => `${t.name} ${((t.ms * 1000) / requests).toFixed(1)}`).join(', ')}\n`;
}

/** One measured round, with the server's CPU time per request over the whole round (warm-up included). */
async function load(spec: Omit<LoadSpec, 'durationMs'>, serverPid: number): Promise<LoadResult & { cpuUsPerRequest: number }> {
  const cpu0 = await cpuMs(serverPid);
  const threads0 = await threadCpuMs(serverPid);
  const result = JSON.parse(await child('load', { ...spec, durationMs: DURATION_MS }).done) as LoadResult;
  const cpu = (await cpuMs(serverPid)) - cpu0;
  const threads = await threadCpuMs(serverPid);
  const rps = result.requests / result.seconds;
  const cpuUsPerRequest = (cpu * 1000) / (rps * (DURATION_MS + WARMUP_MS) / 1000);
  process.stdout.write(threadLine(serverPid, threads0, threads, rps * (DURATION_MS + WARMUP_MS) / 1000));
  process.stdout.write(`# ${spec.tag}: ${rps.toFixed(0)} req/s, ${(result.events / result.seconds).toFixed(0)} events/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, server CPU ~${cpuUsPerRequest.toFixed(0)} us/request, load generator CPU ~${result.clientCpuUsPerRequest.toFixed(0)} us/request, non-200 ${result.non200}\n`);
  if (result.non200 > 0) throw new Error(`${spec.tag}: ${result.non200} responses were not 200`);
  return { ...result, cpuUsPerRequest };
}

type Round = Awaited<ReturnType<typeof load>>;

/** The round with the median request rate. */
function median(rounds: Round[]): Round {
  return [...rounds].sort((a, b) => a.requests / a.seconds - b.requests / b.seconds)[Math.floor(rounds.length / 2)]!;
}

/** A round's label: `<scenario>#<n>`, or `<scenario>#warm-up` for the uncounted round 0. */
function tagOf(scenario: string, r: number): string {
  return `${scenario}#${r === 0 ? 'warm-up' : r}`;
}

async function main(): Promise<void> {
  const ca = await createTestCa('bench CA');
  const leaf = await issueTestLeaf(ca, [HOST]);
  const bare = await new Promise<{ port: number; pid: number; done: Promise<string> }>((resolve) => {
    const c = child('bare', { certPem: leaf.certPem, keyPem: leaf.keyPem }, (line) => resolve({ port: Number(line), pid: c.pid!, done: c.done }));
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'fp-bench-'));
  try {
    process.stdout.write(PIN ? `# servers pinned to CPU ${SERVER_CPU}, load generators to CPU ${LOAD_CPU}\n` : '# no CPU pinning (taskset missing, one CPU, or BENCH_PIN=0)\n');
    const fp = await startChildFirstparty({
      FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
      FIRSTPARTY_DNS_LISTEN: `127.0.0.1:${await freePort()}`, FIRSTPARTY_RESOLVER: '127.0.0.1:53', FIRSTPARTY_INGEST_RATE_LIMIT: '0', FIRSTPARTY_LOG_LEVEL: 'error',
    }, 20_000, [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...NODE_ARGS]);
    // Every thread of the running server (threads started later inherit the mask).
    if (PIN) spawnSync('taskset', ['-a', '-cp', SERVER_CPU, String(fp.pid)]);
    try {
      const adminPost = async (path: string, b: unknown) => (await (await fetch(fp.info.adminUrl + path, {
        method: 'POST', headers: { authorization: `Bearer ${fp.info.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(b),
      })).json()) as { id: string; writeKey: string };
      const ws = await adminPost('/api/v1/workspaces', { name: 'Bench', plan: 'business' });
      const src = await adminPost(`/api/v1/workspaces/${ws.id}/sources`, { name: 'Bench', type: 'node' });
      const fpBase = { port: fp.info.edgePort, ca: fp.info.caPem, writeKey: src.writeKey };
      const bareBase = { port: bare.port, ca: ca.certPem, writeKey: 'k' };
      // Bare and firstparty rounds alternate, so a change in the machine's background load hits both.
      const rounds = { bareSingle: [] as Round[], single: [] as Round[], bareBatch: [] as Round[], batch: [] as Round[] };
      // Round 0 of each scenario warms both servers up (JIT tiers, caches) and is not counted.
      const keep = (list: Round[], r: number, round: Round) => { if (r > 0) list.push(round); };
      for (let r = 0; r <= ROUNDS && ONLY !== 'batch'; r++) {
        keep(rounds.bareSingle, r, await load({ ...bareBase, path: '/v1/track', batch: 1, connections: 64, tag: tagOf('bare-single', r) }, bare.pid));
        keep(rounds.single, r, await load({ ...fpBase, path: '/v1/track', batch: 1, connections: 64, tag: tagOf('fp-single', r) }, fp.pid));
      }
      for (let r = 0; r <= ROUNDS && ONLY !== 'single'; r++) {
        keep(rounds.bareBatch, r, await load({ ...bareBase, path: '/v1/batch', batch: 100, connections: BATCH_CONNECTIONS, tag: tagOf('bare-batch', r) }, bare.pid));
        keep(rounds.batch, r, await load({ ...fpBase, path: '/v1/batch', batch: 100, connections: BATCH_CONNECTIONS, tag: tagOf('fp-batch', r) }, fp.pid));
      }
      const rate = (r: LoadResult) => r.requests / r.seconds;
      process.stdout.write(`# medians of ${ROUNDS} alternating rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs\n`);
      if (rounds.single.length > 0) {
        const bareSingle = median(rounds.bareSingle);
        const single = median(rounds.single);
        process.stdout.write(`RESULT ingest.single.bare ${rate(bareSingle).toFixed(0)} req/s target -\n`);
        process.stdout.write(`RESULT ingest.single.firstparty ${rate(single).toFixed(0)} req/s target -\n`);
        process.stdout.write(`RESULT ingest.single.ratio ${(rate(single) / rate(bareSingle)).toFixed(2)} x target 0.6\n`);
        process.stdout.write(`RESULT ingest.single.p50 ${single.p50Ms.toFixed(2)} ms target -\n`);
        process.stdout.write(`RESULT ingest.single.p99 ${single.p99Ms.toFixed(2)} ms target -\n`);
        process.stdout.write(`RESULT ingest.single.cpu_ratio ${(bareSingle.cpuUsPerRequest / single.cpuUsPerRequest).toFixed(2)} x target -\n`);
      }
      if (rounds.batch.length > 0) {
        const bareBatch = median(rounds.bareBatch);
        const batch = median(rounds.batch);
        process.stdout.write(`# bare batched: ${(bareBatch.events / bareBatch.seconds).toFixed(0)} events/s\n`);
        process.stdout.write(`RESULT ingest.batch.events ${(batch.events / batch.seconds).toFixed(0)} events/s target 100000\n`);
        process.stdout.write(`RESULT ingest.batch.p50 ${batch.p50Ms.toFixed(2)} ms target -\n`);
        process.stdout.write(`RESULT ingest.batch.p99 ${batch.p99Ms.toFixed(2)} ms target -\n`);
        process.stdout.write(`RESULT ingest.batch.cpu_per_event ${(batch.cpuUsPerRequest / 100).toFixed(1)} us target -\n`);
      }
    } finally {
      // A profiled server must stop cleanly to write its profiles.
      await fp.kill(PROFILE_DIR ? 'SIGTERM' : 'SIGKILL');
    }
  } finally {
    process.kill(bare.pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'load') process.stdout.write(`${JSON.stringify(await runLoad(JSON.parse(arg!) as LoadSpec))}\n`);
else if (mode === 'bare') { const a = JSON.parse(arg!) as { certPem: string; keyPem: string }; await runBare(a.certPem, a.keyPem); }
else await main();
