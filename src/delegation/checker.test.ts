import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { FakeClock, hostnameUnchecked } from '../core/index.ts';
import { buildCustomDomainZone, DnsServer, ZoneTable } from '../dns/index.ts';
import { freePort, isRoot, missingBinaries, startNsd, startUnbound, zoneText, type Nsd, type Unbound } from '../../test/peers/index.ts';
import { createDelegationChecker, type DelegationTarget, type DelegationVerdict } from './index.ts';

// testbed.md: NS records carry no port, so each nameserver sits on its own loopback address, port 53.
// These addresses differ from the end-to-end test's (127.0.0.10, .2, .3) so both can run at once.
const PARENT = '127.0.0.20';
const OURS = ['127.0.0.21', '127.0.0.22'] as const;
const NS1 = 'ns1.firstparty.test';
const NS2 = 'ns2.firstparty.test';

const target: DelegationTarget = {
  zone: hostnameUnchecked('cdp.shop.test'),
  nameservers: [hostnameUnchecked(NS1), hostnameUnchecked(NS2)],
  ourServers: OURS.map((host) => ({ host, port: 53 })),
};

const skipReason = isRoot() ? missingBinaries(['nsd', 'unbound']) : `binding port 53 on ${PARENT}, ${OURS.join(' and ')} needs root`;

/** The parent zone shop.test with `records` added (e.g. the delegation NS records). */
function shopZone(records: string[]): string {
  return zoneText('shop.test', ['@ IN NS ns.shop.test.', `ns IN A ${PARENT}`, 'www IN A 192.0.2.1', ...records]);
}

function reasonOf(v: DelegationVerdict): string {
  return v.delegated ? 'delegated' : v.reason;
}

describe('delegation checker against nsd, unbound and our DNS server', () => {
  let nsd: Nsd | undefined;
  let unbound: Unbound | undefined;
  let ourDns: DnsServer | undefined;
  const clock = new FakeClock();
  let check: (t?: DelegationTarget) => Promise<DelegationVerdict>;

  before(async () => {
    if (skipReason) return;
    nsd = await startNsd({
      address: PARENT,
      port: 53,
      zones: [
        { name: 'shop.test', text: shopZone([]) },
        { name: 'firstparty.test', text: zoneText('firstparty.test', ['@ IN NS ns.firstparty.test.', `ns IN A ${PARENT}`, `ns1 IN A ${OURS[0]}`, `ns2 IN A ${OURS[1]}`]) },
      ],
    });
    const port = await freePort('127.0.0.1');
    const stub = [`${PARENT}@53`];
    unbound = await startUnbound({ address: '127.0.0.1', port, stubZones: ['shop.test', 'firstparty.test', 'lame.test'].map((name) => ({ name, addrs: stub })) });
    ourDns = new DnsServer({ table: zoneTableWithCdp(), listen: OURS.map((host) => ({ host, port: 53 })) });
    await ourDns.start();
    const checker = createDelegationChecker({ resolver: { host: '127.0.0.1', port }, clock });
    check = (t = target) => checker.check(t);
  });

  after(async () => {
    await ourDns?.close();
    await unbound?.stop();
    await nsd?.stop();
  });

  test('reports not_delegated, naming both NS records to add, before the parent has them', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone([]));
    const v = await check();
    assert.equal(reasonOf(v), 'not_delegated');
    assert.ok(!v.delegated);
    assert.match(v.message, /"cdp\.shop\.test\. IN NS ns1\.firstparty\.test\.", "cdp\.shop\.test\. IN NS ns2\.firstparty\.test\."/);
    assert.equal(v.checkedAt, clock.now());
  });

  test('reports delegated once the parent lists exactly our nameservers and they answer', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone([`cdp IN NS ${NS1}.`, `cdp IN NS ${NS2}.`]));
    const v = await check();
    assert.deepEqual(v, { delegated: true, parentNameservers: [NS1, NS2], checkedAt: clock.now() });
  });

  test('reports missing_nameservers when the parent lists only ns1', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone([`cdp IN NS ${NS1}.`]));
    const v = await check();
    assert.equal(reasonOf(v), 'missing_nameservers');
    assert.ok(!v.delegated);
    assert.deepEqual(v.observedNameservers, [NS1]);
    assert.match(v.message, /add "cdp\.shop\.test\. IN NS ns2\.firstparty\.test\."/);
  });

  test('reports wrong_nameservers when the parent delegates to a foreign nameserver', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone(['cdp IN NS ns.elsewhere.test.']));
    const v = await check();
    assert.equal(reasonOf(v), 'wrong_nameservers');
    assert.ok(!v.delegated);
    assert.deepEqual(v.observedNameservers, ['ns.elsewhere.test']);
    assert.match(v.message, /remove "cdp\.shop\.test\. IN NS ns\.elsewhere\.test\."/);
  });

  test('reports extra_nameservers when the parent lists ours plus a foreign one', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone([`cdp IN NS ${NS1}.`, `cdp IN NS ${NS2}.`, 'cdp IN NS ns.elsewhere.test.']));
    const v = await check();
    assert.equal(reasonOf(v), 'extra_nameservers');
  });

  test('finds the parent zone above names that are not zone cuts (NODATA and NXDOMAIN)', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone(['shop IN A 192.0.2.2', `cdp.eu IN NS ${NS1}.`, `cdp.eu IN NS ${NS2}.`]));
    // eu.shop.test is an empty non-terminal (NODATA, RFC 8020): the referral is still read from shop.test,
    // and only our servers are left to fail, as they do not serve cdp.eu.shop.test.
    const below = await check({ ...target, zone: hostnameUnchecked('cdp.eu.shop.test') });
    assert.equal(reasonOf(below), 'our_servers_not_answering');
    const nowhere = await check({ ...target, zone: hostnameUnchecked('cdp.nowhere.shop.test') });
    assert.equal(reasonOf(nowhere), 'not_delegated');
    assert.match(nowhere.delegated ? '' : nowhere.message, /parent zone shop\.test/);
  });

  test('reports our_servers_not_answering when one of our servers is stopped, and delegated again once it is back', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await nsd!.setZone('shop.test', shopZone([`cdp IN NS ${NS1}.`, `cdp IN NS ${NS2}.`]));
    const second = new DnsServer({ table: new ZoneTable(), listen: [{ host: OURS[1], port: 53 }] });
    await ourDns!.close();
    ourDns = new DnsServer({ table: zoneTableWithCdp(), listen: [{ host: OURS[0], port: 53 }] });
    await ourDns.start();
    try {
      const checker = createDelegationChecker({ resolver: { host: unbound!.address, port: unbound!.port }, clock, timeoutMs: 500 });
      const stopped = await checker.check(target);
      assert.equal(reasonOf(stopped), 'our_servers_not_answering');
      assert.ok(!stopped.delegated && stopped.message.includes(`${OURS[1]}:53`), 'names the stopped server');
      assert.ok(!stopped.message.includes(`${OURS[0]}:53`), 'does not blame the server that answers');

      // A server that answers but does not serve the zone does not count either.
      await second.start();
      const notServing = await checker.check(target);
      assert.equal(reasonOf(notServing), 'our_servers_not_answering');
      assert.ok(!notServing.delegated && notServing.message.includes(`${OURS[1]}:53 answered REFUSED`), 'names the refusing server');
    } finally {
      await second.close();
      await ourDns.close();
      ourDns = new DnsServer({ table: zoneTableWithCdp(), listen: OURS.map((host) => ({ host, port: 53 })) });
      await ourDns.start();
    }
    assert.equal(reasonOf(await check()), 'delegated');
  });

  test('reports parent_unreachable when the servers of the parent zone do not serve it', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // lame.test is stubbed to nsd, which does not serve it: a lame delegation (RFC 1912 §2.8).
    const v = await check({ ...target, zone: hostnameUnchecked('cdp.lame.test') });
    assert.equal(reasonOf(v), 'parent_unreachable');
    assert.match(v.delegated ? '' : v.message, /SOA lame\.test/);
  });
});

function zoneTableWithCdp(): ZoneTable {
  const table = new ZoneTable();
  table.setZone(buildCustomDomainZone({
    apex: 'cdp.shop.test', serial: 1, nameservers: [NS1, NS2], hosts: ['cdn.cdp.shop.test', 'api.cdp.shop.test'],
    edgeIPv4: ['127.0.0.1'], edgeIPv6: [], caaIssuers: [], txt: [], hostmaster: 'hostmaster.firstparty.test',
  }));
  return table;
}

test('reports resolver_error when nothing answers at the resolver address', async () => {
  const checker = createDelegationChecker({ resolver: { host: '127.0.0.1', port: await freePort('127.0.0.1') }, timeoutMs: 300 });
  const v = await checker.check(target);
  assert.equal(reasonOf(v), 'resolver_error');
  assert.match(v.delegated ? '' : v.message, /SOA shop\.test/);
});

test('rejects with the abort reason when the check is aborted while a query is pending', async () => {
  // A UDP socket that never answers keeps the first query pending until the abort.
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const checker = createDelegationChecker({ resolver: { host: '127.0.0.1', port: silent.address().port }, timeoutMs: 1_500 });
    const reason = new Error('shutting down');
    const started = Date.now();
    await assert.rejects(checker.check(target, abortAfter(100, reason)), reason);
    assert.ok(Date.now() - started < 1_000, 'the abort, not the query timeout, ended the check');
  } finally {
    silent.close();
  }
});

test('rejects a target without nameservers with ERR_DELEGATION_INVALID_TARGET', async () => {
  const checker = createDelegationChecker({ resolver: { host: '127.0.0.1', port: 9 } });
  await assert.rejects(checker.check({ ...target, nameservers: [] }), { code: 'ERR_DELEGATION_INVALID_TARGET' });
  await assert.rejects(checker.check({ ...target, ourServers: [] }), { code: 'ERR_DELEGATION_INVALID_TARGET' });
});

function abortAfter(ms: number, reason: Error): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms);
  return controller.signal;
}
