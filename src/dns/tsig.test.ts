import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { findTsig, parseTsigKey, readName, signMessage, TsigError, verifyMessage } from './tsig.ts';

const KEY = parseTsigKey(`k1.example:${Buffer.alloc(32, 1).toString('base64')}`);
const OTHER = parseTsigKey(`k2.example:${Buffer.alloc(32, 2).toString('base64')}`);
const NOW = 1_700_000_000;
const query = (): Buffer => dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'cdp.shop.test', type: 'AXFR', class: 'IN' }] });

test('parses name:base64 keys, with or without the algorithm prefix, and refuses short secrets', () => {
  assert.equal(parseTsigKey(`hmac-sha256:Key.Example.:${Buffer.alloc(16).toString('base64')}`).name, 'key.example');
  assert.throws(() => parseTsigKey(`k:${Buffer.alloc(8).toString('base64')}`), { code: 'ERR_DNS_BAD_TSIG_KEY' });
  assert.throws(() => parseTsigKey('no-secret'), { code: 'ERR_DNS_BAD_TSIG_KEY' });
});

test('verifies its own signature and increments ARCOUNT by one', () => {
  const signed = signMessage(query(), KEY, { nowSeconds: NOW });
  assert.equal(signed.bytes.readUInt16BE(10), 1);
  assert.equal(signed.mac.length, 32);
  const v = verifyMessage(signed.bytes, [OTHER, KEY], NOW + 10);
  assert.equal(v.kind, 'valid');
  assert.equal(v.kind === 'valid' && v.key.name, 'k1.example');
});

test('reports BADKEY, BADSIG and BADTIME (RFC 8945 §5.2)', () => {
  const signed = signMessage(query(), KEY, { nowSeconds: NOW }).bytes;
  assert.deepEqual(pick(verifyMessage(signed, [OTHER], NOW)), { kind: 'invalid', error: TsigError.BADKEY });
  const tampered = Buffer.from(signed);
  tampered[20] = tampered[20]! ^ 0x20; // one letter of the question, case flipped
  assert.deepEqual(pick(verifyMessage(tampered, [KEY], NOW)), { kind: 'invalid', error: TsigError.BADSIG });
  assert.deepEqual(pick(verifyMessage(signed, [KEY], NOW + 301)), { kind: 'invalid', error: TsigError.BADTIME });
  assert.equal(verifyMessage(query(), [KEY], NOW).kind, 'unsigned');
});

test('chains the request MAC into the response and the prior MAC into later messages', () => {
  const req = signMessage(query(), KEY, { nowSeconds: NOW });
  const r1 = signMessage(query(), KEY, { nowSeconds: NOW, requestMac: req.mac });
  const r2 = signMessage(query(), KEY, { nowSeconds: NOW, priorMac: r1.mac });
  assert.equal(verifyMessage(r1.bytes, [KEY], NOW, { requestMac: req.mac }).kind, 'valid');
  assert.equal(verifyMessage(r2.bytes, [KEY], NOW, { priorMac: r1.mac }).kind, 'valid');
  assert.equal(verifyMessage(r2.bytes, [KEY], NOW, { priorMac: req.mac }).kind, 'invalid');
  assert.equal(verifyMessage(r1.bytes, [KEY], NOW).kind, 'invalid', 'a response does not verify as a request');
});

test('refuses a TSIG that is not the last record, and cut TSIG data', () => {
  const signed = signMessage(query(), KEY, { nowSeconds: NOW }).bytes;
  assert.equal(findTsig(signed.subarray(0, signed.length - 3)), 'formerr');
  const twice = signMessage(signed, KEY, { nowSeconds: NOW }).bytes;
  assert.equal(findTsig(twice), 'formerr');
});

test('readName follows compression pointers and stops pointer loops', () => {
  const msg = Buffer.from([0, 0, 0, 0, 3, 0x41, 0x62, 0x63, 0, 0xc0, 4, 0xc0, 11]);
  assert.deepEqual(readName(msg, 9), { name: 'abc', end: 11 });
  assert.equal(readName(msg, 11), undefined);
});

function pick(v: ReturnType<typeof verifyMessage>): object {
  return v.kind === 'invalid' ? { kind: v.kind, error: v.error } : { kind: v.kind };
}
