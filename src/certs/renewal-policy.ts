import type { RenewalWindow } from './renewal-info.ts';

/** Lifetimes under this use the "half remaining" backstop instead of "a third remaining". */
const SHORT_LIFETIME_MS = 10 * 86_400_000;
/** How often ARI is asked again when the CA sends no `Retry-After` (Let's Encrypt: twice a day). */
export const ARI_DEFAULT_RECHECK_MS = 6 * 3_600_000;
/** Bounds on a CA's ARI `Retry-After` (RFC 9773 §4.3 suggests clients clamp it). */
const ARI_RECHECK_MIN_MS = 60_000;
const ARI_RECHECK_MAX_MS = 86_400_000;

/** Where a renewal time came from. */
export type RenewalBasis = 'ari' | 'lifetime';

/** When to renew one certificate, as chosen by {@link planRenewal}. */
export interface RenewalPlan {
  readonly renewAt: number;
  readonly basis: RenewalBasis;
  /** When to ask ARI again (null without ARI). */
  readonly ariNextCheckAt: number | null;
}

/**
 * The backstop renewal time of a certificate: when a third of its lifetime remains, or half for
 * certificates living under 10 days (Let's Encrypt integration guidance).
 */
export function lifetimeRenewalTime(notBefore: number, notAfter: number): number {
  const lifetime = notAfter - notBefore;
  return notAfter - (lifetime < SHORT_LIFETIME_MS ? lifetime / 2 : lifetime / 3);
}

/**
 * Chooses when to renew a certificate valid `[notBefore, notAfter]`.
 *
 * With an ARI window (RFC 9773 §4.2) the time is drawn uniformly inside it (the spread is the
 * jitter the CA asked for), clamped so that it is never later than the lifetime backstop and,
 * unless the whole window is already past (the CA wants it replaced now, e.g. after a
 * revocation), never in the first tenth of the lifetime — a window that would renew a
 * certificate again right after issuance cannot loop. Without ARI, the backstop minus up to 5 %
 * of the lifetime of jitter, so that certificates issued together do not renew together.
 * `random` returns [0, 1).
 */
export function planRenewal(cert: { notBefore: number; notAfter: number }, window: RenewalWindow | null, now: number, random: () => number = Math.random): RenewalPlan {
  const lifetime = cert.notAfter - cert.notBefore;
  const backstop = lifetimeRenewalTime(cert.notBefore, cert.notAfter);
  if (window === null) {
    return { renewAt: Math.round(backstop - random() * lifetime * 0.05), basis: 'lifetime', ariNextCheckAt: null };
  }
  const recheck = now + Math.min(ARI_RECHECK_MAX_MS, Math.max(ARI_RECHECK_MIN_MS, window.retryAfterMs ?? ARI_DEFAULT_RECHECK_MS));
  if (window.end <= now) return { renewAt: now, basis: 'ari', ariNextCheckAt: recheck };
  const earliest = Math.max(window.start, cert.notBefore + lifetime / 10, now);
  const latest = Math.min(window.end, backstop);
  const renewAt = latest <= earliest ? Math.min(earliest, backstop) : earliest + random() * (latest - earliest);
  return { renewAt: Math.round(renewAt), basis: 'ari', ariNextCheckAt: recheck };
}
