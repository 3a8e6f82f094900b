import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { DnsServer } from './dns-server.ts';
import { clientPrefix, ResponseRateLimiter, truncatedCopy } from './rrl.ts';
import { APEX, sampleTable, udpExchange } from './test-support.ts';

test('allows the rate per /24 prefix, then drops with every second answer slipped, and refills over time', () => {
  let now = 0;
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 3, nowMs: () => now });
  const first = Array.from({ length: 7 }, () => rrl.check('192.0.2.1'));
  assert.deepEqual(first, ['send', 'send', 'send', 'drop', 'slip', 'drop', 'slip']);
  assert.equal(rrl.check('192.0.3.1'), 'send', 'another prefix has its own bucket');
  assert.notEqual(rrl.check('192.0.2.200'), 'send', 'same /24 shares the bucket');
  now += 1000;
  assert.deepEqual([rrl.check('192.0.2.9'), rrl.check('192.0.2.9'), rrl.check('192.0.2.9')], ['send', 'send', 'send']);
});

test('groups IPv6 clients by /48 and IPv4-mapped ones by /24', () => {
  assert.equal(clientPrefix('2001:db8:1:2::5'), clientPrefix('2001:0db8:0001:ffff::1'));
  assert.notEqual(clientPrefix('2001:db8:1::5'), clientPrefix('2001:db8:2::5'));
  assert.equal(clientPrefix('::ffff:10.1.2.3'), clientPrefix('10.1.2.99'));
});

test('a slipped answer is header and question with TC set', () => {
  const res = dnsPacket.encode({ type: 'response', id: 5, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: APEX, type: 'A', class: 'IN' }], answers: [{ name: APEX, type: 'A', ttl: 5, data: '192.0.2.1' }] });
  const cut = dnsPacket.decode(truncatedCopy(res));
  assert.equal(cut.id, 5);
  assert.equal(cut.flag_tc, true);
  assert.deepEqual(cut.questions, [{ name: APEX, type: 'A', class: 'IN' }]);
  assert.equal(cut.answers?.length ?? 0, 0);
});

test('a server with RRL stops answering a flood from one client over UDP', async () => {
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '127.0.0.1', port: 0 }], rrl: { responsesPerSecond: 5, slip: 0 } });
  await server.start();
  try {
    const addr = server.addresses()[0]!;
    const q = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: `cdn.${APEX}`, type: 'A', class: 'IN' }] });
    const replies = await Promise.all(Array.from({ length: 20 }, () => udpExchange(addr, q, 300)));
    const answered = replies.filter((r) => r !== null).length;
    assert.ok(answered >= 5 && answered <= 7, `answered ${answered} of 20`);
    assert.ok(server.metrics().rateLimited >= 13);
  } finally {
    await server.close();
  }
});
