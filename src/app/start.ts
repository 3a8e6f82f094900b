import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { EventBus, systemClock, type AppEventMap, type Clock, type Hostname } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { DnsServer, ZoneTable } from '../dns/index.ts';
import { createAcmeIssuer, createLocalCaIssuer, loadKeyCipher, type Issuer } from '../certs/index.ts';
import { createDelegationChecker } from '../delegation/index.ts';
import { CertCache, EdgeServer, HostRouter } from '../edge/index.ts';
import { createCdnHandler, loadAnalyticsBundle } from '../cdn/index.ts';
import { createIngestHandler } from '../ingest/index.ts';
import { createAdminHandler, createControl, DomainWorker, SourceDirectory, type Control } from '../control/index.ts';
import { resolveAdminToken } from './admin-token.ts';
import { EdgeSync } from './edge-sync.ts';
import { ZoneSync } from './zone-sync.ts';

/** A running firstparty process (all roles), as returned by {@link startFirstparty}. */
export interface Running {
  readonly config: Config;
  readonly store: Store;
  readonly control: Control;
  readonly events: EventBus<AppEventMap>;
  readonly adminToken: string;
  readonly adminUrl: string;
  readonly edge: { host: string; port: number };
  readonly dns: Array<{ host: string; port: number }>;
  /** PEM of the local CA root (signs the default hosts, and every certificate when no ACME CA is set). */
  readonly localCaRootPem: string;
  readonly localCaRootPath: string;
  /** Stops every role and closes the store; in reverse order of start. */
  close(): Promise<void>;
}

/** Options of {@link startFirstparty}; for tests and embedding. */
export interface StartOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Delays before issuance retries (ms); see DomainWorker. */
  readonly issuanceRetryMs?: readonly number[];
}

/**
 * Starts every role of firstparty in this process: store, DNS (UDP+TCP), HTTPS edge, admin API
 * and the background worker, wired as in DESIGN.md. Rejects (after closing what it opened) when a
 * listener cannot bind or a dependency cannot be loaded.
 */
export async function startFirstparty(config: Config, opts: StartOptions = {}): Promise<Running> {
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
  };
  try {
    const store = openSqliteStore(join(config.dataDir, 'firstparty.db'));
    closers.push(() => store.close());
    const events = new EventBus<AppEventMap>((err, event) => logger.error({ err, event }, 'event listener failed'));
    const cipher = loadKeyCipher({ dataDir: config.dataDir });
    const { token: adminToken } = resolveAdminToken(config.adminToken, config.dataDir);
    const localCa = await createLocalCaIssuer({ dataDir: config.dataDir, logger });

    const table = new ZoneTable();
    const zones = new ZoneSync({ store, table, events, now: () => clock.now(), settings: {
      nameservers: config.dns.nameservers, hostmaster: config.dns.hostmaster, edgeIPv4: config.edge.ipv4, edgeIPv6: config.edge.ipv6,
      caaIssuers: config.acme.caaIdentities,
    } });
    await zones.start();
    const dns = new DnsServer({ table, listen: config.dns.listen, logger });
    await dns.start();
    closers.push(() => dns.close());

    const issuer: Issuer = config.acme.directoryUrl
      ? createAcmeIssuer({
        directoryUrl: config.acme.directoryUrl, accounts: acmeAccounts(store, cipher), dns01: zones, logger,
        caaIdentities: [...config.acme.caaIdentities],
        ...(config.acme.caBundlePath ? { caBundlePem: readFileSync(config.acme.caBundlePath, 'utf8') } : {}),
        ...(config.acme.contactEmail ? { contactEmail: config.acme.contactEmail } : {}),
      })
      : localCa;

    const sources = new SourceDirectory();
    await sources.load(store.sources);
    const control = createControl({ store, clock, events, sources, settings: {
      customDomainPlans: config.customDomainPlans, cdnLabel: config.edge.cdnLabel, apiLabel: config.edge.apiLabel,
      nameservers: config.dns.nameservers, defaultCdnHost: config.edge.defaultCdnHost, defaultApiHost: config.edge.defaultApiHost,
    } });

    const certs = new CertCache();
    const router = new HostRouter();
    await new EdgeSync({ store, certs, router, cipher, events }).start();
    await installDefaultHosts(config, localCa, certs, router);
    const bundle = await loadAnalyticsBundle();
    const edge = new EdgeServer({
      certs, router, listen: config.edge.listen, logger,
      cdn: createCdnHandler({ sources, bundle, logger }) as never,
      api: createIngestHandler({ sources, log: store.events, clock, logger }, { trustedProxies: config.trustedProxies }) as never,
    });
    await edge.start();
    closers.push(() => edge.close());

    const admin = createServer(createAdminHandler({ control, adminToken, logger }));
    await listen(admin, config.admin.listen);
    closers.push(() => new Promise<void>((r) => admin.close(() => r())));

    const worker = new DomainWorker({
      control, store, clock, events, logger, issuer, cipher,
      delegation: createDelegationChecker({ resolver: config.delegation.resolver, clock }),
      target: { nameservers: config.dns.nameservers, ourServers: dns.addresses() },
      pollInitialMs: config.delegation.pollInitialMs, pollMaxMs: config.delegation.pollMaxMs,
      ...(opts.issuanceRetryMs ? { issuanceRetryMs: opts.issuanceRetryMs } : {}),
    });
    await worker.start();
    closers.push(() => worker.close());

    const adminAddr = admin.address() as AddressInfo;
    return {
      config, store, control, events, adminToken, close,
      adminUrl: `http://${formatHost(adminAddr.address)}:${adminAddr.port}`,
      edge: edge.address(), dns: dns.addresses(), localCaRootPem: localCa.rootPem, localCaRootPath: localCa.rootPath,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Serves the operator's default CDN/API hosts for every source, with a local-CA certificate. */
async function installDefaultHosts(config: Config, localCa: Issuer, certs: CertCache, router: HostRouter): Promise<void> {
  const names: Hostname[] = [config.edge.defaultCdnHost, config.edge.defaultApiHost];
  const cert = await localCa.issue(names);
  certs.install({ id: 'default', names, certPem: cert.certPem, chainPem: cert.chainPem, keyPem: cert.keyPem, notAfter: cert.notAfter });
  router.add({ kind: 'default', cdnHost: config.edge.defaultCdnHost, apiHost: config.edge.defaultApiHost });
}

function acmeAccounts(store: Store, cipher: ReturnType<typeof loadKeyCipher>) {
  return {
    async load(directoryUrl: string) {
      const a = await store.acmeAccounts.get(directoryUrl);
      return a ? { accountUrl: a.accountUrl, accountKeyPem: cipher.decrypt(a.keySealed) } : null;
    },
    async save(directoryUrl: string, v: { accountKeyPem: string; accountUrl: string }) {
      await store.acmeAccounts.put(directoryUrl, { accountUrl: v.accountUrl, keySealed: cipher.encrypt(v.accountKeyPem) });
    },
  };
}

function listen(server: Server, at: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
}

function formatHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
