import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { hostnameUnchecked, type CustomDomain, type StoredCertificate } from '../core/index.ts';
import { DnsServer, ZoneTable } from '../dns/index.ts';
import { createTestCa, issueTestLeaf } from '../../test/peers/index.ts';
import { createDiagnoser } from './diagnose.ts';

const SOA = { mname: 'ns1.fp.test', rname: 'hostmaster.fp.test', refreshSeconds: 3600, retrySeconds: 600, expireSeconds: 86400, minimumSeconds: 60, ttlSeconds: 60 };
const h = hostnameUnchecked;

function domain(kind: 'active' | 'issuing'): CustomDomain {
  return {
    id: 'cd_1', workspaceId: 'ws_1', domain: h('cdp.shop.test'), hosts: { cdn: h('cdn.cdp.shop.test'), api: h('api.cdp.shop.test') },
    state: kind === 'active' ? { kind: 'active' } : { kind: 'issuing', attempt: 1 }, version: 1, zoneSerial: 1, nextCheckAt: null, checkAttempts: 0,
    sourceIds: [], createdAt: 0, updatedAt: 0,
  };
}

test('reports live DNS, CAA and HTTPS probes and says who must act', async (t) => {
  // Our authoritative zone, also used as the resolver (it answers what it is authoritative for).
  const table = new ZoneTable();
  const caa = { name: 'cdp.shop.test', type: 'CAA' as const, ttlSeconds: 60, flags: 0, tag: 'issue' as const, value: 'letsencrypt.org' };
  table.setZone({ apex: 'cdp.shop.test', serial: 1, soa: SOA, records: [{ name: 'cdp.shop.test', type: 'NS', ttlSeconds: 60, host: 'ns1.fp.test' }, caa] });
  const dns = new DnsServer({ table, listen: [{ host: '127.0.0.1', port: 0 }] });
  await dns.start();
  let ca;
  try {
    ca = await createTestCa('diag test CA');
  } catch (err) {
    await dns.close();
    return t.skip(`openssl unavailable: ${String(err)}`);
  }
  const leaf = await issueTestLeaf(ca, ['cdn.cdp.shop.test', 'api.cdp.shop.test']);
  const edge = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.writeHead(404).end());
  await new Promise<void>((r) => edge.listen(0, '127.0.0.1', () => r()));
  try {
    const at = dns.addresses()[0]!;
    const edgeAt = edge.address() as AddressInfo;
    const serial = new X509Certificate(leaf.certPem).serialNumber.toLowerCase();
    const cert = { serialHex: serial, notAfter: Date.now() + 30 * 86_400_000, names: [] } as unknown as StoredCertificate;
    const make = (caaIdentities: string[]) => createDiagnoser({
      checker: { check: async () => ({ delegated: true, parentNameservers: ['ns1.fp.test'], checkedAt: 0 }) },
      resolver: at, nameservers: [h('ns1.fp.test')], ourServers: [at], edge: () => ({ host: edgeAt.address, port: edgeAt.port }), caaIdentities, now: () => Date.now(),
    });
    const ok = await make(['letsencrypt.org']).diagnose(domain('active'), cert);
    assert.deepEqual(ok.ourNameservers.map((s) => s.answering), [true]);
    assert.equal(ok.caa.owner, 'cdp.shop.test');
    assert.equal(ok.caa.permitsOurCa, true);
    assert.deepEqual(ok.https.map((x) => [x.host, x.ok, x.httpStatus, x.servedSerial]), [['cdn.cdp.shop.test', true, 404, serial], ['api.cdp.shop.test', true, 404, serial]]);
    assert.equal(ok.verdict.whoMustAct, 'nobody');
    const blocked = await make(['pebble.test']).diagnose(domain('issuing'), undefined);
    assert.equal(blocked.caa.permitsOurCa, false);
    assert.equal(blocked.verdict.whoMustAct, 'workspace');
    await new Promise<void>((r) => edge.close(() => r()));
    const down = await make(['letsencrypt.org']).diagnose(domain('active'), cert);
    assert.equal(down.https[0]!.ok, false);
    assert.equal(down.verdict.whoMustAct, 'operator');
  } finally {
    edge.close();
    await dns.close();
  }
});
