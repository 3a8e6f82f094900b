import { isAtOrBelow, parentOf, type AppEvents, type CustomDomain, type Hostname } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { buildCustomDomainZone, type ZoneTable } from '../dns/index.ts';
import type { Dns01Publisher } from '../certs/index.ts';

/** What every custom zone publishes besides its own hosts. */
export interface ZoneSettings {
  readonly nameservers: readonly Hostname[];
  readonly hostmaster: string;
  readonly edgeIPv4: readonly string[];
  readonly edgeIPv6: readonly string[];
  readonly caaIssuers: readonly string[];
}

/**
 * Keeps the DNS server's in-memory {@link ZoneTable} equal to the store: one zone per live custom
 * domain (from the moment it is requested, so our servers answer SOA for the delegation check),
 * with the open ACME challenges inside it. Also implements {@link Dns01Publisher}: a challenge is
 * persisted, the zone serial bumped and the zone rebuilt before `publish` resolves, so the record
 * is served by the next query.
 */
export class ZoneSync implements Dns01Publisher {
  /** Live domains by apex; claims never nest, so a name lies in at most one of them. */
  private readonly domains = new Map<string, CustomDomain>();
  private readonly challenges = new Map<string, Set<string>>();

  constructor(private readonly deps: { store: Store; table: ZoneTable; events: AppEvents; settings: ZoneSettings; now: () => number; removalGraceMs?: number }) {}

  /** Loads every live zone and open challenge, then follows domain events. */
  async start(): Promise<void> {
    for (const c of await this.deps.store.challenges.listAll()) this.addChallenge(c.name, c.value);
    for (const d of await this.deps.store.domains.listLive()) this.put(d);
    this.deps.events.on('domain.created', ({ domain }) => this.put(domain));
    this.deps.events.on('domain.changed', ({ domain }) => this.put(domain));
  }

  async publish(name: Hostname, value: string): Promise<void> {
    await this.deps.store.challenges.add(name, value, this.deps.now());
    this.addChallenge(name, value);
    await this.refreshZoneOf(name);
    this.deps.events.emit('challenge.published', { name, value });
  }

  async withdraw(name: Hostname, value: string): Promise<void> {
    await this.deps.store.challenges.remove(name, value);
    const set = this.challenges.get(name);
    set?.delete(value);
    if (set?.size === 0) this.challenges.delete(name);
    await this.refreshZoneOf(name);
    this.deps.events.emit('challenge.withdrawn', { name, value });
  }

  private addChallenge(name: string, value: string): void {
    const set = this.challenges.get(name) ?? new Set<string>();
    set.add(value);
    this.challenges.set(name, set);
  }

  private async refreshZoneOf(name: Hostname): Promise<void> {
    const d = this.zoneOf(name);
    if (!d) return;
    const serial = await this.deps.store.domains.bumpSerial(d.id);
    this.put({ ...d, zoneSerial: serial });
  }

  /** The live domain whose zone holds `name`: its apex is `name` or one of its ancestors. */
  private zoneOf(name: Hostname): CustomDomain | undefined {
    for (let at: Hostname | null = name; at !== null; at = parentOf(at)) {
      const d = this.domains.get(at);
      if (d) return d;
    }
    return undefined;
  }

  /** Builds (or removes, for terminal states) the zone of one domain. */
  private put(d: CustomDomain): void {
    if (d.state.kind === 'removed' || d.state.kind === 'replaced') {
      if (this.domains.get(d.domain)?.id === d.id) this.domains.delete(d.domain);
      // The zone is served for the grace period, then dropped unless the name was claimed again meanwhile.
      const timer = setTimeout(() => {
        if (!this.domains.has(d.domain)) this.deps.table.deleteZone(d.domain);
      }, this.deps.removalGraceMs ?? 0);
      timer.unref();
      return;
    }
    this.domains.set(d.domain, d);
    const s = this.deps.settings;
    const txt = [...this.challenges].filter(([name]) => isAtOrBelow(name, d.domain)).flatMap(([name, values]) => [...values].map((value) => ({ name, value })));
    this.deps.table.setZone(buildCustomDomainZone({
      apex: d.domain, serial: d.zoneSerial, nameservers: s.nameservers, hosts: [d.hosts.cdn, d.hosts.api],
      edgeIPv4: s.edgeIPv4, edgeIPv6: s.edgeIPv6, caaIssuers: s.caaIssuers, txt, hostmaster: s.hostmaster,
    }));
  }
}
