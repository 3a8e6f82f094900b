import type { AppEvents, Clock, CustomDomain, DomainReason, Hostname } from '../core/index.ts';
import type { RenewalSchedule, Store } from '../store/index.ts';
import type { DelegationChecker } from '../delegation/index.ts';
import { CertManager, classifyCertFailure, type CaBudget, type Issuer, type KeyCipher } from '../certs/index.ts';
import type { Control } from './service.ts';

/** Minimal logger shape (pino-compatible). */
export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Dependencies and settings of {@link DomainWorker}. Durations in milliseconds. */
export interface DomainWorkerDeps {
  readonly control: Control;
  readonly store: Store;
  readonly clock: Clock;
  readonly events: AppEvents;
  readonly logger: WorkerLogger;
  readonly delegation: DelegationChecker;
  readonly issuer: Issuer;
  /** A second CA, used for a domain once the primary failed `fallbackAfterFailures` times (default 2). */
  readonly fallbackIssuer?: Issuer;
  readonly fallbackAfterFailures?: number;
  /** Our CA budget (default: Let's Encrypt's limits counted over the store's order journal). */
  readonly budget?: CaBudget;
  readonly cipher: KeyCipher;
  /** Our NS set and where our DNS server can be reached, for delegation checks. */
  readonly target: { readonly nameservers: readonly Hostname[]; readonly ourServers: readonly { host: string; port: number }[] };
  readonly pollInitialMs: number;
  readonly pollMaxMs: number;
  /** Delays before issuance retries, last one repeating (default 1 min, 10 min, 100 min, 1 day). */
  readonly issuanceRetryMs?: readonly number[];
  /** How often due work is looked for (default 250). */
  readonly tickMs?: number;
  /** Domains processed at once (default 16). */
  readonly concurrency?: number;
  /** Issuance attempts before the worker stops retrying a failed domain by itself (default 10: about 7 days). */
  readonly maxIssuanceAttempts?: number;
  /** Delays before renewal retries, last one repeating (default as issuance). */
  readonly renewalRetryMs?: readonly number[];
  /** How often certificates of removed domains are looked for, to revoke them (default 30 000). */
  readonly revocationSweepMs?: number;
}

const DEFAULT_ISSUANCE_RETRY_MS = [60_000, 600_000, 6_000_000, 86_400_000];
const DEFAULT_MAX_ISSUANCE_ATTEMPTS = 10;
/** While an order runs the domain is rescheduled this far ahead, so a crash resumes it later. */
const ISSUANCE_LEASE_MS = 600_000;

/**
 * The background worker that moves custom domains along their lifecycle and keeps their
 * certificates: it polls delegation with backoff (`awaiting_delegation → delegated`), orders a
 * certificate for both hosts (`delegated → issuing → active`, or `failed` with a retry time),
 * renews certificates from the persistent renewal schedule (the domain stays `active`, the old
 * certificate serving until the new one is installed) and revokes the certificates of removed
 * domains. Work is found through the store (`nextCheckAt`, the renewal schedule, the order
 * journal), not in-memory timers, so it survives restarts; one job per domain at a time.
 */
export class DomainWorker {
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private nextSweepAt = 0;
  private sweeping: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Certificate obtain/renew/revoke jobs. */
  readonly certs: CertManager;

  constructor(private readonly deps: DomainWorkerDeps) {
    this.certs = new CertManager({
      store: deps.store, clock: deps.clock, events: deps.events, cipher: deps.cipher, issuer: deps.issuer,
      logger: { info: (o, m) => deps.logger.info(asFields(o), m), warn: (o, m) => deps.logger.warn(asFields(o), m), error: (o, m) => deps.logger.error(asFields(o), m), debug: () => {} },
      ...(deps.fallbackIssuer ? { fallbackIssuer: deps.fallbackIssuer } : {}),
      ...(deps.fallbackAfterFailures === undefined ? {} : { fallbackAfterFailures: deps.fallbackAfterFailures }),
      ...(deps.budget ? { budget: deps.budget } : {}),
      ...(deps.renewalRetryMs ?? deps.issuanceRetryMs ? { renewalRetryMs: deps.renewalRetryMs ?? deps.issuanceRetryMs! } : {}),
    });
  }

  /**
   * Resumes orders interrupted by a previous stop, schedules renewal for any active domain that
   * has none, then starts polling for due work.
   */
  async start(): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    for (const d of await store.domains.listLive()) {
      if (d.state.kind === 'issuing') await store.domains.reschedule(d.id, now, d.checkAttempts);
      if (d.state.kind !== 'active' || await store.renewals.get(d.id)) continue;
      const cert = await store.certificates.currentFor(d.id);
      if (cert) await this.certs.schedule(d.id, cert);
    }
    this.unsubscribe = this.deps.events.on('domain.changed', ({ domain }) => {
      if (domain.state.kind === 'removed' || domain.state.kind === 'replaced') this.nextSweepAt = 0;
    });
    this.timer = setInterval(() => this.tick(), this.deps.tickMs ?? 250);
    this.timer.unref();
    this.tick();
  }

  /** Stops polling and waits for work in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.allSettled([...this.running, ...(this.sweeping ? [this.sweeping] : [])]);
  }

  /** Looks for due work now instead of at the next tick. */
  tick(): void {
    if (this.closed) return;
    this.sweepRevocations();
    const limit = this.deps.concurrency ?? 16;
    if (limit - this.inFlight.size <= 0) return;
    const now = this.deps.clock.now();
    Promise.all([this.deps.store.domains.listDue(now, limit), this.deps.store.renewals.listDue(now, limit)]).then(([due, renewals]) => {
      for (const d of due) this.run(d.id, () => this.process(d));
      for (const s of renewals) this.run(s.domainId, () => this.renew(s));
    }, (err: unknown) => this.deps.logger.error({ err }, 'cannot list due work'));
  }

  /** Runs `job` for a domain unless one is already running for it or the worker is full. */
  private run(domainId: string, job: () => Promise<void>): void {
    if (this.closed || this.inFlight.size >= (this.deps.concurrency ?? 16) || this.inFlight.has(domainId)) return;
    this.inFlight.add(domainId);
    const p = job()
      .catch((err: unknown) => this.deps.logger.error({ err, domainId }, 'domain work failed'))
      .finally(() => {
        this.inFlight.delete(domainId);
        this.running.delete(p);
      });
    this.running.add(p);
  }

  private renew(s: RenewalSchedule): Promise<void> {
    return this.certs.renew(s);
  }

  /** Revokes certificates of removed domains, at most every `revocationSweepMs` and soon after a removal. */
  private sweepRevocations(): void {
    // Wall-clock cadence: the sweep is housekeeping, independent of the (possibly fake) domain clock.
    const now = Date.now();
    if (this.sweeping !== null || now < this.nextSweepAt) return;
    this.nextSweepAt = now + (this.deps.revocationSweepMs ?? 30_000);
    this.sweeping = this.certs.revokeOrphans()
      .then(() => undefined, (err: unknown) => this.deps.logger.error({ err }, 'revocation sweep failed'))
      .finally(() => { this.sweeping = null; });
  }

  /** Advances one due domain by one or more steps. */
  async process(d: CustomDomain): Promise<void> {
    switch (d.state.kind) {
      case 'awaiting_delegation': {
        const next = await this.checkDelegation(d);
        if (next) await this.issue(next);
        return;
      }
      case 'delegated':
      case 'issuing':
      case 'failed':
        await this.issue(d);
        return;
      case 'active':
      case 'removed':
      case 'replaced':
        await this.deps.store.domains.reschedule(d.id, null, 0);
        return;
    }
  }

  private async checkDelegation(d: CustomDomain): Promise<CustomDomain | undefined> {
    const { delegation, target, clock } = this.deps;
    const verdict = await delegation.check({ zone: d.domain, nameservers: target.nameservers, ourServers: target.ourServers });
    if (verdict.delegated) {
      this.deps.events.emit('domain.delegation_checked', { domain: d, delegated: true, reason: null, message: 'delegated' });
      return this.deps.control.apply(d, { type: 'delegation_confirmed' }, { nextCheckAt: clock.now(), checkAttempts: 0 });
    }
    const attempts = d.checkAttempts + 1;
    const delay = Math.min(this.deps.pollMaxMs, Math.round(this.deps.pollInitialMs * 1.5 ** (attempts - 1)));
    const reason: DomainReason = verdict.reason === 'not_delegated' ? 'awaiting_ns_records' : verdict.reason;
    const lastCheck = { kind: 'awaiting_delegation' as const, lastCheck: { at: clock.now(), reason, message: verdict.message } };
    await this.deps.store.domains.reschedule(d.id, clock.now() + delay, attempts, lastCheck);
    this.deps.events.emit('domain.delegation_checked', { domain: d, delegated: false, reason, message: verdict.message });
    return undefined;
  }

  private async issue(d: CustomDomain): Promise<void> {
    const { control, clock } = this.deps;
    const previous = d.state.kind === 'failed' || d.state.kind === 'issuing' ? d.state.attempt : 0;
    const attempt = previous + 1;
    const issuing = await control.apply(d, { type: 'issuance_started', attempt }, { nextCheckAt: clock.now() + ISSUANCE_LEASE_MS, checkAttempts: 0 });
    if (!issuing) return; // another writer moved the domain; it will be looked at again
    const issuer = this.certs.issuerFor(previous, d.state.kind === 'failed' ? d.state.reason : null);
    try {
      const stored = await this.certs.obtain(issuing, issuer, null);
      this.deps.events.emit('cert.obtained', { domain: issuing, certificate: stored });
      await control.apply(issuing, { type: 'certificate_installed' }, { nextCheckAt: null, checkAttempts: 0 });
      this.deps.logger.info({ domain: d.domain, serial: stored.serialHex, issuer: issuer.id }, 'certificate issued; custom domain active');
    } catch (err) {
      await this.failIssuance(issuing, attempt, err);
    }
  }

  /**
   * Records a failed issuance on the domain with its reason code and the next try: exactly the
   * CA's `Retry-After` when it sent one, else the backoff schedule; after `maxIssuanceAttempts`
   * the domain stays `failed` with no next try until someone acts (terminal until retried).
   */
  private async failIssuance(d: CustomDomain, attempt: number, err: unknown): Promise<void> {
    const delays = this.deps.issuanceRetryMs ?? DEFAULT_ISSUANCE_RETRY_MS;
    const { reason, retryAfterMs } = classifyIssuanceError(err);
    const retryAt = this.deps.clock.now() + (retryAfterMs ?? delays[Math.min(attempt - 1, delays.length - 1)]!);
    const givenUp = attempt >= (this.deps.maxIssuanceAttempts ?? DEFAULT_MAX_ISSUANCE_ATTEMPTS);
    const message = (err instanceof Error ? err.message : String(err)) + (givenUp ? ` (gave up after ${attempt} attempts)` : '');
    this.deps.logger.warn({ err, domain: d.domain, reason, retryAt, givenUp }, 'certificate issuance failed');
    this.deps.events.emit('cert.failed', { domain: d, reason, message, retryAt, phase: 'issuance' });
    await this.deps.control.apply(d, { type: 'issuance_failed', reason, message, retryAt, attempt }, { nextCheckAt: givenUp ? null : retryAt, checkAttempts: 0 });
  }
}

/** Maps an issuer error to the domain's reason code and an optional CA-imposed wait (see `classifyCertFailure`). */
export function classifyIssuanceError(err: unknown): { reason: DomainReason; retryAfterMs?: number } {
  const { reason, retryAfterMs } = classifyCertFailure(err);
  return retryAfterMs === undefined ? { reason } : { reason, retryAfterMs };
}

function asFields(o: object | string): object {
  return typeof o === 'string' ? { msg: o } : o;
}
