import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { FakeClock, type EncodedEvents, type Source } from '../core/index.ts';
import { createIngestHandler, type IngestHandler } from '../ingest/index.ts';
import type { IngestOptions } from '../ingest/options.ts';
import { openSqliteStore, type EventLog, type Store } from '../store/index.ts';
import type { EdgeLimits } from './protection.ts';
import { DEFAULT, SHOP_A, startTestEdge, type TestEdge } from './test-support.ts';

const SOURCES: readonly Source[] = [
  { id: 'src_a', workspaceId: 'ws_a', name: 'Shop A', type: 'node', writeKey: 'KEY_A', enabled: true, createdAt: 0 },
];
const API = SHOP_A.apiHost;
const BASIC = `Basic ${Buffer.from('KEY_A:').toString('base64')}`;

/** One HTTP/1.1 response read off the wire. */
interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

function parseResponses(bytes: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = bytes.toString('latin1', at, end).split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    out.push({ status: Number(lines[0]!.split(' ')[1]), headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

function open(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: API, ca, ALPNProtocols: ['http/1.1'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `writes` on one connection (`gapMs` apart) and reads until `expected` responses arrived or it closed. */
async function exchange(edge: TestEdge, writes: ReadonlyArray<string | Buffer>, expected: number, gapMs = 0, endAfter = false): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const s = await open(edge.port, edge.pki.ca.rootPem);
  const parts: Buffer[] = [];
  const done = new Promise<{ responses: RawResponse[]; closed: boolean }>((resolve) => {
    const finish = (closed: boolean) => { clearTimeout(timer); s.destroy(); resolve({ responses: parseResponses(Buffer.concat(parts)), closed }); };
    const timer = setTimeout(() => finish(false), 5_000);
    s.on('data', (d: Buffer) => {
      parts.push(d);
      const got = parseResponses(Buffer.concat(parts));
      const last = got.at(-1);
      if (got.length >= expected && last && last.body.length === Number(last.headers.get('content-length') ?? 0)) {
        setTimeout(() => finish(s.readableEnded || s.destroyed), 50);
      }
    });
    s.on('end', () => finish(true));
    s.on('error', () => finish(true));
  });
  for (const w of writes) {
    s.write(w);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  if (endAfter) s.end();
  return done;
}

/** A POST to the API host; `body` sets Content-Length unless `headers` does. */
function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const fields = { 'Host': API, 'Content-Type': 'text/plain', 'Content-Length': String(bytes.length), ...headers };
  const head = `POST ${path} HTTP/1.1\r\n${Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

let ids = 0;
const track = (extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'track', event: 'Clicked', userId: 'u1', messageId: `m-${++ids}`, ...extra });

/** A request for an unknown host: as a connection's first request it moves the connection to Node's HTTP/1.1 server. */
const TO_NODE = `GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n`;

/** The response without the fields that differ between any two answers (Date) or by the field order. */
function comparable(r: RawResponse): { status: number; headers: Record<string, string>; body: string } {
  const headers = Object.fromEntries([...r.headers].filter(([k]) => k !== 'date').sort(([a], [b]) => a.localeCompare(b)));
  return { status: r.status, headers, body: r.body.toString() };
}

interface Rig {
  edge: TestEdge;
  store: Store;
  /** Calls of the request-object path of the API handler. */
  fullCalls: () => number;
}

async function startRig(options: Partial<IngestOptions> = {}, limits: Partial<EdgeLimits> = {}, wrapLog?: (log: EventLog) => EventLog): Promise<Rig> {
  const store = openSqliteStore(':memory:');
  const byKey = new Map(SOURCES.map((s) => [s.writeKey, s]));
  const log = wrapLog ? wrapLog(store.events) : store.events;
  const ingest: IngestHandler = createIngestHandler({ sources: { byWriteKey: (k) => byKey.get(k) }, log, clock: new FakeClock() }, options);
  let calls = 0;
  const api = Object.assign(((req, res, scope) => { calls++; ingest(req, res, scope); }) as IngestHandler, { post: ingest.post });
  const edge = await startTestEdge({ api, limits });
  return { edge, store, fullCalls: () => calls };
}

describe('API POSTs on the HTTP/1.1 fast path', () => {
  let rig: Rig;
  before(async () => { rig = await startRig(); });
  after(async () => { await rig.edge.close(); await rig.store.close(); });

  test('answer exactly as the request-object path does, for accepted, refused and malformed requests', async () => {
    const cases: Record<string, (n: number) => Buffer> = {
      'a single call with Basic auth': () => post('/v1/track', track(), { Authorization: BASIC }),
      'a short-form call with the key in the body': () => post('/v1/t', track({ writeKey: 'KEY_A' })),
      'a batch with a trailing slash': () => post('/v1/batch/', JSON.stringify({ batch: [JSON.parse(track()), JSON.parse(track())], writeKey: 'KEY_A' })),
      'an event failing validation inside a batch': () => post('//v1/import', JSON.stringify({ batch: [{ type: 'track', userId: 'u' }], writeKey: 'KEY_A' })),
      'a browser call with an Origin': () => post('/v1/p', JSON.stringify({ type: 'page', anonymousId: 'a', messageId: `m-${++ids}`, writeKey: 'KEY_A' }), { Origin: 'https://shop.a.test' }),
      'identity coding': () => post('/v1/track', track(), { 'Authorization': BASIC, 'Content-Encoding': 'Identity' }),
      'invalid JSON': () => post('/v1/track', '{"type":', { Authorization: BASIC }),
      'non-UTF-8 bytes': () => post('/v1/track', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), { Authorization: BASIC }),
      'an empty body': () => post('/v1/track', '', { Authorization: BASIC }),
      'an unknown write key': () => post('/v1/track', track(), { Authorization: `Basic ${Buffer.from('NOPE:').toString('base64')}` }),
      'no write key at all': () => post('/v1/track', track()),
      'an event over 32 KB': () => post('/v1/track', track({ properties: { big: 'x'.repeat(33_000) } }), { Authorization: BASIC }),
      'a body that is an array': () => post('/v1/batch', '[1,2]', { Authorization: BASIC }),
    };
    for (const [what, request] of Object.entries(cases)) {
      const before = rig.fullCalls();
      const fast = (await exchange(rig.edge, [request(0)], 1)).responses[0];
      assert.equal(rig.fullCalls(), before, `${what}: answered on the fast path`);
      const full = (await exchange(rig.edge, [Buffer.concat([Buffer.from(TO_NODE), request(1)])], 2)).responses[1];
      assert.equal(rig.fullCalls(), before + 1, `${what}: answered by the request-object path`);
      assert.ok(fast && full, what);
      assert.deepEqual(comparable(fast), comparable(full), what);
    }
  });

  test('store each acknowledged event once, in the order of pipelined requests, before the next request is answered', async () => {
    const before = await rig.store.events.count('src_a');
    const get = `GET /healthz HTTP/1.1\r\nHost: ${API}\r\n\r\n`;
    const one = track();
    const { responses, closed } = await exchange(rig.edge, [Buffer.concat([post('/v1/track', one, { Authorization: BASIC }), post('/v1/track', one, { Authorization: BASIC }),
      Buffer.from(get), post('/v1/t', track({ writeKey: 'KEY_A' }))])], 4);
    assert.equal(closed, false);
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(responses[2]!.body.toString(), 'ok\n');
    assert.equal(await rig.store.events.count('src_a'), before + 2, 'the retried messageId is stored once');
  });

  test('read a body sent in pieces, and hand compressed or oversized bodies to the request-object path', async () => {
    const before = rig.fullCalls();
    const whole = post('/v1/track', track(), { Authorization: BASIC });
    const split = await exchange(rig.edge, [whole.subarray(0, whole.length - 30), whole.subarray(whole.length - 30, whole.length - 5), whole.subarray(whole.length - 5)], 1, 40);
    assert.equal(split.responses[0]?.status, 200);
    assert.equal(rig.fullCalls(), before);
    const gz = await exchange(rig.edge, [post('/v1/track', gzipSync(track()), { 'Authorization': BASIC, 'Content-Encoding': 'gzip' })], 1);
    assert.equal(gz.responses[0]?.status, 200);
    assert.equal(rig.fullCalls(), before + 1);
    const big = await exchange(rig.edge, [post('/v1/batch', 'x'.repeat(600_000), { Authorization: BASIC })], 1);
    assert.equal(big.responses[0]?.status, 400);
    assert.equal(JSON.parse(big.responses[0]!.body.toString()).code, 'request_too_large');
    assert.equal(rig.fullCalls(), before + 2);
  });

  test('answer every request of a client that ends its side right after sending them, then close', async () => {
    const before = await rig.store.events.count('src_a');
    const get = `GET /healthz HTTP/1.1\r\nHost: ${API}\r\n\r\n`;
    const { responses, closed } = await exchange(rig.edge, [Buffer.concat([post('/v1/track', track(), { Authorization: BASIC }),
      Buffer.from(get), post('/v1/t', track({ writeKey: 'KEY_A' }))])], 3, 0, true);
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
    assert.equal(responses[2]!.headers.get('connection'), 'close');
    assert.equal(closed, true);
    assert.equal(await rig.store.events.count('src_a'), before + 2);
    const whole = post('/v1/track', track(), { Authorization: BASIC });
    const cut = await exchange(rig.edge, [whole.subarray(0, whole.length - 5)], 1, 20, true);
    assert.equal(cut.responses[0]?.status, 400);
    assert.equal(JSON.parse(cut.responses[0]!.body.toString()).error.code, 'ERR_EDGE_INCOMPLETE_REQUEST');
    assert.equal(cut.closed, true);
    assert.equal(await rig.store.events.count('src_a'), before + 2);
  });

  test('after a client\'s end, still answer what only the full server answers, and a body cut off behind an answered POST at once', async () => {
    const before = await rig.store.events.count('src_a');
    const queued = await exchange(rig.edge, [Buffer.concat([post('/v1/track', track(), { Authorization: BASIC }), Buffer.from(TO_NODE)])], 2, 0, true);
    assert.deepEqual(queued.responses.map((r) => r.status), [200, 404]);
    assert.equal(queued.closed, true);
    const body = track();
    const chunked = Buffer.from(`POST /v1/track HTTP/1.1\r\nHost: ${API}\r\nAuthorization: ${BASIC}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const slowFull = await exchange(rig.edge, [Buffer.concat([post('/v1/track', track(), { Authorization: BASIC }), chunked])], 2, 0, true);
    assert.deepEqual(slowFull.responses.map((r) => r.status), [200, 200], 'a request the full server answers later is answered too');
    assert.equal(slowFull.closed, true);
    const second = post('/v1/track', track(), { Authorization: BASIC });
    const started = Date.now();
    const cut = await exchange(rig.edge, [Buffer.concat([post('/v1/track', track(), { Authorization: BASIC }), second.subarray(0, second.length - 5)])], 2, 0, true);
    assert.deepEqual(cut.responses.map((r) => r.status), [200, 400]);
    assert.ok(Date.now() - started < 1_000, 'the 400 came at once, not at the request timeout');
    assert.equal(await rig.store.events.count('src_a'), before + 4);
  });

  test('leave a Content-Length with a tab to the request-object path, which refuses it', async () => {
    const before = rig.fullCalls();
    const body = track();
    const bad = Buffer.from(`POST /v1/track HTTP/1.1\r\nHost: ${API}\r\nAuthorization: ${BASIC}\r\nContent-Length: ${body.length}\t\r\n\r\n${body}`);
    const { responses, closed } = await exchange(rig.edge, [bad], 1);
    assert.equal(responses[0]?.status, 400);
    assert.equal(closed, true);
    assert.equal(rig.fullCalls(), before);
  });

  test('route by Host as every request: 421 for another workspace\'s host on this connection, 404 for a CDN path', async () => {
    const other = await exchange(rig.edge, [post('/v1/track', track(), { Authorization: BASIC, Host: DEFAULT.apiHost })], 1);
    assert.equal(other.responses[0]?.status, 421);
    const notFound = await exchange(rig.edge, [post('/v1/nope', track(), { Authorization: BASIC })], 1);
    assert.equal(notFound.responses[0]?.status, 404);
  });
});

describe('API POSTs on the HTTP/1.1 fast path, at the limits', () => {
  let rig: Rig;
  before(async () => { rig = await startRig({ rateLimitEventsPerSecond: 1, rateLimitBurstEvents: 3 }, { requestTimeoutMs: 400 }); });
  after(async () => { await rig.edge.close(); await rig.store.close(); });

  test('a source over its rate gets 429 with Retry-After and X-RateLimit-Reset, as on the request-object path', async () => {
    const batch = () => post('/v1/batch', JSON.stringify({ batch: Array.from({ length: 5 }, () => JSON.parse(track())), writeKey: 'KEY_A' }));
    // A batch larger than the burst passes from a full bucket and leaves it in debt (the clock stands still).
    assert.equal((await exchange(rig.edge, [batch()], 1)).responses[0]?.status, 200);
    const fast = (await exchange(rig.edge, [batch()], 1)).responses[0]!;
    const full = (await exchange(rig.edge, [Buffer.concat([Buffer.from(TO_NODE), batch()])], 2)).responses[1]!;
    assert.equal(fast.status, 429);
    assert.ok(Number(fast.headers.get('retry-after')) >= 1);
    assert.equal(fast.headers.get('x-ratelimit-reset'), fast.headers.get('retry-after'));
    assert.deepEqual(comparable(fast), comparable(full));
  });

  test('a body that does not arrive in time gets 408 and the connection is closed', async () => {
    const whole = post('/v1/track', track(), { Authorization: BASIC });
    const { responses, closed } = await exchange(rig.edge, [whole.subarray(0, whole.length - 10)], 1);
    assert.equal(responses[0]?.status, 408);
    assert.equal(closed, true);
  });
});

describe('API POSTs on the HTTP/1.1 fast path, while the edge drains', () => {
  let rig: Rig;
  let release: (() => void) | undefined;
  let holding = false;
  before(async () => {
    rig = await startRig({}, {}, (log) => ({
      ...log,
      appendEncoded: async (events: EncodedEvents) => {
        if (holding) await new Promise<void>((r) => { release = r; });
        return log.appendEncoded(events);
      },
    }));
  });
  after(async () => { await rig.store.close(); });

  test('an answer in progress is written, then its connection closes', async () => {
    holding = true;
    const pending = exchange(rig.edge, [post('/v1/track', track(), { Authorization: BASIC })], 1);
    for (let i = 0; i < 500 && release === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(release, 'the request reached the store');
    holding = false;
    const closing = rig.edge.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    const { responses, closed } = await pending;
    await closing;
    assert.equal(responses[0]?.status, 200);
    assert.equal(responses[0]?.headers.get('connection'), 'close');
    assert.equal(closed, true);
  });
});
