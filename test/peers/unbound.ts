import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { probeDns } from './dns-probe.ts';
import { findBinary, makeTempDir, removeTempDir, spawnManaged, waitUntil, type ManagedProcess } from './process.ts';

/** A running unbound recursive resolver. */
export interface Unbound {
  readonly address: string;
  readonly port: number;
  /** Stops unbound by pid and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options of {@link startUnbound}. */
export interface UnboundOptions {
  address: string;
  port: number;
  /** Zones resolved by asking these authoritative servers (`"127.0.0.10"` or `"127.0.0.10@5300"`). */
  stubZones: { name: string; addrs: string[] }[];
}

/**
 * Starts unbound in the foreground as a resolver on `address:port` with the given stub zones,
 * configured for tests (testbed.md): loopback servers may be queried, `.test` is not answered
 * locally, iterator only (no DNSSEC validation), nothing cached, no chroot/user switch/remote
 * control. Resolves once it answers a query.
 */
export async function startUnbound(opts: UnboundOptions): Promise<Unbound> {
  const binary = findBinary('unbound');
  if (binary === null) throw new Error('unbound is not installed');
  const dir = await makeTempDir('unbound');
  let proc: ManagedProcess | null = null;
  try {
    await writeFile(join(dir, 'unbound.conf'), unboundConf(dir, opts));
    proc = spawnManaged('unbound', binary, ['-d', '-c', join(dir, 'unbound.conf')], { cwd: dir });
    const started = proc;
    // `localhost` is one of unbound's built-in local zones, so this answers without any upstream.
    await waitUntil('unbound to answer', async () => (await probeDns(opts.address, opts.port, 'localhost', 'A', { recursionDesired: true })) !== null, {
      proc: started,
    });
  } catch (err) {
    await proc?.stop();
    await removeTempDir(dir);
    throw err;
  }
  const running = proc;
  return {
    address: opts.address,
    port: opts.port,
    stop: async () => {
      await running.stop();
      await removeTempDir(dir);
    },
  };
}

function unboundConf(dir: string, opts: UnboundOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'server:',
    `  interface: ${opts.address}@${opts.port}`,
    `  port: ${opts.port}`,
    '  do-ip6: no',
    '  num-threads: 1',
    '  so-reuseport: no',
    '  access-control: 127.0.0.0/8 allow',
    '  username: ""',
    '  chroot: ""',
    `  directory: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '  use-syslog: no',
    `  logfile: ${q(join(dir, 'unbound.log'))}`,
    '  verbosity: 1',
    '  module-config: "iterator"',
    // Stub servers live on 127.0.0.0/8, which unbound refuses to query by default.
    '  do-not-query-localhost: no',
    // Otherwise `.test` is answered NXDOMAIN locally (RFC 6761 §6.2 default local zone).
    '  local-zone: "test." nodefault',
    '  cache-max-ttl: 0',
    '  cache-max-negative-ttl: 0',
    // Keep probing servers that timed out, so a peer restarted by a test is used again at once.
    '  infra-keep-probing: yes',
    'remote-control:',
    '  control-enable: no',
  ];
  for (const stub of opts.stubZones) {
    lines.push('stub-zone:', `  name: ${q(stub.name)}`, ...stub.addrs.map((a) => `  stub-addr: ${a}`));
  }
  return `${lines.join('\n')}\n`;
}
