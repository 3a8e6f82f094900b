import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { AppError, EventBus, systemClock, type AppEventMap, type Clock, type Hostname } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { renderDnsPrometheus } from '../dns/index.ts';
import { createAcmeIssuer, createLocalCaIssuer, loadKeyCipher, resealSecrets, type Issuer } from '../certs/index.ts';
import { createDelegationChecker } from '../delegation/index.ts';
import { CertCache, createMetricsHook, HostRouter, listenOn } from '../edge/index.ts';
import {
  createAdminHandler, createControl, createDiagnoser, createResolverDns, DomainWorker, SourceDirectory, WebhookDispatcher, type Control,
} from '../control/index.ts';
import { resolveAdminToken } from './admin-token.ts';
import { AppErrors } from './errors.ts';
import type { HandoverSource, SuccessorStart } from './handover.ts';
import { CertMetrics } from './cert-metrics.ts';
import { EdgeSync } from './edge-sync.ts';
import { withEventStream } from './event-stream-route.ts';
import { startDnsRole } from './dns-role.ts';
import { startEdgeRole } from './edge-role.ts';

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
  /** This process's side of a zero-downtime restart (see `handOver` in handover.ts). */
  readonly handover: HandoverSource;
}

/** Options of {@link startFirstparty}; for tests and embedding. */
export interface StartOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Delays before issuance retries (ms); see DomainWorker. */
  readonly issuanceRetryMs?: readonly number[];
  /** Start as the successor of a running process: serve on its listeners, bind DNS and run the worker once it released them. */
  readonly successor?: SuccessorStart;
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
    const store = openSqliteStore(join(config.dataDir, 'firstparty.db'), { dedupWindowEvents: config.ingest.dedupWindowEvents, startWriter: true });
    closers.push(() => store.close());
    const events = new EventBus<AppEventMap>((err, event) => logger.error({ err, event }, 'event listener failed'));
    const certMetrics = new CertMetrics(events);
    const cipher = loadKeyCipher({
      dataDir: config.dataDir, previousKeys: config.keys.previousMasterKeys,
      ...(config.keys.masterKey ? { masterKey: config.keys.masterKey } : {}),
    });
    // Master-key rotation: whatever an earlier key sealed is sealed again with the current one.
    const resealed = await resealSecrets(store.certRecords, cipher);
    if (resealed > 0) logger.info({ resealed, keyId: cipher.keyId }, 're-sealed private keys with the current master key');
    const { token: adminToken } = resolveAdminToken(config.adminToken, config.dataDir);
    const localCa = await createLocalCaIssuer({ dataDir: config.dataDir, logger });

    const successor = opts.successor;
    const { zones, dns, addresses: dnsAddresses } = await startDnsRole({ config, store, events, clock, logger, successor, closers });

    const acmeIssuer = (directoryUrl: string): Issuer => createAcmeIssuer({
      directoryUrl, accounts: acmeAccounts(store, cipher), dns01: zones, logger,
      caaIdentities: [...config.acme.caaIdentities],
      ...(config.acme.caBundlePath ? { caBundlePem: readFileSync(config.acme.caBundlePath, 'utf8') } : {}),
      ...(config.acme.contactEmail ? { contactEmail: config.acme.contactEmail } : {}),
    });
    const issuer: Issuer = config.acme.directoryUrl ? acmeIssuer(config.acme.directoryUrl) : localCa;
    const fallbackIssuer = config.acme.fallbackDirectoryUrl ? acmeIssuer(config.acme.fallbackDirectoryUrl) : null;

    const sources = new SourceDirectory();
    await sources.load(store.sources);
    const checker = createDelegationChecker({ resolver: config.delegation.resolver, clock });
    const dnsTarget = { resolver: config.delegation.resolver, checker, nameservers: config.dns.nameservers, ourServers: dnsAddresses };
    const control = createControl({ store, clock, events, sources, logger, settings: {
      customDomainPlans: config.customDomainPlans, cdnLabel: config.edge.cdnLabel, apiLabel: config.edge.apiLabel,
      nameservers: config.dns.nameservers, defaultCdnHost: config.edge.defaultCdnHost, defaultApiHost: config.edge.defaultApiHost,
    },
    dns: createResolverDns(dnsTarget),
    diagnoser: createDiagnoser({ ...dnsTarget, edge: () => edge.address(), caaIdentities: config.acme.caaIdentities, now: () => clock.now() }),
    });
    const startWebhooks = () => {
      const w = new WebhookDispatcher({ store, clock, events, logger, allowPrivateTargets: config.webhookAllowPrivate });
      w.start();
      return w;
    };
    let webhooks = startWebhooks();
    closers.push(() => webhooks.close());

    const certs = new CertCache();
    const router = new HostRouter();
    await new EdgeSync({ store, certs, router, cipher, events, removalGraceMs: config.removalGraceMs }).start();
    await installDefaultHosts(config, localCa, certs, router);
    const { edge, plain, tail } = await startEdgeRole({ config, store, clock, logger, sources, certs, router, successor, closers });

    const adminHandler = withEventStream(createAdminHandler({ control, store, clock, adminToken, logger, allowPrivateWebhookTargets: config.webhookAllowPrivate }), { control, store, adminToken, tail });
    const metrics = createMetricsHook({ render: () => edge.metrics.render() + renderDnsPrometheus(dns.metrics()) + certMetrics.render() });
    // Prometheus text at /metrics, unauthenticated: keep the admin listener on a private address.
    // While a restart is under way admin changes are refused: the successor has loaded its state.
    let refuseChanges = false;
    const admin = createServer((req, res) => metrics(req, res) || (refuseChanges && refuseChange(req, res)) || adminHandler(req, res));
    await listenOn(admin, { at: config.admin.listen, inherited: successor?.listeners.admin }, AppErrors.ADMIN_LISTEN_FAILED, 'the admin API');
    closers.push(() => new Promise<void>((r) => admin.close(() => r())));
    // Closed before the admin server (closers run in reverse): open streams would keep it waiting.
    closers.push(async () => tail.close());

    if (successor) {
      await successor.takeOver();
      await dns.start();
    }
    const startWorker = async () => {
      const w = new DomainWorker({
      control, store, clock, events, logger, issuer, cipher,
      delegation: checker,
      target: { nameservers: config.dns.nameservers, ourServers: dnsAddresses },
      pollInitialMs: config.delegation.pollInitialMs, pollMaxMs: config.delegation.pollMaxMs,
      ...(opts.issuanceRetryMs ? { issuanceRetryMs: opts.issuanceRetryMs } : {}),
      ...(fallbackIssuer ? { fallbackIssuer } : {}),
      });
      await w.start();
      return w;
    };
    let worker = await startWorker();
    closers.push(() => worker.close());

    const handover: HandoverSource = {
      listeners: () => ({ servers: { edge: edge.listener() ?? undefined, http: plain?.listener() ?? undefined, admin }, dns: dns.addresses() }),
      pauseBackground: async () => {
        refuseChanges = true;
        await worker.close();
        await webhooks.close();
      },
      resumeBackground: async () => {
        webhooks = startWebhooks();
        worker = await startWorker();
        refuseChanges = false;
      },
      release: (graceMs) => {
        const drained = Promise.all([edge.close(graceMs), plain?.close()]).then(() => undefined);
        admin.close();
        admin.closeIdleConnections();
        return { released: dns.close(), drained };
      },
    };

    const adminAddr = admin.address() as AddressInfo;
    return {
      config, store, control, events, adminToken, close, handover,
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

/** Answers an admin change (any method but GET/HEAD) with 503 and `Retry-After` during a restart; false otherwise. */
function refuseChange(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const e = new AppError(AppErrors.RESTARTING);
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  res.writeHead(e.httpStatus, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '2', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}

function formatHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
