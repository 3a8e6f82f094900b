import type { AppEvents, CustomDomain, StoredCertificate } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { KeyCipher } from '../certs/index.ts';
import type { CertCache, HostRouter } from '../edge/index.ts';

/**
 * Keeps the edge's in-memory certificates and host routes equal to the store: a custom domain's
 * hosts are served once it is active with a valid certificate, and stop being served when it is
 * removed or replaced. Certificate changes reach the edge without a restart.
 */
export class EdgeSync {
  constructor(private readonly deps: { store: Store; certs: CertCache; router: HostRouter; cipher: KeyCipher; events: AppEvents; removalGraceMs?: number }) {}

  /** Loads every active domain's certificate, then follows certificate and domain events. */
  async start(): Promise<void> {
    const { store, events } = this.deps;
    for (const d of await store.domains.listLive()) {
      const cert = await store.certificates.currentFor(d.id);
      if (cert) this.installCert(cert);
      if (d.state.kind === 'active') this.route(d);
    }
    events.on('cert.obtained', ({ certificate }) => this.installCert(certificate));
    // A renewed certificate replaces the old one for new handshakes; open connections keep theirs.
    events.on('cert.renewed', ({ certificate }) => this.installCert(certificate));
    events.on('domain.changed', ({ domain }) => this.onDomainChanged(domain));
  }

  private onDomainChanged(d: CustomDomain): void {
    if (d.state.kind === 'active') this.route(d);
    if (d.state.kind === 'removed' || d.state.kind === 'replaced') {
      // Hosts keep answering for the grace period, so clients holding the old snippet finish sending.
      const timer = setTimeout(() => this.unroute(d), this.deps.removalGraceMs ?? 0);
      timer.unref();
    }
  }

  /** Stops serving a domain's hosts, unless a newer domain of the same name serves them by now. */
  private unroute(d: CustomDomain): void {
    const current = this.deps.router.get(d.hosts.cdn)?.scope;
    if (current && (current.kind !== 'custom' || current.domainId !== d.id)) return;
    this.deps.router.remove({ cdnHost: d.hosts.cdn, apiHost: d.hosts.api });
    this.deps.certs.remove([d.hosts.cdn, d.hosts.api]);
  }

  private route(d: CustomDomain): void {
    this.deps.router.add({ kind: 'custom', domainId: d.id, cdnHost: d.hosts.cdn, apiHost: d.hosts.api, sourceIds: new Set(d.sourceIds) });
  }

  private installCert(c: StoredCertificate): void {
    this.deps.certs.install({ id: c.id, names: c.names, certPem: c.certPem, chainPem: c.chainPem, keyPem: this.deps.cipher.decrypt(c.keySealed), notAfter: c.notAfter });
  }
}
