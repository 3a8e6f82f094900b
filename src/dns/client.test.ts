import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { AppError, isAppError } from '../core/index.ts';
import { queryDns } from './client.ts';
import type { DnsServer } from './dns-server.ts';
import { DnsErrors } from './errors.ts';
import { APEX, sampleTable, startServer } from './test-support.ts';
import type { DnsListen } from './types.ts';

/** A UDP peer that answers each query with `reply(query)` (or stays silent for null). */
async function fakeUdpServer(reply: (q: Buffer) => Buffer[] | null): Promise<{ addr: DnsListen; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (q, r) => { for (const b of reply(q) ?? []) sock.send(b, r.port, r.address); });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return { addr: { host: '127.0.0.1', port: sock.address().port }, close: () => sock.close() };
}

/** A port on 127.0.0.1 with nothing listening (bound, read, released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const rejectsWith = (spec: { code: string }, retryable: boolean) => (e: unknown): boolean =>
  e instanceof AppError && e.code === spec.code && e.retryable === retryable;

describe('queryDns', () => {
  let server: DnsServer;
  let addr: DnsListen;
  before(async () => {
    ({ server, addr } = await startServer(sampleTable({ txt: [{ name: `big.${APEX}`, value: 'z'.repeat(900) }] })));
  });
  after(async () => {
    await server.close();
  });

  test('gets authoritative answers over UDP and TCP', async () => {
    for (const tcp of [false, true]) {
      const res = await queryDns(addr, `cdn.${APEX}`, 'A', { tcp });
      assert.equal(res.rcode, 'NOERROR');
      assert.equal(res.flag_aa, true);
      assert.deepEqual(res.answers?.map((a) => ('data' in a ? a.data : '')), ['192.0.2.10']);
    }
  });

  test('reports NXDOMAIN, REFUSED and the extended BADVERS rcode by name', async () => {
    assert.equal((await queryDns(addr, `nope.${APEX}.`, 'TXT')).rcode, 'NXDOMAIN');
    assert.equal((await queryDns(addr, 'example.com', 'A', { tcp: true })).rcode, 'REFUSED');
    assert.equal((await queryDns(addr, APEX, 'SOA', { edns: { version: 1 } })).rcode, 'BADVERS');
  });

  test('repeats a truncated UDP answer over TCP unless told not to', async () => {
    const full = await queryDns(addr, `big.${APEX}`, 'TXT');
    assert.equal(full.flag_tc, false);
    assert.equal(full.answers?.length, 1);
    const cut = await queryDns(addr, `big.${APEX}`, 'TXT', { tcpFallback: false });
    assert.equal(cut.flag_tc, true);
    assert.equal(cut.answers?.length, 0);
  });

  test('asks types missing from the codec table by number', async () => {
    const res = await queryDns(addr, `cdn.${APEX}`, 'HTTPS');
    assert.equal(res.rcode, 'NOERROR');
    assert.equal(res.answers?.length, 0);
    assert.equal(server.metrics().byQtype['HTTPS'], 1);
  });

  test('sets RD only when asked', async () => {
    assert.equal((await queryDns(addr, APEX, 'NS')).flag_rd, false);
    assert.equal((await queryDns(addr, APEX, 'NS', { recursionDesired: true })).flag_rd, true);
  });

  test('refuses to build a query for an unknown type or an over-long label', async () => {
    await assert.rejects(queryDns(addr, APEX, 'NOPE'), rejectsWith(DnsErrors.BAD_QUERY, false));
    await assert.rejects(queryDns(addr, `${'a'.repeat(64)}.test`, 'A'), rejectsWith(DnsErrors.BAD_QUERY, false));
  });
});

describe('queryDns against misbehaving peers', () => {
  test('times out with a retryable error when nobody answers', async () => {
    const peer = await fakeUdpServer(() => null);
    try {
      const t0 = Date.now();
      await assert.rejects(queryDns(peer.addr, APEX, 'SOA', { timeoutMs: 200 }), rejectsWith(DnsErrors.QUERY_TIMEOUT, true));
      assert.ok(Date.now() - t0 < 1000);
    } finally {
      peer.close();
    }
  });

  test('fails with a retryable network error when the port is closed', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    await assert.rejects(queryDns(dead, APEX, 'SOA', { tcp: true }), rejectsWith(DnsErrors.QUERY_NETWORK, true));
    await assert.rejects(queryDns(dead, APEX, 'SOA', { timeoutMs: 1500 }), (e) => isAppError(e) && e.retryable);
  });

  test('ignores replies with another ID and takes the matching one', async () => {
    const peer = await fakeUdpServer((q) => {
      const p = dnsPacket.decode(q);
      const answer = (id: number, ip: string) => dnsPacket.encode({ type: 'response', id, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: p.questions, answers: [{ name: APEX, type: 'A', ttl: 5, data: ip }] });
      return [answer(((p.id ?? 0) + 1) & 0xffff, '192.0.2.66'), answer(p.id ?? 0, '192.0.2.1')];
    });
    try {
      const res = await queryDns(peer.addr, APEX, 'A');
      assert.deepEqual(res.answers?.map((a) => ('data' in a ? a.data : '')), ['192.0.2.1']);
    } finally {
      peer.close();
    }
  });

  test('accepts an error reply without a question section', async () => {
    const peer = await fakeUdpServer((q) => [Buffer.concat([q.subarray(0, 2), Buffer.from([0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])])]);
    try {
      assert.equal((await queryDns(peer.addr, APEX, 'A')).rcode, 'FORMERR');
    } finally {
      peer.close();
    }
  });

  test('rejects an undecodable reply carrying our ID', async () => {
    const peer = await fakeUdpServer((q) => [Buffer.concat([q.subarray(0, 2), Buffer.from([0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0, 7, 0x61])])]);
    try {
      await assert.rejects(queryDns(peer.addr, APEX, 'A'), rejectsWith(DnsErrors.BAD_RESPONSE, true));
    } finally {
      peer.close();
    }
  });
});
