import type { Logger } from 'pino';
import type { AppEvents, Clock } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Store } from '../store/index.ts';
import { DnsServer, Notifier, parseTsigKey, ZoneTable } from '../dns/index.ts';
import type { SuccessorStart } from './handover.ts';
import { ZoneSync } from './zone-sync.ts';

/** The DNS role as wired: zones kept equal to the store, the server, and where it can be reached. */
export interface DnsRole {
  readonly zones: ZoneSync;
  readonly dns: DnsServer;
  /** Where our servers answer (for delegation checks), known before a successor binds them. */
  readonly addresses: ReadonlyArray<{ host: string; port: number }>;
}

/**
 * Loads every zone into memory and starts the authoritative server (UDP+TCP) with transfers,
 * response-rate limiting and, when secondaries are configured, NOTIFY on every change. A
 * successor does not bind yet: it binds once its predecessor released the ports.
 * Registers what it starts in `closers`.
 */
export async function startDnsRole(deps: { config: Config; store: Store; events: AppEvents; clock: Clock; logger: Logger; successor: SuccessorStart | undefined;
  closers: Array<() => Promise<void>> }): Promise<DnsRole> {
  const { config, store, events, clock, logger, successor, closers } = deps;
  const table = new ZoneTable();
  const zones = new ZoneSync({ store, table, events, now: () => clock.now(), removalGraceMs: config.removalGraceMs, settings: {
    nameservers: config.dns.nameservers, hostmaster: config.dns.hostmaster, edgeIPv4: config.edge.ipv4, edgeIPv6: config.edge.ipv6,
    caaIssuers: config.acme.caaIdentities,
  } });
  await zones.start();
  const tsigKey = config.dns.tsigKey ? parseTsigKey(`${config.dns.tsigKey.name}:${config.dns.tsigKey.secretBase64}`) : undefined;
  const listen = successor ? successor.listeners.dns : config.dns.listen;
  const dns = new DnsServer({
    table, listen, logger,
    transfer: { allow: config.dns.axfrAllow, tsigKeys: tsigKey ? [tsigKey] : [] },
    rrl: { responsesPerSecond: config.dns.rrlResponsesPerSecond },
  });
  if (!successor) await dns.start();
  closers.push(() => dns.close());
  if (config.dns.secondaries.length > 0) {
    // RFC 1996: every serial change is announced; at start every zone once, as secondaries may be behind.
    const notifier = new Notifier({ table, secondaries: config.dns.secondaries, logger, ...(tsigKey ? { tsigKey } : {}) });
    await notifier.start();
    closers.push(() => notifier.close());
    for (const apex of table.apexes()) notifier.announce(table.getZone(apex)!);
  }
  return { zones, dns, addresses: successor ? [...listen] : dns.addresses() };
}
