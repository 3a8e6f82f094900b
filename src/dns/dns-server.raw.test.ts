import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import dnsPacket, { type Packet, type Question } from 'dns-packet';
import { DnsServer } from './dns-server.ts';
import { APEX, sampleTable, startServer, udpExchange } from './test-support.ts';
import { FrameReader, frame } from './tcp-framing.ts';
import type { DnsListen } from './types.ts';

function query(id: number, name: string, type: string, edns = false): Buffer {
  const p: Packet = { type: 'query', id, questions: [{ name, type: type as Question['type'], class: 'IN' }] };
  if (edns) p.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  return dnsPacket.encode(p);
}

const rcodeOf = (b: Buffer): number => b.readUInt16BE(2) & 0xf;

/** Asserts the server still answers a normal query correctly. */
async function assertHealthy(addr: DnsListen): Promise<void> {
  const reply = await udpExchange(addr, query(4321, `cdn.${APEX}`, 'A'), 2000);
  assert.ok(reply, 'the server stopped answering');
  const p = dnsPacket.decode(reply);
  assert.equal(p.id, 4321);
  assert.deepEqual(p.answers?.map((a) => ('data' in a ? a.data : undefined)), ['192.0.2.10']);
}

/** Deterministic PRNG (xorshift32) so a failing fuzz run can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

/** Opens a TCP connection; resolves with helpers to send bytes and read framed replies. */
async function tcpClient(addr: DnsListen) {
  const sock = net.connect({ host: addr.host, port: addr.port });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const replies: Buffer[] = [];
  const reader = new FrameReader();
  let closed = false;
  sock.on('data', (c: Buffer) => reader.push(c, (f) => replies.push(Buffer.from(f))));
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  const waitFor = async (pred: () => boolean, ms = 2000): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (pred()) return true;
    return pred();
  };
  return { sock, replies, waitFor, isClosed: () => closed };
}

describe('DnsServer under raw and malformed traffic', () => {
  let server: DnsServer;
  let addr: DnsListen;
  before(async () => {
    ({ server, addr } = await startServer(sampleTable(), { tcpIdleTimeoutMs: 300, maxTcpConnections: 4 }));
  });
  after(async () => {
    await server.close();
  });

  test('answers FORMERR to two questions, a cut question and a compression loop, keeping the ID', async () => {
    const good = query(77, `cdn.${APEX}`, 'A');
    const twoQuestions = Buffer.from(good);
    twoQuestions.writeUInt16BE(2, 4);
    const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    for (const msg of [twoQuestions, good.subarray(0, good.length - 3), loop]) {
      const reply = await udpExchange(addr, msg);
      assert.ok(reply);
      assert.equal(reply.readUInt16BE(0), 77);
      assert.equal(rcodeOf(reply), 1);
      assert.ok(reply.readUInt16BE(2) & 0x8000, 'QR set');
    }
    await assertHealthy(addr);
  });

  test('drops packets shorter than a header and responses', async () => {
    assert.equal(await udpExchange(addr, Buffer.from([1, 2, 3, 4, 5]), 200), null);
    const response = query(5, `cdn.${APEX}`, 'A');
    response[2]! |= 0x80;
    assert.equal(await udpExchange(addr, response, 200), null);
    await assertHealthy(addr);
  });

  test('answers NOTIMP to a raw NOTIFY', async () => {
    const notify = query(9, APEX, 'SOA');
    notify.writeUInt16BE(4 << 11, 2);
    const reply = await udpExchange(addr, notify);
    assert.equal(reply && rcodeOf(reply), 4);
    assert.equal(reply && (reply.readUInt16BE(2) >> 11) & 0xf, 4, 'opcode echoed');
  });

  test('answers three pipelined queries on one TCP connection in order', async () => {
    const c = await tcpClient(addr);
    try {
      c.sock.write(Buffer.concat([frame(query(1, `cdn.${APEX}`, 'A')), frame(query(2, `api.${APEX}`, 'AAAA', true)), frame(query(3, `nope.${APEX}`, 'TXT'))]));
      assert.ok(await c.waitFor(() => c.replies.length === 3));
      assert.deepEqual(c.replies.map((r) => r.readUInt16BE(0)), [1, 2, 3]);
      assert.deepEqual(c.replies.map(rcodeOf), [0, 0, 3]);
      assert.deepEqual(dnsPacket.decode(c.replies[1]!).answers?.map((a) => ('data' in a ? a.data : '')), ['2001:db8::10']);
    } finally {
      c.sock.destroy();
    }
  });

  test('reassembles a TCP query sent in pieces', async () => {
    const c = await tcpClient(addr);
    try {
      const bytes = frame(query(11, `cdn.${APEX}`, 'A'));
      for (const piece of [bytes.subarray(0, 1), bytes.subarray(1, 9), bytes.subarray(9)]) {
        c.sock.write(piece);
        await sleep(20);
      }
      assert.ok(await c.waitFor(() => c.replies.length === 1));
      assert.equal(c.replies[0]!.readUInt16BE(0), 11);
    } finally {
      c.sock.destroy();
    }
  });

  test('closes idle TCP connections after the idle timeout', async () => {
    const c = await tcpClient(addr);
    try {
      c.sock.write(frame(query(12, `cdn.${APEX}`, 'A')).subarray(0, 5)); // a partial frame, then silence
      assert.ok(await c.waitFor(c.isClosed, 3000), 'not closed');
      assert.ok(server.metrics().tcp.timedOut >= 1);
    } finally {
      c.sock.destroy();
    }
  });

  test('closes TCP connections beyond the maximum and keeps serving the others', async () => {
    const clients: Awaited<ReturnType<typeof tcpClient>>[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await tcpClient(addr));
      await sleep(50);
      const extra = await tcpClient(addr);
      clients.push(extra);
      assert.ok(await extra.waitFor(extra.isClosed), 'the fifth connection stayed open');
      clients[0]!.sock.write(frame(query(13, `cdn.${APEX}`, 'A')));
      assert.ok(await clients[0]!.waitFor(() => clients[0]!.replies.length === 1));
    } finally {
      for (const c of clients) c.sock.destroy();
    }
  });

  test('survives 100,000 random and mutated UDP packets and still answers correctly', async () => {
    const rand = prng(0x5eed);
    const seeds = [query(1, `cdn.${APEX}`, 'A'), query(2, APEX, 'SOA', true), query(3, `nope.${APEX}`, 'TXT'), query(4, 'example.com', 'ANY', true)];
    const sock = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    let received = 0;
    sock.on('message', (m) => {
      if (received++ < 20_000) replies.push(m);
    });
    await new Promise<void>((resolve) => sock.connect(addr.port, addr.host, resolve));
    const base = server.metrics();
    const processed = (): number => {
      const m = server.metrics();
      return m.queriesTotal + m.dropped - base.queriesTotal - base.dropped;
    };
    const started = Date.now();
    try {
      for (let sent = 0; sent < 100_000; ) {
        // Bursts smaller than the default socket buffer, then let the server catch up while replies
        // keep coming, so the kernel drops little and nearly every packet meets the parser.
        for (let i = 0; i < 200; i++, sent++) sock.send(mutate(seeds[sent % seeds.length]!, rand));
        for (let last = -1, since = Date.now(); Date.now() - since < 3; await tick()) {
          if (received !== last) [last, since] = [received, Date.now()];
        }
      }
      await sleep(50);
    } finally {
      sock.close();
    }
    assert.ok(processed() > 90_000, `only ${processed()} packets reached the server`);
    assert.ok(Date.now() - started < 20_000, 'fuzz run too slow');
    for (const r of replies) {
      assert.ok(r.readUInt16BE(2) & 0x8000, 'every reply is a response');
      assert.doesNotThrow(() => dnsPacket.decode(r), 'every reply decodes');
    }
    assert.equal(server.metrics().byRcode['SERVFAIL'], undefined, 'no internal failure');
    await assertHealthy(addr);
  });
});

/** A random packet, or a valid query with flipped bytes, a cut, garbage appended or counts changed. */
function mutate(seed: Buffer, rand: () => number): Buffer {
  const kind = Math.floor(rand() * 5);
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  if (kind === 0) return randomBytes(Math.floor(rand() * 80));
  const b = Buffer.from(seed);
  if (kind === 1) for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
  if (kind === 2) return b.subarray(0, Math.floor(rand() * b.length));
  if (kind === 3) return Buffer.concat([b, randomBytes(1 + Math.floor(rand() * 40))]);
  if (kind === 4) b.writeUInt16BE(Math.floor(rand() * 4), 4 + 2 * Math.floor(rand() * 4));
  return b;
}
