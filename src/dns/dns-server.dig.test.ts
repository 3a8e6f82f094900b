import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { buildCustomDomainZone } from './custom-zone.ts';
import type { DnsServer } from './dns-server.ts';
import { APEX, dig, missingBinary, sampleInput, startServer } from './test-support.ts';
import type { DnsListen } from './types.ts';
import { ZoneTable } from './zone-table.ts';

const BIG = 'v'.repeat(700);
const SOA_LINE = `${APEX}. 60 IN SOA ns1.firstparty.test. hostmaster.firstparty.test. 7 3600 600 1209600 60`;

describe('DnsServer answering dig', () => {
  const table = new ZoneTable();
  table.setZone(buildCustomDomainZone(sampleInput({ txt: [{ name: `_acme-challenge.cdn.${APEX}`, value: 'token-cdn' }, { name: `big.${APEX}`, value: BIG }] })));
  let server: DnsServer | undefined;
  let addr: DnsListen;
  const skip = missingBinary('dig');

  before(async () => {
    ({ server, addr } = await startServer(table));
  });
  after(async () => {
    await server?.close();
  });

  /** Runs dig over UDP and over TCP, or skips the test when dig is missing. */
  async function both(t: TestContext, ...args: string[]) {
    if (skip) return void t.skip(skip);
    return [await dig(addr, ...args), await dig(addr, '+tcp', ...args)];
  }

  test('answers SOA and NS at the apex authoritatively over UDP and TCP', async (t) => {
    for (const r of (await both(t, APEX, 'SOA')) ?? []) {
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.includes('aa') && !r.flags.includes('ra'), r.raw);
      assert.deepEqual(r.answer, [SOA_LINE.replace(' 60 IN', ' 300 IN')]);
    }
    for (const r of (await both(t, APEX, 'NS')) ?? []) {
      assert.deepEqual([...r.answer].sort(), [`${APEX}. 300 IN NS ns1.firstparty.test.`, `${APEX}. 300 IN NS ns2.firstparty.test.`]);
      assert.ok(r.flags.includes('aa'));
    }
  });

  test('answers A, AAAA, CAA and TXT with the aa flag', async (t) => {
    const expected: [string, string, string][] = [
      [`cdn.${APEX}`, 'A', `cdn.${APEX}. 300 IN A 192.0.2.10`],
      [`api.${APEX}`, 'AAAA', `api.${APEX}. 300 IN AAAA 2001:db8::10`],
      [APEX, 'CAA', `${APEX}. 300 IN CAA 0 issue "letsencrypt.org"`],
      [`_acme-challenge.cdn.${APEX}`, 'TXT', `_acme-challenge.cdn.${APEX}. 30 IN TXT "token-cdn"`],
    ];
    for (const [name, type, line] of expected) {
      for (const r of (await both(t, name, type)) ?? []) {
        assert.equal(r.status, 'NOERROR', r.raw);
        assert.ok(r.flags.includes('aa'));
        assert.deepEqual(r.answer, [line]);
      }
    }
  });

  test('answers NXDOMAIN and NODATA with the SOA in the authority section', async (t) => {
    for (const r of (await both(t, `missing.${APEX}`, 'A')) ?? []) {
      assert.equal(r.status, 'NXDOMAIN');
      assert.ok(r.flags.includes('aa'));
      assert.deepEqual(r.answer, []);
      assert.deepEqual(r.authority, [SOA_LINE]);
    }
    for (const r of (await both(t, `cdn.${APEX}`, 'TXT')) ?? []) {
      assert.equal(r.status, 'NOERROR');
      assert.deepEqual(r.answer, []);
      assert.deepEqual(r.authority, [SOA_LINE]);
    }
  });

  test('refuses names outside our zones', async (t) => {
    for (const r of (await both(t, 'www.example.com', 'A')) ?? []) {
      assert.equal(r.status, 'REFUSED');
      assert.equal(r.flags.includes('aa'), false);
    }
  });

  test('echoes the question with its original case', async (t) => {
    for (const r of (await both(t, 'cDn.CdP.shop.test', 'A')) ?? []) {
      assert.deepEqual(r.question, ['cDn.CdP.shop.test. IN A']);
      assert.equal(r.answer.length, 1);
    }
  });

  test('adds an OPT record only when the query has one', async (t) => {
    if (skip) return t.skip(skip);
    assert.match((await dig(addr, `cdn.${APEX}`)).edns ?? '', /version: 0, flags:; udp: 1232/);
    assert.match((await dig(addr, `cdn.${APEX}`, '+dnssec')).edns ?? '', /flags: do; udp: 1232/);
    assert.equal((await dig(addr, `cdn.${APEX}`, '+noedns')).edns, undefined);
  });

  test('truncates a big TXT answer over UDP without EDNS and sends it whole over TCP', async (t) => {
    if (skip) return t.skip(skip);
    const udp = await dig(addr, `big.${APEX}`, 'TXT', '+noedns', '+ignore');
    assert.ok(udp.flags.includes('tc'), udp.raw);
    assert.deepEqual(udp.answer, []);
    assert.deepEqual(udp.question, [`big.${APEX}. IN TXT`]);
    const retried = await dig(addr, `big.${APEX}`, 'TXT', '+noedns');
    assert.ok(retried.retriedOverTcp, retried.raw);
    const tcp = await dig(addr, `big.${APEX}`, 'TXT', '+tcp', '+noedns');
    assert.equal(tcp.flags.includes('tc'), false);
    const strings = [...(tcp.answer[0] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(strings.map((s) => s?.length), [255, 255, 190]);
    assert.equal(strings.join(''), BIG);
    const edns = await dig(addr, `big.${APEX}`, 'TXT', '+ignore');
    assert.equal(edns.flags.includes('tc'), false, 'fits in 1232 bytes with EDNS');
  });

  test('serves a zone change on the next query', async (t) => {
    if (skip) return t.skip(skip);
    const name = `_acme-challenge.api.${APEX}`;
    assert.equal((await dig(addr, name, 'TXT')).status, 'NXDOMAIN');
    table.setZone(buildCustomDomainZone(sampleInput({ serial: 8, txt: [{ name, value: 'fresh' }] })));
    assert.deepEqual((await dig(addr, name, 'TXT')).answer, [`${name}. 30 IN TXT "fresh"`]);
    assert.match((await dig(addr, APEX, 'SOA', '+tcp')).answer[0] ?? '', / 8 3600 /);
    table.deleteZone(APEX);
    assert.equal((await dig(addr, name, 'TXT')).status, 'REFUSED');
    table.setZone(buildCustomDomainZone(sampleInput({ txt: [{ name: `_acme-challenge.cdn.${APEX}`, value: 'token-cdn' }, { name: `big.${APEX}`, value: BIG }] })));
  });

  test('answers NOTIMP to the STATUS opcode and BADVERS to EDNS version 1', async (t) => {
    if (skip) return t.skip(skip);
    const status = await dig(addr, APEX, '+opcode=status');
    assert.deepEqual([status.opcode, status.status], ['STATUS', 'NOTIMP']);
    const badvers = await dig(addr, APEX, '+edns=1', '+noednsnegotiation');
    assert.equal(badvers.status, 'BADVERS');
    assert.match(badvers.edns ?? '', /version: 0/);
  });

  test('counts what it answered', (t) => {
    if (skip) return t.skip(skip);
    const m = server!.metrics();
    assert.ok(m.queriesTotal > 20);
    assert.ok((m.byQtype['TXT'] ?? 0) > 0 && (m.byRcode['NXDOMAIN'] ?? 0) > 0 && (m.byRcode['REFUSED'] ?? 0) > 0);
    assert.ok(m.byTransport.tcp > 0 && m.byTransport.udp > 0 && m.truncated > 0);
    assert.equal(m.latency.counts.reduce((a, b) => a + b, 0), m.queriesTotal + m.dropped);
  });
});
