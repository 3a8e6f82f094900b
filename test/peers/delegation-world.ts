import { startNsd, type Nsd } from './nsd.ts';
import { startPebble, type Pebble } from './pebble.ts';
import { freePort } from './process.ts';
import { startUnbound, type Unbound } from './unbound.ts';
import { zoneText } from './zone.ts';

/** Loopback addresses of one delegation world; each test file uses its own set (they run in parallel). */
export interface WorldAddresses {
  /** nsd serving the customer's parent zone `shop.test` and the operator's zone `firstparty.test` (port 53). */
  readonly parent: string;
  /** Where firstparty's two nameservers listen (port 53), published as ns1/ns2.firstparty.test. */
  readonly ns1: string;
  readonly ns2: string;
}

/** The real DNS world around firstparty: parent zone on nsd, unbound resolving, optionally Pebble. */
export interface DelegationWorld {
  readonly nsd: Nsd;
  readonly unbound: Unbound;
  readonly pebble: Pebble | null;
  readonly resolverPort: number;
  /**
   * The `FIRSTPARTY_*` settings that put firstparty into this world (nameservers on ns1/ns2:53,
   * this resolver, fast delegation polls, ephemeral admin and edge ports, Pebble when started).
   */
  firstpartyEnv(dataDir: string): Record<string, string>;
  /** Adds (or with `false`, removes) the NS records of `cdp.shop.test` at the parent; resolves once nsd serves them. */
  delegate(on?: boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts nsd on `addresses.parent:53` serving `shop.test` (with `www` and no delegation yet) and
 * `firstparty.test` (glue for ns1/ns2), unbound on a free loopback port with stub zones for both,
 * and — when `pebble` is set — Pebble validating through that resolver. Needs root (port 53).
 */
export async function startDelegationWorld(addresses: WorldAddresses, opts: { pebble?: boolean } = {}): Promise<DelegationWorld> {
  const { parent, ns1, ns2 } = addresses;
  const shopZone = (records: string[]) => zoneText('shop.test', [`ns IN A ${parent}`, 'www IN A 127.0.0.1', ...records]);
  const nsd = await startNsd({ address: parent, port: 53, zones: [
    { name: 'shop.test', text: shopZone([]) },
    { name: 'firstparty.test', text: zoneText('firstparty.test', [`ns IN A ${parent}`, `ns1 IN A ${ns1}`, `ns2 IN A ${ns2}`]) },
  ] });
  const stops: Array<() => Promise<void>> = [() => nsd.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const resolverPort = await freePort();
    const unbound = await startUnbound({ address: '127.0.0.1', port: resolverPort, stubZones: [
      { name: 'shop.test', addrs: [parent] }, { name: 'firstparty.test', addrs: [parent] },
    ] });
    stops.push(() => unbound.stop());
    const pebble = opts.pebble ? await startPebble({ dnsServer: `127.0.0.1:${resolverPort}` }) : null;
    if (pebble) stops.push(() => pebble.stop());
    return {
      nsd, unbound, pebble, resolverPort, stop,
      firstpartyEnv: (dataDir) => ({
        FIRSTPARTY_DATA_DIR: dataDir, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:0', FIRSTPARTY_EDGE_LISTEN: '127.0.0.1:0',
        FIRSTPARTY_DNS_LISTEN: `${ns1}:53,${ns2}:53`, FIRSTPARTY_NAMESERVERS: 'ns1.firstparty.test,ns2.firstparty.test',
        FIRSTPARTY_EDGE_IPV4: '127.0.0.1', FIRSTPARTY_RESOLVER: `127.0.0.1:${resolverPort}`,
        FIRSTPARTY_DELEGATION_POLL_MS: '300', FIRSTPARTY_DELEGATION_POLL_MAX_MS: '1000',
        ...(pebble ? { FIRSTPARTY_ACME_DIRECTORY: pebble.directoryUrl, FIRSTPARTY_ACME_CA_BUNDLE: pebble.tlsCaPath } : {}),
      }),
      delegate: (on = true) => nsd.setZone('shop.test', shopZone(on ? ['cdp IN NS ns1.firstparty.test.', 'cdp IN NS ns2.firstparty.test.'] : [])),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
