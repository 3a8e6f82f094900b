import { AppError, type AppEvents, type Clock, type CustomDomain, type DomainReason, type Hostname } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { DelegationChecker } from '../delegation/index.ts';
import type { Issuer, KeyCipher } from '../certs/index.ts';
import { newId } from './ids.ts';
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
}

const DEFAULT_ISSUANCE_RETRY_MS = [60_000, 600_000, 6_000_000, 86_400_000];
/** While an order runs the domain is rescheduled this far ahead, so a crash resumes it later. */
const ISSUANCE_LEASE_MS = 600_000;

/**
 * The background worker that moves custom domains along their lifecycle: it polls delegation with
 * backoff (`awaiting_delegation → delegated`), then orders a certificate for both hosts
 * (`delegated → issuing → active`, or `failed` with a retry time). Work is found through the
 * store's persistent schedule (`nextCheckAt`), not in-memory timers, so it survives restarts.
 */
export class DomainWorker {
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: DomainWorkerDeps) {}

  /** Resumes orders interrupted by a previous stop, then starts polling for due work. */
  async start(): Promise<void> {
    const now = this.deps.clock.now();
    for (const d of await this.deps.store.domains.listLive()) {
      if (d.state.kind === 'issuing') await this.deps.store.domains.reschedule(d.id, now, d.checkAttempts);
    }
    this.timer = setInterval(() => this.tick(), this.deps.tickMs ?? 250);
    this.timer.unref();
    this.tick();
  }

  /** Stops polling and waits for work in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.running]);
  }

  /** Looks for due work now instead of at the next tick. */
  tick(): void {
    if (this.closed) return;
    const free = (this.deps.concurrency ?? 16) - this.inFlight.size;
    if (free <= 0) return;
    this.deps.store.domains.listDue(this.deps.clock.now(), free + this.inFlight.size).then((due) => {
      for (const d of due) {
        if (this.inFlight.size >= (this.deps.concurrency ?? 16) || this.inFlight.has(d.id)) continue;
        this.inFlight.add(d.id);
        const p = this.process(d)
          .catch((err: unknown) => this.deps.logger.error({ err, domain: d.domain }, 'domain work failed'))
          .finally(() => {
            this.inFlight.delete(d.id);
            this.running.delete(p);
          });
        this.running.add(p);
      }
    }, (err: unknown) => this.deps.logger.error({ err }, 'cannot list due domains'));
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
    const { control, clock, issuer } = this.deps;
    const attempt = (d.state.kind === 'failed' || d.state.kind === 'issuing' ? d.state.attempt : 0) + 1;
    const issuing = await control.apply(d, { type: 'issuance_started', attempt }, { nextCheckAt: clock.now() + ISSUANCE_LEASE_MS, checkAttempts: 0 });
    if (!issuing) return; // another writer moved the domain; it will be looked at again
    try {
      const cert = await issuer.issue([d.hosts.cdn, d.hosts.api]);
      const stored = {
        id: newId('crt'), domainId: d.id, names: cert.names, status: 'valid' as const, issuerKind: cert.issuerKind,
        issuer: cert.issuer, directoryUrl: cert.directoryUrl ?? null, serialHex: cert.serialHex, notBefore: cert.notBefore,
        notAfter: cert.notAfter, certPem: cert.certPem, chainPem: cert.chainPem, keySealed: this.deps.cipher.encrypt(cert.keyPem),
        createdAt: clock.now(),
      };
      await this.deps.store.certificates.putValid(stored);
      this.deps.events.emit('cert.obtained', { domain: issuing, certificate: stored });
      await control.apply(issuing, { type: 'certificate_installed' }, { nextCheckAt: null, checkAttempts: 0 });
      this.deps.logger.info({ domain: d.domain, serial: cert.serialHex }, 'certificate issued; custom domain active');
    } catch (err) {
      await this.failIssuance(issuing, attempt, err);
    }
  }

  private async failIssuance(d: CustomDomain, attempt: number, err: unknown): Promise<void> {
    const delays = this.deps.issuanceRetryMs ?? DEFAULT_ISSUANCE_RETRY_MS;
    const { reason, retryAfterMs } = classifyIssuanceError(err);
    const retryAt = this.deps.clock.now() + (retryAfterMs ?? delays[Math.min(attempt - 1, delays.length - 1)]!);
    const message = err instanceof Error ? err.message : String(err);
    this.deps.logger.warn({ err, domain: d.domain, reason, retryAt }, 'certificate issuance failed');
    this.deps.events.emit('cert.failed', { domain: d, reason, message, retryAt });
    await this.deps.control.apply(d, { type: 'issuance_failed', reason, message, retryAt, attempt }, { nextCheckAt: retryAt, checkAttempts: 0 });
  }
}

/** Maps an issuer error to the domain's reason code and an optional CA-imposed wait. */
export function classifyIssuanceError(err: unknown): { reason: DomainReason; retryAfterMs?: number } {
  if (!(err instanceof AppError)) return { reason: 'issuance_failed' };
  const retryAfterMs = typeof err.details?.retryAfterMs === 'number' ? err.details.retryAfterMs : undefined;
  switch (err.code) {
    case 'ERR_CERTS_ACME_RATE_LIMITED':
      return retryAfterMs === undefined ? { reason: 'ca_rate_limited' } : { reason: 'ca_rate_limited', retryAfterMs };
    case 'ERR_CERTS_ACME_CAA':
      return { reason: 'caa_forbids' };
    case 'ERR_CERTS_ACME_DNS':
    case 'ERR_CERTS_ACME_UNAUTHORIZED':
      return { reason: 'dns_validation_failed' };
    default:
      return { reason: 'issuance_failed' };
  }
}
