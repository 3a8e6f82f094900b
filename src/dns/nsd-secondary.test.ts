import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeDns, type ProbeResponse } from '../../test/peers/dns-probe.ts';
import { findBinary, freePort, makeTempDir, removeTempDir, spawnManaged, waitUntil, type ManagedProcess } from '../../test/peers/process.ts';
import { buildCustomDomainZone } from './custom-zone.ts';
import { DnsServer } from './dns-server.ts';
import { Notifier } from './notifier.ts';
import { renderNsdSecondaryConfig } from './nsd-config.ts';
import { APEX, sampleInput } from './test-support.ts';
import { parseTsigKey } from './tsig.ts';
import type { CustomZoneInput } from './custom-zone.ts';
import { ZoneTable } from './zone-table.ts';

const KEY = parseTsigKey(`firstparty-xfr:${Buffer.alloc(32, 3).toString('base64')}`);
const OTHER_APEX = 'cdp.other.test';
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function nsdServerConf(dir: string, port: number): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    'server:', `  ip-address: 127.0.0.1@${port}`, `  port: ${port}`, '  do-ip6: no', '  server-count: 1',
    '  username: ""', '  chroot: ""', '  database: ""', `  zonesdir: ${q(dir)}`, `  pidfile: ${q(join(dir, 'nsd.pid'))}`,
    `  xfrdfile: ${q(join(dir, 'xfrd.state'))}`, `  xfrdir: ${q(dir)}`, `  zonelistfile: ${q(join(dir, 'zone.list'))}`,
    `  logfile: ${q(join(dir, 'nsd.log'))}`, '  rrl-ratelimit: 0', '  verbosity: 2', 'remote-control:', '  control-enable: no', '',
  ].join('\n');
}

const txtOf = (r: ProbeResponse | null): string[] =>
  (r?.answers ?? []).flatMap((a) => (a.type === 'TXT' ? [([] as Buffer[]).concat(a.data as Buffer[]).map(String).join('')] : []));
const aOf = (r: ProbeResponse | null): string[] => (r?.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));

async function until(what: string, proc: ManagedProcess, probe: () => Promise<boolean>): Promise<void> {
  await waitUntil(what, probe, { proc, timeoutMs: 8_000, intervalMs: 50 });
}

test('nsd as a TSIG-secured secondary follows every zone change after our NOTIFY', async (t) => {
  const nsdBin = findBinary('nsd');
  if (nsdBin === null) return void t.skip('nsd is not installed (apt-get install nsd)');
  const table = new ZoneTable();
  const zone = (over: Partial<CustomZoneInput>) => buildCustomDomainZone(sampleInput({ txt: [], ...over }));
  table.setZone(zone({ serial: 1 }));
  table.setZone(zone({ apex: OTHER_APEX, hosts: [`cdn.${OTHER_APEX}`], serial: 1 }));

  const server = new DnsServer({ table, listen: [{ host: '127.0.0.1', port: 0 }], transfer: { allow: ['127.0.0.1'], tsigKeys: [KEY] } });
  await server.start();
  cleanups.push(() => server.close());
  const primary = server.addresses()[0]!;

  const dir = await makeTempDir('nsd-secondary');
  cleanups.push(() => removeTempDir(dir));
  const port = await freePort();
  const conf = nsdServerConf(dir, port) + renderNsdSecondaryConfig({ zones: table.apexes(), primaries: [primary], tsigKey: KEY });
  await writeFile(join(dir, 'nsd.conf'), conf);
  const nsd = spawnManaged('nsd', nsdBin, ['-d', '-c', join(dir, 'nsd.conf')], { cwd: dir });
  cleanups.push(() => nsd.stop());
  const ask = (name: string, type: 'TXT' | 'A' | 'SOA') => probeDns('127.0.0.1', port, name, type);

  // Initial transfer of both zones, requested by nsd itself at start.
  for (const apex of [APEX, OTHER_APEX]) {
    await until(`nsd to load ${apex}`, nsd, async () => (await ask(apex, 'SOA'))?.rcode === 'NOERROR');
  }
  assert.deepEqual(aOf(await ask(`cdn.${APEX}`, 'A')), ['192.0.2.10']);

  const notifier = new Notifier({ table, secondaries: [{ host: '127.0.0.1', port }], tsigKey: KEY, ackTimeoutMs: 500, retryDelayMs: 200 });
  await notifier.start();
  cleanups.push(() => notifier.close());

  // ACME TXT added: serial 2, NOTIFY, nsd transfers and serves it.
  table.setZone(zone({ serial: 2, txt: [{ name: `_acme-challenge.cdn.${APEX}`, value: 'tok-1' }] }));
  await until('nsd to serve the new TXT', nsd, async () => txtOf(await ask(`_acme-challenge.cdn.${APEX}`, 'TXT')).includes('tok-1'));

  // Edge address changed and TXT removed: serial 3.
  table.setZone(zone({ serial: 3, edgeIPv4: ['192.0.2.77'] }));
  await until('nsd to serve the new edge address', nsd, async () => aOf(await ask(`cdn.${APEX}`, 'A'))[0] === '192.0.2.77');
  assert.equal((await ask(`_acme-challenge.cdn.${APEX}`, 'TXT'))?.rcode, 'NXDOMAIN');
  assert.equal((await ask(`cdn.${OTHER_APEX}`, 'A'))?.rcode, 'NOERROR', 'the other zone is still served');

  await notifier.whenIdle();
  const stats = notifier.stats();
  assert.equal(stats.failed, 0);
  assert.ok(stats.acknowledged >= 2, `NOTIFY acknowledged (signed by nsd): ${JSON.stringify(stats)}`);
});
