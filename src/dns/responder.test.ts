import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { isAppError } from '../core/index.ts';
import { buildCustomDomainZone } from './custom-zone.ts';
import { DnsErrors } from './errors.ts';
import { DnsMetricsRecorder } from './metrics.ts';
import { answerQuery, createResponder } from './responder.ts';
import { APEX, sampleInput, sampleTable } from './test-support.ts';
import type { DnsTransport, ZoneSpec } from './types.ts';
import { ZoneTable } from './zone-table.ts';

interface Asked { p: DecodedPacket; rcode: number; bytes: Buffer }

function query(name: string, type: string, opts: { id?: number; flags?: number; edns?: Partial<{ size: number; version: number; do: boolean }> } = {}): Buffer {
  const packet: Packet = { type: 'query', id: opts.id ?? 4242, flags: opts.flags ?? 0, questions: [{ name, type: type as Question['type'], class: 'IN' }] };
  if (opts.edns) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns.size ?? 1232, extendedRcode: 0, ednsVersion: opts.edns.version ?? 0, flags: opts.edns.do ? dnsPacket.DNSSEC_OK : 0, flag_do: false, options: [] }];
  }
  return dnsPacket.encode(packet);
}

function ask(table: ZoneTable, name: string, type: string, opts: Parameters<typeof query>[2] & { transport?: DnsTransport } = {}): Asked {
  const bytes = answerQuery(table, query(name, type, opts), opts.transport ?? 'udp');
  assert.ok(bytes, 'expected a response');
  return { p: dnsPacket.decode(bytes), rcode: bytes.readUInt16BE(2) & 0xf, bytes };
}

const data = (rrs: Answer[] | undefined): unknown[] => (rrs ?? []).map((r) => ('data' in r ? r.data : r.type));

test('answers A and AAAA authoritatively with RA clear, RD and ID echoed', () => {
  const table = sampleTable();
  const a = ask(table, `cdn.${APEX}`, 'A', { id: 999, flags: dnsPacket.RECURSION_DESIRED });
  assert.equal(a.p.id, 999);
  assert.deepEqual([a.p.flag_qr, a.p.flag_aa, a.p.flag_ra, a.p.flag_rd, a.p.flag_tc], [true, true, false, true, false]);
  assert.equal(a.rcode, 0);
  assert.deepEqual(data(a.p.answers), ['192.0.2.10']);
  assert.equal(a.p.answers?.[0]?.name, `cdn.${APEX}`);
  assert.equal(a.p.authorities?.length, 0);
  assert.deepEqual(data(ask(table, `api.${APEX}`, 'AAAA').p.answers), ['2001:db8::10']);
});

test('answers SOA, NS, CAA and TXT at their names', () => {
  const table = sampleTable();
  const soa = ask(table, APEX, 'SOA').p.answers?.[0];
  assert.deepEqual(soa && 'data' in soa ? soa.data : undefined, { mname: 'ns1.firstparty.test', rname: 'hostmaster.firstparty.test', serial: 7, refresh: 3600, retry: 600, expire: 1209600, minimum: 60 });
  assert.deepEqual(data(ask(table, APEX, 'NS').p.answers), ['ns1.firstparty.test', 'ns2.firstparty.test']);
  assert.deepEqual(data(ask(table, APEX, 'CAA').p.answers), [{ flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false }]);
  assert.deepEqual(data(ask(table, `_acme-challenge.cdn.${APEX}`, 'TXT').p.answers), [[Buffer.from('token-cdn')]]);
});

test('keeps the question exactly as asked (0x20) and matches names case-insensitively', () => {
  const a = ask(sampleTable(), 'cDn.CdP.sHoP.TeSt', 'A');
  assert.equal(a.p.questions?.[0]?.name, 'cDn.CdP.sHoP.TeSt');
  assert.deepEqual(data(a.p.answers), ['192.0.2.10']);
});

test('answers NXDOMAIN with the SOA in authority at TTL min(SOA TTL, minimum)', () => {
  const a = ask(sampleTable(), `nope.${APEX}`, 'A');
  assert.equal(a.rcode, 3);
  assert.ok(a.p.flag_aa);
  assert.equal(a.p.answers?.length, 0);
  assert.equal(a.p.authorities?.length, 1);
  assert.equal(a.p.authorities?.[0]?.type, 'SOA');
  assert.equal(a.p.authorities?.[0]?.name, APEX);
  assert.equal((a.p.authorities?.[0] as { ttl: number }).ttl, 60);
});

test('answers NODATA (NOERROR, no answer, SOA in authority) for a missing type at an existing name', () => {
  const a = ask(sampleTable(), `cdn.${APEX}`, 'TXT');
  assert.equal(a.rcode, 0);
  assert.equal(a.p.answers?.length, 0);
  assert.equal(a.p.authorities?.[0]?.type, 'SOA');
});

test('answers NODATA, not NXDOMAIN, at an empty non-terminal', () => {
  const table = sampleTable({ txt: [{ name: `_acme-challenge.deep.host.${APEX}`, value: 'v' }] });
  for (const ent of [`host.${APEX}`, `deep.host.${APEX}`]) {
    const a = ask(table, ent, 'A');
    assert.equal(a.rcode, 0, ent);
    assert.equal(a.p.authorities?.[0]?.type, 'SOA');
  }
  assert.equal(ask(table, `other.deep.host.${APEX}`, 'A').rcode, 3);
});

test('refuses names outside every zone, other classes and zone transfers, without AA', () => {
  const table = sampleTable();
  for (const [name, type] of [['shop.test', 'A'], ['example.com', 'SOA'], ['.', 'NS'], [APEX, 'AXFR']] as const) {
    const a = ask(table, name, type);
    assert.equal(a.rcode, 5, `${name} ${type}`);
    assert.equal(a.p.flag_aa, false);
  }
  const chaos = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] });
  assert.equal(answerQuery(table, chaos, 'udp')!.readUInt16BE(2) & 0xf, 5);
});

test('answers ANY with a single RRset (RFC 8482)', () => {
  const table = sampleTable();
  const apex = ask(table, APEX, 'ANY');
  assert.equal(apex.p.answers?.length, 1);
  assert.equal(apex.p.answers?.[0]?.type, 'SOA');
  assert.equal(ask(table, `cdn.${APEX}`, 'ANY').p.answers?.length, 1);
  assert.equal(ask(table, `nope.${APEX}`, 'ANY').rcode, 3);
});

test('serves the closest enclosing zone when zones nest', () => {
  const table = sampleTable();
  table.setZone(buildCustomDomainZone(sampleInput({ apex: `sub.${APEX}`, hosts: [`cdn.sub.${APEX}`], edgeIPv4: ['192.0.2.99'], txt: [] })));
  assert.deepEqual(data(ask(table, `cdn.sub.${APEX}`, 'A').p.answers), ['192.0.2.99']);
  assert.equal(ask(table, `x.sub.${APEX}`, 'A').p.authorities?.[0]?.name, `sub.${APEX}`);
  assert.deepEqual(data(ask(table, `cdn.${APEX}`, 'A').p.answers), ['192.0.2.10']);
});

test('shows a replaced zone on the next query and refuses a deleted one', () => {
  const table = sampleTable();
  assert.deepEqual(data(ask(table, `cdn.${APEX}`, 'A').p.answers), ['192.0.2.10']);
  assert.equal(ask(table, `_acme-challenge.api.${APEX}`, 'TXT').rcode, 3);
  table.setZone(buildCustomDomainZone(sampleInput({ serial: 8, edgeIPv4: ['192.0.2.20'], txt: [{ name: `_acme-challenge.api.${APEX}`, value: 'new' }] })));
  assert.deepEqual(data(ask(table, `cdn.${APEX}`, 'A').p.answers), ['192.0.2.20']);
  assert.deepEqual(data(ask(table, `_acme-challenge.api.${APEX}`, 'TXT').p.answers), [[Buffer.from('new')]]);
  table.deleteZone(APEX);
  assert.equal(ask(table, `cdn.${APEX}`, 'A').rcode, 5);
  assert.equal(table.zoneCount(), 0);
});

test('keeps serving the previous zone when a replacement is invalid', () => {
  const table = sampleTable();
  const good = table.getZone(APEX)!;
  const broken: ZoneSpec = { ...good, records: [...good.records, { name: `cdn.${APEX}`, type: 'A', ttlSeconds: 60, address: 'not-an-ip' }] };
  assert.throws(() => table.setZone(broken), (e) => isAppError(e, DnsErrors.INVALID_ZONE));
  assert.deepEqual(data(ask(table, `cdn.${APEX}`, 'A').p.answers), ['192.0.2.10']);
});

test('rejects zones without apex NS, with NS below the apex, out-of-zone, wildcard or uppercase names, bad data or TTLs', () => {
  const base = buildCustomDomainZone(sampleInput());
  const variants: ZoneSpec[] = [
    { ...base, records: base.records.filter((r) => r.type !== 'NS') },
    { ...base, records: [...base.records, { name: `sub.${APEX}`, type: 'NS', ttlSeconds: 60, host: 'ns.other.test' }] },
    { ...base, records: [...base.records, { name: 'cdn.other.test', type: 'A', ttlSeconds: 60, address: '192.0.2.1' }] },
    { ...base, records: [...base.records, { name: `cdn.${APEX}`, type: 'A', ttlSeconds: -1, address: '192.0.2.1' }] },
    { ...base, records: [...base.records, { name: `Cdn.${APEX}`, type: 'A', ttlSeconds: 1, address: '192.0.2.1' }] },
    { ...base, records: [...base.records, { name: `*.${APEX}`, type: 'A', ttlSeconds: 1, address: '192.0.2.1' }] },
    { ...base, records: [...base.records, { name: `cdn.${APEX}`, type: 'AAAA', ttlSeconds: 1, address: 'fe80::1%eth0' }] },
    { ...base, serial: 2 ** 32 },
  ];
  for (const v of variants) assert.throws(() => new ZoneTable().setZone(v), (e) => isAppError(e, DnsErrors.INVALID_ZONE));
});

test('serves identical records once and one TTL per RRset (RFC 2181 §5)', () => {
  const base = buildCustomDomainZone(sampleInput());
  const table = new ZoneTable();
  table.setZone({ ...base, records: [...base.records, { name: `cdn.${APEX}`, type: 'A', ttlSeconds: 10, address: '192.0.2.10' }, { name: `cdn.${APEX}`, type: 'A', ttlSeconds: 20, address: '192.0.2.11' }] });
  const answers = ask(table, `cdn.${APEX}`, 'A').p.answers ?? [];
  assert.deepEqual(data(answers), ['192.0.2.10', '192.0.2.11']);
  assert.deepEqual(answers.map((a) => (a as { ttl: number }).ttl), [20, 20]);
});

test('splits TXT values over 255 bytes into several strings', () => {
  const value = 'x'.repeat(300);
  const table = sampleTable({ txt: [{ name: `big.${APEX}`, value }] });
  const txt = ask(table, `big.${APEX}`, 'TXT', { transport: 'tcp' }).p.answers?.[0];
  const parts = txt && 'data' in txt ? (txt.data as Buffer[]) : [];
  assert.deepEqual(parts.map((b) => b.length), [255, 45]);
  assert.equal(Buffer.concat(parts).toString(), value);
});

test('adds OPT (size 1232, DO echoed) only when the query has one', () => {
  const table = sampleTable();
  const plain = ask(table, `cdn.${APEX}`, 'A');
  assert.equal(plain.p.additionals?.length, 0);
  const edns = ask(table, `cdn.${APEX}`, 'A', { edns: { size: 4096, do: true } });
  const opt = edns.p.additionals?.[0];
  assert.equal(opt?.type, 'OPT');
  assert.equal(opt && 'udpPayloadSize' in opt ? opt.udpPayloadSize : 0, 1232);
  assert.equal(opt && 'flag_do' in opt ? opt.flag_do : false, true);
  const noDo = ask(table, `nope.${APEX}`, 'A', { edns: {} }).p.additionals?.[0];
  assert.equal(noDo && 'flag_do' in noDo ? noDo.flag_do : true, false);
});

test('answers BADVERS (extended rcode 16) to EDNS versions other than 0', () => {
  const a = ask(sampleTable(), `cdn.${APEX}`, 'A', { edns: { version: 1 } });
  assert.equal(a.rcode, 0);
  const opt = a.p.additionals?.[0];
  assert.equal(opt && 'extendedRcode' in opt ? opt.extendedRcode : -1, 1);
  assert.equal(opt && 'ednsVersion' in opt ? opt.ednsVersion : -1, 0);
  assert.equal(a.p.answers?.length, 0);
});

test('truncates to header and question with TC when the answer exceeds the UDP limit', () => {
  const table = sampleTable({ txt: [{ name: `big.${APEX}`, value: 'y'.repeat(700) }] });
  const udp = ask(table, `big.${APEX}`, 'TXT');
  assert.equal(udp.p.flag_tc, true);
  assert.equal(udp.p.answers?.length, 0);
  assert.equal(udp.p.questions?.[0]?.name, `big.${APEX}`);
  assert.ok(udp.bytes.length <= 512);
  assert.equal(ask(table, `big.${APEX}`, 'TXT', { edns: { size: 1232 } }).p.flag_tc, false);
  const small = ask(table, `big.${APEX}`, 'TXT', { edns: { size: 100 } });
  assert.equal(small.p.flag_tc, true, 'advertised sizes below 512 count as 512');
  assert.equal(small.p.additionals?.[0]?.type, 'OPT');
  assert.equal(ask(table, `big.${APEX}`, 'TXT', { transport: 'tcp' }).p.flag_tc, false);
});

test('counts answers by qtype and rcode', () => {
  const table = sampleTable();
  const metrics = new DnsMetricsRecorder();
  const respond = createResponder(table, metrics);
  respond(query(`cdn.${APEX}`, 'A'), 'udp');
  respond(query(`nope.${APEX}`, 'A'), 'tcp');
  respond(query('example.com', 'TXT'), 'udp');
  respond(Buffer.alloc(5), 'udp');
  const snap = metrics.snapshot();
  assert.equal(snap.queriesTotal, 3);
  assert.equal(snap.dropped, 1);
  assert.deepEqual(snap.byQtype, { A: 2, TXT: 1 });
  assert.deepEqual(snap.byRcode, { NOERROR: 1, NXDOMAIN: 1, REFUSED: 1 });
  assert.deepEqual(snap.byTransport, { udp: 2, tcp: 1 });
});

test('turns an internal failure into SERVFAIL with the ID kept, and reports it', () => {
  const failing = { findZone: () => { throw new Error('boom'); } } as unknown as ZoneTable;
  const errors: unknown[] = [];
  const metrics = new DnsMetricsRecorder();
  const reply = createResponder(failing, metrics, (e) => errors.push(e))(query(`cdn.${APEX}`, 'A', { id: 31 }), 'udp');
  assert.ok(reply);
  assert.deepEqual([reply.readUInt16BE(0), reply.readUInt16BE(2) & 0xf], [31, 2]);
  assert.equal((errors[0] as Error).message, 'boom');
  assert.deepEqual(metrics.snapshot().byRcode, { SERVFAIL: 1 });
});

test('finds zones among 100,000 by walking up the labels', () => {
  const table = new ZoneTable();
  for (let i = 0; i < 100_000; i++) {
    const apex = `cdp.shop${i}.test`;
    table.setZone(buildCustomDomainZone(sampleInput({ apex, hosts: [`cdn.${apex}`], txt: [], serial: i })));
  }
  assert.equal(table.zoneCount(), 100_000);
  assert.deepEqual(data(ask(table, 'cdn.cdp.shop77777.test', 'A').p.answers), ['192.0.2.10']);
  assert.equal(ask(table, 'x.cdp.shop99999.test', 'A').rcode, 3);
  assert.equal(ask(table, 'cdp.shop100000.test', 'A').rcode, 5);
});
