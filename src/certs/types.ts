import type { Hostname } from '../core/index.ts';
import type { RenewalWindow } from './renewal-info.ts';

/** The issuers log through the project-wide logger contract. */
export { silentLogger, type Logger } from '../core/logger.ts';

/**
 * Publishes and withdraws DNS-01 TXT records (RFC 8555 §8.4). Implemented by the DNS capability:
 * `publish` resolves only once the record is persisted and served by every authoritative server
 * of ours; `withdraw` removes exactly that value (other values at the same name stay). Both are
 * idempotent. `name` is the full record name, `_acme-challenge.<host>`.
 */
export interface Dns01Publisher {
  publish(name: Hostname, value: string): Promise<void>;
  withdraw(name: Hostname, value: string): Promise<void>;
}

/** A certificate as an issuer returns it: PEM text plus the facts read from the leaf. */
export interface IssuedCertificate {
  /** The leaf certificate only (one PEM block). */
  readonly certPem: string;
  /** Intermediates, leaf's issuer first (PEM blocks, possibly empty for the local CA). */
  readonly chainPem: string;
  /** PKCS#8 PEM of the leaf's ECDSA P-256 private key, in clear: seal it with a KeyCipher before storing. */
  readonly keyPem: string;
  /** The DNS names the certificate covers (its SAN dNSNames, in request order). */
  readonly names: Hostname[];
  /** Serial number, lowercase hex without separators. */
  readonly serialHex: string;
  /** The issuer's common name. */
  readonly issuer: string;
  /** Validity start, ms since the epoch. */
  readonly notBefore: number;
  /** Validity end, ms since the epoch. */
  readonly notAfter: number;
  readonly issuerKind: 'acme' | 'local';
  /** ACME only: the certificate URL (RFC 8555 §7.4.2), needed for ARI and revocation bookkeeping. */
  readonly acmeCertUrl?: string;
  /** ACME only: the directory that issued it. */
  readonly directoryUrl?: string;
}

/** Progress of one issuance, reported in order through `onProgress`. */
export type IssueStep =
  | { readonly kind: 'order_created' }
  | { readonly kind: 'challenge_published'; readonly name: string }
  | { readonly kind: 'validated' }
  | { readonly kind: 'finalized' }
  | { readonly kind: 'downloaded' };

/**
 * Durable record of an order in progress, so that a process killed mid-order resumes it instead
 * of opening a second one. Each call resolves only once the fact is stored.
 */
export interface OrderJournal {
  /** The CA created the order (RFC 8555 §7.4); called before any challenge is published. */
  orderCreated(orderUrl: string): Promise<void>;
  /** The CSR key, called before finalization: the only way to use a certificate issued just before a crash. */
  keyCreated(keyPem: string): Promise<void>;
}

/** Options of one {@link Issuer.issue} call. */
export interface IssueOptions {
  /** Cancels the issuance; published challenge records are still withdrawn. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (step: IssueStep) => void;
  /** ARI certificate ID of the certificate this one renews (RFC 9773 §5); ACME only. */
  readonly replaces?: string;
  readonly journal?: OrderJournal;
  /** Continue this earlier order (from a journal) instead of creating one; a dead order is replaced by a new one. */
  readonly resume?: { readonly orderUrl: string; readonly keyPem: string | null };
}

/**
 * Something that turns a set of hostnames into a certificate: the ACME issuer or the local CA.
 * `issue` obtains one certificate covering every name, or throws an `AppError` from the
 * certificate catalogue (`retryable` tells whether trying again later may help). It does no
 * policy check of its own: callers ask whether the names may have a certificate first.
 */
export interface Issuer {
  readonly kind: 'acme' | 'local';
  /** Stable identity of the issuer: the ACME directory URL, or `'local'`. */
  readonly id: string;
  issue(names: readonly Hostname[], opts?: IssueOptions): Promise<IssuedCertificate>;
  /**
   * The CAA `issue` property values (RFC 8659 §4.2) our zones publish so that this issuer may
   * issue: e.g. `['letsencrypt.org']`; `[]` means "publish no CAA for this issuer".
   */
  caaIdentities(): string[];
  /**
   * Revokes a certificate this issuer issued (RFC 8555 §7.6) with an RFC 5280 §5.3.1 reason
   * code (5 = cessationOfOperation). Resolves when the CA confirmed or reports it already
   * revoked. Absent for issuers whose certificates cannot be revoked (the local CA).
   */
  revoke?(certPem: string, reasonCode: number): Promise<void>;
  /**
   * The CA's renewal window for a certificate (ACME Renewal Info, RFC 9773), or null when the
   * directory offers no `renewalInfo` (or the CA does not know it). Absent for the local CA.
   */
  renewalInfo?(certPem: string): Promise<RenewalWindow | null>;
}

/**
 * Durable storage of ACME accounts, one per directory URL. `load` resolves null when none is
 * stored. The account key PEM is secret: implementations are expected to seal it at rest.
 */
export interface AcmeAccountStore {
  load(directoryUrl: string): Promise<{ accountKeyPem: string; accountUrl: string } | null>;
  save(directoryUrl: string, v: { accountKeyPem: string; accountUrl: string }): Promise<void>;
}
