import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { APEX, sampleTable } from './test-support.ts';
import { parseTsigKey, signMessage, TsigError, verifyMessage } from './tsig.ts';
import { compileAllowList, createTransferResponder } from './zone-transfer.ts';

const KEY = parseTsigKey(`xfr:${Buffer.alloc(32, 9).toString('base64')}`);
const axfr = (name = APEX): Buffer => dnsPacket.encode({ type: 'query', id: 77, questions: [{ name, type: 'AXFR', class: 'IN' }] });

test('matches addresses and CIDR prefixes, IPv4-mapped included, and refuses bad entries', () => {
  const allowed = compileAllowList(['192.0.2.0/24', '2001:db8::1']);
  assert.ok(allowed('192.0.2.77') && allowed('::ffff:192.0.2.5') && allowed('2001:db8::1'));
  assert.ok(!allowed('192.0.3.1') && !allowed('2001:db8::2') && !allowed(''));
  assert.throws(() => compileAllowList(['192.0.2.0/33']), { code: 'ERR_DNS_BAD_TRANSFER_ACL' });
  assert.throws(() => compileAllowList(['ns1.example']), { code: 'ERR_DNS_BAD_TRANSFER_ACL' });
});

test('answers BADTIME with a signed NOTAUTH carrying the server time', () => {
  const now = 1_700_000_000;
  const respond = createTransferResponder(sampleTable(), { allow: ['127.0.0.1'], tsigKeys: [KEY], nowSeconds: () => now });
  const req = signMessage(axfr(), KEY, { nowSeconds: now - 1000 });
  const [res] = respond(req.bytes, '127.0.0.1')!;
  assert.equal(res!.readUInt16BE(2) & 0xf, 9);
  const v = verifyMessage(res!, [KEY], now, { requestMac: req.mac });
  assert.equal(v.kind, 'valid');
  assert.equal(v.kind === 'valid' && v.error, TsigError.BADTIME);
});

test('leaves ordinary queries to the responder', () => {
  const respond = createTransferResponder(sampleTable(), { allow: ['127.0.0.1'], tsigKeys: [] });
  assert.equal(respond(dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: APEX, type: 'SOA', class: 'IN' }] }), '127.0.0.1'), null);
});

test('never throws on 20,000 mutated signed transfer requests', () => {
  const respond = createTransferResponder(sampleTable(), { allow: ['127.0.0.1'], tsigKeys: [KEY] });
  const base = signMessage(axfr(), KEY, { nowSeconds: Math.floor(Date.now() / 1000) }).bytes;
  let answered = 0;
  for (let i = 0; i < 20_000; i++) {
    const m = Buffer.from(base);
    for (let k = randomInt(1, 6); k > 0; k--) m[randomInt(m.length)] = randomInt(256);
    const cut = i % 5 === 0 ? m.subarray(0, randomInt(m.length)) : i % 7 === 0 ? Buffer.concat([m, randomBytes(randomInt(40))]) : m;
    const out = respond(cut, '127.0.0.1');
    if (out !== null) answered++;
  }
  assert.ok(answered > 1000, `answered ${answered}`);
  const ok = respond(base, '127.0.0.1')!;
  assert.ok(ok.length >= 1 && (ok[0]!.readUInt16BE(2) & 0xf) === 0, 'still transfers a valid request');
});
