import { randomBytes } from 'node:crypto';
import { AppError, type AppEvents, type Clock, type CustomDomain, type Hostname, type StoredCertificate } from '../core/index.ts';
import type { AcmeOrderRecord, RenewalSchedule, Store } from '../store/index.ts';
import { CaBudget, namesKey } from './ca-budget.ts';
import { CertsErrors } from './errors.ts';
import type { KeyCipher } from './key-cipher.ts';
import { classifyCertFailure, reasonInfo, type CertFailure } from './reasons.ts';
import { ariCertId, type RenewalWindow } from './renewal-info.ts';
import { planRenewal } from './renewal-policy.ts';
import { silentLogger, type Issuer, type Logger, type OrderJournal } from './types.ts';

/** Dependencies and settings of {@link CertManager}. Durations in milliseconds. */
export interface CertManagerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly events: AppEvents;
  readonly cipher: KeyCipher;
  readonly issuer: Issuer;
  /** A second CA used once the primary failed `fallbackAfterFailures` times in a row for a domain. */
  readonly fallbackIssuer?: Issuer;
  /** Consecutive failures (not the customer's to fix) before the fallback CA is used (default 2). */
  readonly fallbackAfterFailures?: number;
  /** Our own CA budget (default: Let's Encrypt's limits over the store's order journal). */
  readonly budget?: CaBudget;
  /** Delays between renewal attempts, last one repeating (default 1 min, 10 min, 100 min, 1 day). */
  readonly renewalRetryMs?: readonly number[];
  readonly logger?: Logger;
  /** [0, 1) source for renewal jitter (default Math.random). */
  readonly random?: () => number;
}

/** RFC 5280 §5.3.1 CRLReason cessationOfOperation: the names are no longer served by us. */
export const REVOCATION_CESSATION_OF_OPERATION = 5;
const DEFAULT_RENEWAL_RETRY_MS = [60_000, 600_000, 6_000_000, 86_400_000];

/**
 * Obtains, renews and revokes the certificates of custom domains, with every step persisted:
 * orders are journaled before they are created (one open order per name set, resumed after a
 * crash), each domain's renewal is a row in the renewal schedule (ARI when the CA offers it, else
 * the lifetime rule), the CA budget is checked before any new order, and a primary CA that keeps
 * failing is replaced by the fallback CA for that domain. Safe to call for different domains
 * concurrently; callers never run two jobs for one domain at once.
 */
export class CertManager {
  private readonly logger: Logger;
  private readonly budget: CaBudget;

  constructor(private readonly deps: CertManagerDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.budget = deps.budget ?? new CaBudget(deps.store.acmeOrders);
  }

  /**
   * The issuer for a domain's next attempt after `failures` consecutive failures, the last for
   * `lastReason`: the fallback CA once the primary failed often enough for reasons the customer
   * cannot fix (a CAA record or broken delegation would fail on any CA).
   */
  issuerFor(failures: number, lastReason: CertFailure['reason'] | null): Issuer {
    const { fallbackIssuer, fallbackAfterFailures = 2 } = this.deps;
    if (fallbackIssuer === undefined || lastReason === null || failures < fallbackAfterFailures) return this.deps.issuer;
    return reasonInfo(lastReason).actor === 'customer' ? this.deps.issuer : fallbackIssuer;
  }

  /**
   * Obtains and stores a certificate for both hosts of `d` from `issuer`, then schedules its
   * renewal. `current` is the certificate being renewed (sent as `replaces` when the same CA
   * offers ARI, dropped when switching CA). Throws the issuer's catalogue error, or
   * `ERR_CERTS_BUDGET_EXHAUSTED` before any order when our budget is spent.
   */
  async obtain(d: CustomDomain, issuer: Issuer, current: StoredCertificate | null): Promise<StoredCertificate> {
    const names: Hostname[] = [d.hosts.cdn, d.hosts.api];
    const replaces = current !== null && current.directoryUrl === issuer.id && (await this.deps.store.renewals.get(d.id))?.windowStart != null
      ? ariCertId(current.certPem) ?? undefined : undefined;
    const { order, resume } = await this.openOrder(d, names, issuer, current === null ? 'issue' : 'renew', replaces ?? null);
    try {
      const issued = await issuer.issue(names, {
        journal: this.journal(order.id),
        ...(replaces === undefined ? {} : { replaces }),
        ...(resume === undefined ? {} : { resume }),
      });
      const stored: StoredCertificate = {
        id: `crt_${randomBytes(12).toString('hex')}`, domainId: d.id, names: issued.names, status: 'valid', issuerKind: issued.issuerKind,
        issuer: issued.issuer, directoryUrl: issued.directoryUrl ?? issuer.id, serialHex: issued.serialHex, notBefore: issued.notBefore,
        notAfter: issued.notAfter, certPem: issued.certPem, chainPem: issued.chainPem, keySealed: this.deps.cipher.encrypt(issued.keyPem),
        createdAt: this.deps.clock.now(),
      };
      await this.deps.store.certificates.putValid(stored);
      await this.deps.store.acmeOrders.finish(order.id, 'valid', this.deps.clock.now(), { certificateId: stored.id });
      await this.schedule(d.id, stored, issuer);
      return stored;
    } catch (err) {
      await this.deps.store.acmeOrders.finish(order.id, 'failed', this.deps.clock.now(), { errorCode: err instanceof AppError ? err.code : 'ERR_UNEXPECTED' });
      throw err;
    }
  }

  /**
   * Journals the order before it exists at the CA. An order already open for these names is one
   * a stopped process left behind (this process never runs two jobs for a domain): it is resumed
   * when it was on the same CA, else abandoned. A new order must fit the CA budget.
   */
  private async openOrder(d: CustomDomain, names: readonly Hostname[], issuer: Issuer, purpose: 'issue' | 'renew', replaces: string | null): Promise<{ order: AcmeOrderRecord; resume?: { orderUrl: string; keyPem: string | null } }> {
    const now = this.deps.clock.now();
    const record: AcmeOrderRecord = {
      id: `ord_${randomBytes(12).toString('hex')}`, domainId: d.id, namesKey: namesKey(names), directoryUrl: issuer.id, purpose, replaces,
      orderUrl: null, keySealed: null, status: 'open', errorCode: null, certificateId: null, createdAt: now, finishedAt: null,
    };
    const existing = (await this.deps.store.acmeOrders.listOpen()).find((o) => o.namesKey === record.namesKey);
    if (existing !== undefined && existing.domainId === d.id && existing.directoryUrl === issuer.id && existing.orderUrl !== null) {
      const keyPem = existing.keySealed === null ? null : this.deps.cipher.decrypt(existing.keySealed);
      this.logger.info({ domain: d.domain, orderUrl: existing.orderUrl }, 'resuming an order left open by a stopped process');
      return { order: existing, resume: { orderUrl: existing.orderUrl, keyPem } };
    }
    if (existing !== undefined) await this.deps.store.acmeOrders.finish(existing.id, 'abandoned', now);
    if (issuer.kind === 'acme') await this.budget.check(issuer.id, names, now, { replacing: replaces !== null });
    const opened = await this.deps.store.acmeOrders.open(record);
    if (!opened.ok) {
      throw new AppError(CertsErrors.ACME_FAILED, `another order for ${record.namesKey} is already open`, { details: { step: 'journal order', orderId: opened.existing.id } });
    }
    return { order: record };
  }

  private journal(orderId: string): OrderJournal {
    const orders = this.deps.store.acmeOrders;
    return {
      orderCreated: (orderUrl) => orders.update(orderId, { orderUrl }),
      keyCreated: (keyPem) => orders.update(orderId, { keySealed: this.deps.cipher.encrypt(keyPem) }),
    };
  }

  /**
   * (Re)computes the renewal schedule of `cert` (the domain's current certificate): asks the
   * CA's ARI for this very certificate, so no window of an older certificate is ever reused,
   * and falls back to the lifetime rule when there is no ARI or it cannot be fetched.
   */
  async schedule(domainId: string, cert: StoredCertificate, issuer: Issuer = this.issuerOf(cert)): Promise<RenewalSchedule> {
    const now = this.deps.clock.now();
    const window = await this.fetchWindow(issuer, cert);
    const plan = planRenewal(cert, window, now, this.deps.random);
    const s: RenewalSchedule = {
      domainId, certificateId: cert.id, renewAt: plan.renewAt, basis: plan.basis, windowStart: window?.start ?? null, windowEnd: window?.end ?? null,
      ariCheckedAt: window === null ? null : now, ariNextCheckAt: plan.ariNextCheckAt, attempts: 0, lastError: null, updatedAt: now,
    };
    await this.deps.store.renewals.put(s);
    return s;
  }

  private async fetchWindow(issuer: Issuer, cert: StoredCertificate): Promise<RenewalWindow | null> {
    if (issuer.renewalInfo === undefined || cert.directoryUrl !== issuer.id) return null;
    try {
      return await issuer.renewalInfo(cert.certPem);
    } catch (err) {
      // ARI is advisory (RFC 9773 §4.3): without it the lifetime rule still renews in time.
      this.logger.warn({ err, certificateId: cert.id }, 'ACME renewal info unavailable; using the lifetime rule');
      return null;
    }
  }

  /** The configured issuer that issued `cert` (by directory), else the primary. */
  private issuerOf(cert: StoredCertificate): Issuer {
    const { issuer, fallbackIssuer } = this.deps;
    if (cert.issuerKind === 'local') return issuer.kind === 'local' ? issuer : fallbackIssuer?.kind === 'local' ? fallbackIssuer : issuer;
    return [issuer, fallbackIssuer].find((i) => i?.id === cert.directoryUrl) ?? issuer;
  }

  /**
   * Runs a due renewal schedule: drops it when the domain is gone, recomputes it when it belongs
   * to an older certificate or ARI is due a re-check, renews when the time has come. On success
   * the new certificate supersedes the old one (which served until then) and `cert.renewed` is
   * emitted; on failure the schedule records the reason and retries with backoff (exactly at
   * the CA's `Retry-After` when rate-limited), and `cert.failed` is emitted with phase `renewal`.
   */
  async renew(s: RenewalSchedule): Promise<void> {
    const { store, clock } = this.deps;
    const d = await store.domains.get(s.domainId);
    const current = await store.certificates.currentFor(s.domainId);
    if (d === undefined || current === undefined || d.state.kind === 'removed' || d.state.kind === 'replaced') {
      await store.renewals.remove(s.domainId);
      return;
    }
    if (current.id !== s.certificateId) {
      await this.schedule(d.id, current);
      return;
    }
    const now = clock.now();
    if (s.renewAt > now) {
      await this.schedule(d.id, current); // only ARI was due: ask again, keep the lifetime backstop
      return;
    }
    const issuer = this.issuerFor(s.attempts, s.lastError?.reason as CertFailure['reason'] ?? null);
    try {
      const renewed = await this.obtain(d, issuer, current);
      this.logger.info({ domain: d.domain, serial: renewed.serialHex, previous: current.serialHex }, 'certificate renewed');
      this.deps.events.emit('cert.renewed', { domain: d, certificate: renewed, previous: current });
    } catch (err) {
      await this.renewalFailed(d, s, current, err);
    }
  }

  private async renewalFailed(d: CustomDomain, s: RenewalSchedule, current: StoredCertificate, err: unknown): Promise<void> {
    const now = this.deps.clock.now();
    const failure = classifyCertFailure(err);
    const attempts = s.attempts + 1;
    const delays = this.deps.renewalRetryMs ?? DEFAULT_RENEWAL_RETRY_MS;
    // A short-lived certificate cannot wait a day: retry at least four times before it expires.
    const backoff = Math.min(delays[Math.min(attempts - 1, delays.length - 1)]!, Math.max(1_000, (current.notAfter - now) / 4));
    const retryAt = now + (failure.retryAfterMs ?? backoff);
    await this.deps.store.renewals.put({
      ...s, renewAt: retryAt, basis: 'retry', ariNextCheckAt: null, attempts, updatedAt: now,
      lastError: { at: now, code: failure.code, reason: failure.reason, message: failure.message, retryable: failure.retryable },
    });
    this.logger.warn({ err, domain: d.domain, reason: failure.reason, retryAt }, 'certificate renewal failed; the current certificate keeps serving');
    this.deps.events.emit('cert.failed', { domain: d, reason: failure.reason, message: failure.message, retryAt, phase: 'renewal' });
  }

  /**
   * Revokes (reason cessationOfOperation) every certificate still holding a key whose domain was
   * removed or replaced, deletes its key and renewal schedule, and emits `cert.revoked`. Expired
   * certificates are only forgotten. A CA that cannot be reached leaves the certificate for the
   * next sweep. Resolves to how many certificates were handled.
   */
  async revokeOrphans(): Promise<number> {
    let handled = 0;
    for (const cert of await this.deps.store.certRecords.listOrphaned()) {
      try {
        await this.revokeOne(cert);
        handled++;
      } catch (err) {
        this.logger.warn({ err, certificateId: cert.id }, 'revocation failed; retried at the next sweep');
      }
    }
    return handled;
  }

  private async revokeOne(cert: StoredCertificate): Promise<void> {
    const { store, clock } = this.deps;
    await store.renewals.remove(cert.domainId);
    if (cert.notAfter <= clock.now()) {
      await store.certRecords.retire(cert.id, 'expired');
      return;
    }
    const issuer = this.issuerOf(cert);
    if (cert.issuerKind === 'acme') {
      if (issuer.revoke === undefined || issuer.id !== cert.directoryUrl) throw new Error(`no configured ACME directory ${cert.directoryUrl} to revoke with`);
      await issuer.revoke(cert.certPem, REVOCATION_CESSATION_OF_OPERATION);
    }
    await store.certRecords.markRevoked(cert.id, clock.now(), REVOCATION_CESSATION_OF_OPERATION);
    this.deps.events.emit('cert.revoked', { domainId: cert.domainId, certificate: { ...cert, status: 'revoked', keySealed: '' }, reasonCode: REVOCATION_CESSATION_OF_OPERATION });
  }
}
