import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostnameUnchecked } from '../core/index.ts';
import { DnsServer, ZoneTable } from '../dns/index.ts';
import { claimRecordName, claimRecordValue, createResolverDns } from './takeover.ts';

const SOA = { mname: 'ns1.shop.test', rname: 'hostmaster.shop.test', refreshSeconds: 3600, retrySeconds: 600, expireSeconds: 86400, minimumSeconds: 60, ttlSeconds: 60 };

test('reads the takeover TXT proof at the parent zone through a real DNS server', async () => {
  const table = new ZoneTable();
  const name = claimRecordName(hostnameUnchecked('cdp.shop.test'));
  assert.equal(name, '_firstparty-claim.shop.test');
  table.setZone({ apex: 'shop.test', serial: 1, soa: SOA, records: [
    { name: 'shop.test', type: 'NS', ttlSeconds: 60, host: 'ns1.shop.test' },
    { name, type: 'TXT', ttlSeconds: 60, value: claimRecordValue('tok123') },
    { name, type: 'TXT', ttlSeconds: 60, value: 'v=other' },
  ] });
  const server = new DnsServer({ table, listen: [{ host: '127.0.0.1', port: 0 }] });
  await server.start();
  try {
    const dns = createResolverDns({
      resolver: server.addresses()[0]!, nameservers: [], ourServers: [],
      checker: { check: async () => { throw new Error('not used'); } },
    });
    assert.deepEqual((await dns.txt(name)).sort(), ['firstparty-claim=tok123', 'v=other']);
    assert.deepEqual(await dns.txt('_firstparty-claim.nothing.shop.test'), []);
    await assert.rejects(dns.txt('_firstparty-claim.elsewhere.test'), /REFUSED/);
  } finally {
    await server.close();
  }
});

test('counts a parent still naming our nameservers as delegated to us, even when our servers stopped answering', async () => {
  const verdicts = {
    gone: { delegated: false, reason: 'not_delegated', message: '', checkedAt: 0 },
    lingering: { delegated: false, reason: 'our_servers_not_answering', message: '', checkedAt: 0 },
    unknown: { delegated: false, reason: 'resolver_error', message: '', checkedAt: 0 },
    live: { delegated: true, parentNameservers: [], checkedAt: 0 },
  } as const;
  const dns = createResolverDns({
    resolver: { host: '127.0.0.1', port: 9 }, nameservers: [], ourServers: [],
    checker: { check: async (t) => verdicts[t.zone.split('.')[0] as keyof typeof verdicts] as never },
  });
  assert.equal(await dns.delegatedToUs(hostnameUnchecked('gone.shop.test')), false);
  assert.equal(await dns.delegatedToUs(hostnameUnchecked('lingering.shop.test')), true);
  assert.equal(await dns.delegatedToUs(hostnameUnchecked('unknown.shop.test')), null);
  assert.equal(await dns.delegatedToUs(hostnameUnchecked('live.shop.test')), true);
});
