import { AppError, type DomainReason } from '../core/index.ts';

/** Who must act for a domain to make progress: the customer (their DNS), the operator, or nobody (it waits). */
export type ReasonActor = 'customer' | 'operator' | 'none';

/** What a reason code means for the people looking at a domain. */
export interface ReasonInfo {
  readonly actor: ReasonActor;
  /** Whether the worker keeps retrying by itself (transient) or the actor must fix something first. */
  readonly transient: boolean;
  /** One sentence saying what to do. */
  readonly hint: string;
}

const REASONS: Readonly<Record<DomainReason, ReasonInfo>> = {
  awaiting_ns_records: { actor: 'customer', transient: true, hint: 'add the NS records shown for this domain at its parent zone' },
  parent_unreachable: { actor: 'customer', transient: true, hint: 'the parent zone\'s nameservers do not answer; check the DNS provider of the parent domain' },
  wrong_nameservers: { actor: 'customer', transient: true, hint: 'the parent zone delegates to other nameservers; replace them with the NS records shown' },
  extra_nameservers: { actor: 'customer', transient: true, hint: 'the parent zone lists nameservers besides ours; remove the extra NS records' },
  missing_nameservers: { actor: 'customer', transient: true, hint: 'some of our NS records are missing at the parent zone; add all of them' },
  our_servers_not_answering: { actor: 'operator', transient: true, hint: 'our nameservers do not answer for the zone; check the DNS role and firewall' },
  resolver_error: { actor: 'operator', transient: true, hint: 'the resolver used for delegation checks failed; check FIRSTPARTY_RESOLVER' },
  issuance_failed: { actor: 'operator', transient: true, hint: 'the certificate order failed for an unclassified reason; see the message and the logs' },
  ca_rate_limited: { actor: 'none', transient: true, hint: 'the CA rate-limited the order; it is retried exactly when the CA allows' },
  ca_budget_exhausted: { actor: 'none', transient: true, hint: 'our own CA budget (orders per window, duplicate certificates) is spent; the order waits for it' },
  caa_forbids: { actor: 'customer', transient: false, hint: 'a CAA record above the custom domain forbids our CA; allow it in the parent zone\'s CAA records' },
  dns_validation_failed: { actor: 'customer', transient: true, hint: 'the CA could not resolve the challenge through the delegation; check the NS records and any DS record (DNSSEC) at the parent' },
  challenge_rejected: { actor: 'operator', transient: true, hint: 'the CA saw a wrong DNS-01 answer; check that every nameserver of ours serves the same zone' },
  ca_unreachable: { actor: 'operator', transient: true, hint: 'the CA could not be reached (or could not reach our nameservers); check connectivity to the ACME directory' },
  ca_error: { actor: 'none', transient: true, hint: 'the CA reported an internal error or timed out; it is retried with backoff, then on the fallback CA' },
  ca_refused_name: { actor: 'operator', transient: false, hint: 'the CA refuses to issue for this name (policy); configure a fallback CA or ask the CA' },
};

/**
 * What a domain reason code means: who must act (`customer` for their DNS, `operator` for
 * firstparty's setup, `none` when it only waits), whether it clears by itself, and a hint.
 */
export function reasonInfo(reason: DomainReason): ReasonInfo {
  return REASONS[reason];
}

/** A certificate failure classified for scheduling and display. */
export interface CertFailure {
  readonly reason: DomainReason;
  /** The error's catalogue code (`ERR_CERTS_*`), or `ERR_UNEXPECTED`. */
  readonly code: string;
  readonly message: string;
  /** Whether retrying without anyone acting may help. */
  readonly retryable: boolean;
  /** The CA's `Retry-After`, when it sent one: the wait to honour exactly. */
  readonly retryAfterMs?: number;
}

const CODE_TO_REASON: Readonly<Record<string, DomainReason>> = {
  ERR_CERTS_ACME_RATE_LIMITED: 'ca_rate_limited',
  ERR_CERTS_ACME_CAA: 'caa_forbids',
  ERR_CERTS_ACME_DNS: 'dns_validation_failed',
  ERR_CERTS_ACME_UNAUTHORIZED: 'challenge_rejected',
  ERR_CERTS_ACME_REJECTED_IDENTIFIER: 'ca_refused_name',
  ERR_CERTS_ACME_CONNECTION: 'ca_unreachable',
  ERR_CERTS_ACME_SERVER: 'ca_error',
  ERR_CERTS_ACME_BAD_NONCE: 'ca_error',
  ERR_CERTS_ACME_TIMEOUT: 'ca_error',
  ERR_CERTS_BUDGET_EXHAUSTED: 'ca_budget_exhausted',
};

/** Classifies an issuer error into a domain reason code, keeping the CA's `Retry-After`. */
export function classifyCertFailure(err: unknown): CertFailure {
  if (!(err instanceof AppError)) {
    return { reason: 'issuance_failed', code: 'ERR_UNEXPECTED', message: err instanceof Error ? err.message : String(err), retryable: true };
  }
  const retryAfterMs = typeof err.details?.['retryAfterMs'] === 'number' ? err.details['retryAfterMs'] : undefined;
  const reason = CODE_TO_REASON[err.code] ?? 'issuance_failed';
  return { reason, code: err.code, message: err.message, retryable: err.retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
