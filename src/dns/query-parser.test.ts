import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { QueryParser, skipRR } from './query-parser.ts';

/** A hand-built query: header fields, raw question bytes, then raw trailing bytes. */
function raw(h: { flags?: number; qd?: number; an?: number; ns?: number; ar?: number }, ...parts: (number[] | Buffer)[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0xbeef, 0);
  header.writeUInt16BE(h.flags ?? 0, 2);
  header.writeUInt16BE(h.qd ?? 1, 4);
  header.writeUInt16BE(h.an ?? 0, 6);
  header.writeUInt16BE(h.ns ?? 0, 8);
  header.writeUInt16BE(h.ar ?? 0, 10);
  return Buffer.concat([header, ...parts.map((p) => Buffer.from(p))]);
}
const QNAME = [3, 0x57, 0x77, 0x57, 4, 0x54, 0x65, 0x53, 0x74, 0]; // "WwW.TeSt"
const A_IN = [0, 1, 0, 1];
const OPT = (size: number, version = 0, doBit = false): number[] => [0, 0, 41, size >> 8, size & 0xff, 0, version, doBit ? 0x80 : 0, 0, 0, 0];

test('reads id, flags, lowercased name, type and class of a query', () => {
  const p = new QueryParser();
  assert.equal(p.parse(raw({ flags: 0x0100 }, QNAME, A_IN)), 'query');
  assert.deepEqual({ ...p.query }, { id: 0xbeef, flags: 0x0100, questionEnd: 12 + QNAME.length + 4, name: 'www.test', qtype: 1, qclass: 1, edns: 0, ednsVersion: 0, udpSize: 512 });
});

test('reads the root name as an empty string', () => {
  const p = new QueryParser();
  assert.equal(p.parse(raw({}, [0], [0, 2, 0, 1])), 'query');
  assert.equal(p.query.name, '');
});

test('keeps a dot inside a label from looking like a label boundary', () => {
  const p = new QueryParser();
  assert.equal(p.parse(raw({}, [3, 0x61, 0x2e, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0], A_IN)), 'query');
  assert.equal(p.query.name.split('.').length, 2);
  assert.notEqual(p.query.name, 'a.b.test');
});

test('drops messages shorter than a header and responses', () => {
  const p = new QueryParser();
  assert.equal(p.parse(Buffer.alloc(0)), 'drop');
  assert.equal(p.parse(Buffer.alloc(11)), 'drop');
  assert.equal(p.parse(raw({ flags: 0x8000 }, QNAME, A_IN)), 'drop');
});

test('answers NOTIMP to opcodes other than QUERY', () => {
  const p = new QueryParser();
  for (const opcode of [1, 2, 4, 5, 15]) assert.equal(p.parse(raw({ flags: opcode << 11 }, QNAME, A_IN)), 'notimp');
});

test('answers FORMERR to a question count other than one and to broken questions', () => {
  const p = new QueryParser();
  const cases: Buffer[] = [
    raw({ qd: 0 }),
    raw({ qd: 2 }, QNAME, A_IN, QNAME, A_IN),
    raw({}),
    raw({}, [3, 0x61]),
    raw({}, QNAME, [0, 1]),
    raw({}, [0xc0, 12], A_IN),
    raw({}, [0xc0, 0], A_IN),
    raw({}, [0x40, 0], A_IN),
    raw({}, [64, ...Buffer.alloc(64, 0x61), 0], A_IN),
    raw({}, [...Array.from({ length: 5 }, () => [63, ...Buffer.alloc(63, 0x61)]).flat(), 0], A_IN),
  ];
  for (const [i, msg] of cases.entries()) assert.equal(p.parse(msg), 'formerr', `case ${i}`);
});

test('accepts a name of exactly 255 octets and refuses 256', () => {
  const p = new QueryParser();
  const labels = (sizes: number[]): number[] => [...sizes.flatMap((n) => [n, ...Buffer.alloc(n, 0x61)]), 0];
  assert.equal(p.parse(raw({}, labels([63, 63, 63, 61]), A_IN)), 'query');
  assert.equal(p.parse(raw({}, labels([63, 63, 63, 62]), A_IN)), 'formerr');
});

test('reads the OPT record: payload size (at least 512), version and DO bit', () => {
  const p = new QueryParser();
  assert.equal(p.parse(raw({ ar: 1 }, QNAME, A_IN, OPT(4096, 0, true))), 'query');
  assert.deepEqual([p.query.edns, p.query.udpSize, p.query.ednsVersion], [2, 4096, 0]);
  assert.equal(p.parse(raw({ ar: 1 }, QNAME, A_IN, OPT(100, 3))), 'query');
  assert.deepEqual([p.query.edns, p.query.udpSize, p.query.ednsVersion], [1, 512, 3]);
  assert.equal(p.parse(raw({}, QNAME, A_IN)), 'query');
  assert.equal(p.query.edns, 0, 'state is reset between queries');
});

test('answers FORMERR to two OPT records, an OPT not owned by the root and a cut OPT', () => {
  const p = new QueryParser();
  assert.equal(p.parse(raw({ ar: 2 }, QNAME, A_IN, OPT(1232), OPT(1232))), 'formerr');
  assert.equal(p.parse(raw({ ar: 1 }, QNAME, A_IN, [1, 0x61], OPT(1232).slice(1))), 'formerr');
  assert.equal(p.parse(raw({ ar: 1 }, QNAME, A_IN, OPT(1232).slice(0, 8))), 'formerr');
  assert.equal(p.parse(raw({ ar: 1 }, QNAME, A_IN)), 'formerr');
});

test('skips other records to find the OPT, following no compression pointer', () => {
  const p = new QueryParser();
  const rr = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1];
  assert.equal(p.parse(raw({ an: 1, ar: 2 }, QNAME, A_IN, rr, rr, OPT(2000))), 'query');
  assert.equal(p.query.udpSize, 2000);
  assert.equal(p.parse(raw({ an: 2 }, QNAME, A_IN, rr)), 'formerr');
});

test('skipRR stops at the end of the message and on reserved label types', () => {
  const msg = dnsPacket.encode({ type: 'response', id: 1, answers: [{ name: 'a.test', type: 'A', ttl: 1, data: '192.0.2.1' }] });
  assert.equal(skipRR(msg, 12), msg.length);
  assert.equal(skipRR(msg.subarray(0, msg.length - 1), 12), -1);
  assert.equal(skipRR(Buffer.from([0x80, 0, 0]), 0), -1);
  assert.equal(skipRR(Buffer.from([]), 0), -1);
});
