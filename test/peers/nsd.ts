import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { probeDns, soaSerial } from './dns-probe.ts';
import { findBinary, makeTempDir, removeTempDir, spawnManaged, waitUntil, type ManagedProcess } from './process.ts';
import { serialOf } from './zone.ts';

/** A running nsd serving test zones from its own temp dir. */
export interface Nsd {
  readonly address: string;
  readonly port: number;
  /**
   * Writes the zone file (adding the zone when new) and reloads nsd; resolves once nsd serves the
   * zone text's SOA serial, so the text must carry a one-line SOA with a serial different from the
   * one being served (see `zoneText`).
   */
  setZone(name: string, zoneText: string): Promise<void>;
  /** Stops nsd by pid and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options of {@link startNsd}. */
export interface NsdOptions {
  address: string;
  port: number;
  zones: { name: string; text: string }[];
}

/**
 * Starts nsd (foreground, one server process, no chroot/user switch/database, response-rate
 * limiting off) on `address:port` serving `zones`; resolves once every zone's SOA serial is served.
 */
export async function startNsd(opts: NsdOptions): Promise<Nsd> {
  const binary = findBinary('nsd');
  if (binary === null) throw new Error('nsd is not installed');
  const dir = await makeTempDir('nsd');
  const zones = new Map<string, string>();
  const current: { proc: ManagedProcess | null } = { proc: null };
  const launch = async (): Promise<void> => {
    await writeFile(join(dir, 'nsd.conf'), nsdConf(dir, opts.address, opts.port, [...zones.keys()]));
    const proc = spawnManaged('nsd', binary, ['-d', '-c', join(dir, 'nsd.conf')], { cwd: dir });
    current.proc = proc;
    for (const [name, text] of zones) await waitForSerial(proc, opts.address, opts.port, name, text);
  };
  try {
    for (const z of opts.zones) {
      zones.set(normalise(z.name), z.text);
      await writeFile(zoneFile(dir, z.name), z.text);
    }
    await launch();
  } catch (err) {
    await current.proc?.stop();
    await removeTempDir(dir);
    throw err;
  }
  return {
    address: opts.address,
    port: opts.port,
    setZone: async (name, text) => {
      const key = normalise(name);
      const known = zones.has(key);
      zones.set(key, text);
      await writeFile(zoneFile(dir, key), text);
      const running = current.proc;
      if (known && running !== null && !running.hasExited()) {
        // nsd(8): SIGHUP re-reads zone files whose modification time changed.
        process.kill(running.pid, 'SIGHUP');
        await waitForSerial(running, opts.address, opts.port, key, text);
        return;
      }
      // A new zone needs a new nsd.conf, which nsd only reads at start.
      await running?.stop();
      await launch();
    },
    stop: async () => {
      await current.proc?.stop();
      await removeTempDir(dir);
    },
  };
}

function normalise(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

function zoneFile(dir: string, name: string): string {
  return join(dir, `${normalise(name)}.zone`);
}

async function waitForSerial(proc: ManagedProcess, address: string, port: number, zone: string, text: string): Promise<void> {
  const want = serialOf(text);
  if (want === null) throw new Error(`zone ${zone}: text has no one-line SOA with a serial`);
  await waitUntil(
    `nsd to serve ${zone} with serial ${want}`,
    async () => soaSerial(await probeDns(address, port, zone, 'SOA')) === want,
    { proc, timeoutMs: 10_000 },
  );
}

function nsdConf(dir: string, address: string, port: number, zones: string[]): string {
  const q = (s: string): string => JSON.stringify(s);
  const server = [
    'server:',
    `  ip-address: ${address}@${port}`,
    `  port: ${port}`,
    '  do-ip6: no',
    '  server-count: 1',
    '  username: ""',
    '  chroot: ""',
    '  database: ""',
    `  zonesdir: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'nsd.pid'))}`,
    `  xfrdfile: ${q(join(dir, 'xfrd.state'))}`,
    `  xfrdir: ${q(dir)}`,
    `  zonelistfile: ${q(join(dir, 'zone.list'))}`,
    `  logfile: ${q(join(dir, 'nsd.log'))}`,
    // Debian's default response-rate limiting drops test queries (testbed.md).
    '  rrl-ratelimit: 0',
    '  verbosity: 1',
    'remote-control:',
    '  control-enable: no',
  ];
  const zoneBlocks = zones.flatMap((name) => ['zone:', `  name: ${q(name)}`, `  zonefile: ${q(`${name}.zone`)}`]);
  return `${[...server, ...zoneBlocks].join('\n')}\n`;
}
