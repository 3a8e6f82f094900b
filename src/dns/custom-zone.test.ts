import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../core/index.ts';
import { buildCustomDomainZone } from './custom-zone.ts';
import { DnsErrors } from './errors.ts';
import { APEX, sampleInput } from './test-support.ts';
import { ZoneTable } from './zone-table.ts';

test('builds apex NS and CAA, edge A/AAAA per host and challenge TXT with default TTLs', () => {
  const zone = buildCustomDomainZone(sampleInput());
  assert.equal(zone.apex, APEX);
  assert.equal(zone.serial, 7);
  assert.deepEqual(zone.records, [
    { name: APEX, type: 'NS', ttlSeconds: 300, host: 'ns1.firstparty.test' },
    { name: APEX, type: 'NS', ttlSeconds: 300, host: 'ns2.firstparty.test' },
    { name: APEX, type: 'CAA', ttlSeconds: 300, flags: 0, tag: 'issue', value: 'letsencrypt.org' },
    { name: `cdn.${APEX}`, type: 'A', ttlSeconds: 300, address: '192.0.2.10' },
    { name: `cdn.${APEX}`, type: 'AAAA', ttlSeconds: 300, address: '2001:db8::10' },
    { name: `api.${APEX}`, type: 'A', ttlSeconds: 300, address: '192.0.2.10' },
    { name: `api.${APEX}`, type: 'AAAA', ttlSeconds: 300, address: '2001:db8::10' },
    { name: `_acme-challenge.cdn.${APEX}`, type: 'TXT', ttlSeconds: 30, value: 'token-cdn' },
  ]);
});

test('uses the first nameserver as SOA mname, the hostmaster as rname and a 60 s negative TTL', () => {
  const { soa } = buildCustomDomainZone(sampleInput());
  assert.equal(soa.mname, 'ns1.firstparty.test');
  assert.equal(soa.rname, 'hostmaster.firstparty.test');
  assert.equal(soa.minimumSeconds, 60);
  assert.equal(soa.ttlSeconds, 300);
  assert.ok(soa.refreshSeconds > soa.retrySeconds && soa.expireSeconds > soa.refreshSeconds);
});

test('omits CAA records when no issuer is given and honours custom TTLs', () => {
  const zone = buildCustomDomainZone(sampleInput({ caaIssuers: [], ttlSeconds: 120, txtTtlSeconds: 5 }));
  assert.equal(zone.records.some((r) => r.type === 'CAA'), false);
  assert.ok(zone.records.filter((r) => r.type !== 'TXT').every((r) => r.ttlSeconds === 120));
  assert.equal(zone.records.find((r) => r.type === 'TXT')?.ttlSeconds, 5);
});

test('refuses hosts and challenge names outside the apex, bad addresses and no nameservers', () => {
  const bad = [
    sampleInput({ hosts: ['cdn.other.test'] }),
    sampleInput({ hosts: [`x${APEX}`] }),
    sampleInput({ txt: [{ name: '_acme-challenge.shop.test', value: 'v' }] }),
    sampleInput({ edgeIPv4: ['2001:db8::1'] }),
    sampleInput({ edgeIPv6: ['192.0.2.1'] }),
    sampleInput({ nameservers: [] }),
    sampleInput({ apex: 'Bad Apex' }),
  ];
  for (const input of bad) assert.throws(() => buildCustomDomainZone(input), (e) => isAppError(e, DnsErrors.INVALID_ZONE));
});

test('produces a zone the table accepts', () => {
  const table = new ZoneTable();
  table.setZone(buildCustomDomainZone(sampleInput()));
  assert.equal(table.getZone(APEX)?.records.length, 8);
});
