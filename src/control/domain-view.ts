import type { CustomDomain, DomainHistoryEntry, DomainReason, Hostname, StoredCertificate } from '../core/index.ts';
import type { DomainRequestRecord, RenewalSchedule } from '../store/index.ts';
import { reasonInfo } from '../certs/index.ts';
import { cspDirectives, type CspDirectives } from './csp.ts';

/** What the admin API shows of a custom domain. */
export interface DomainView {
  readonly id: string;
  readonly workspaceId: string;
  readonly domain: string;
  readonly state: string;
  /** Machine-readable reason of the current state (why it waits or failed), or null. */
  readonly reason: string | null;
  readonly message: string | null;
  /** Who must act on `reason` (`customer`, `operator`, or `none` when it only waits), whether it clears by itself, and a hint. */
  readonly action: { readonly actor: string; readonly transient: boolean; readonly hint: string } | null;
  /** The NS records to add at the parent zone. */
  readonly nameservers: readonly string[];
  readonly nsRecords: readonly string[];
  readonly hosts: { readonly cdn: string; readonly api: string };
  readonly sourceIds: readonly string[];
  /** What the request form carried, and links to the primary / replaced domain. */
  readonly request: {
    readonly subject: string; readonly description: string | null; readonly usesCsp: boolean;
    readonly primaryDomainId: string | null; readonly replacesDomainId: string | null;
  } | null;
  /** The CSP sources to add when the site uses a Content Security Policy, else null. */
  readonly csp: CspDirectives | null;
  readonly certificate: {
    readonly status: string; readonly issuer: string; readonly directoryUrl: string | null; readonly serial: string;
    readonly notBefore: string; readonly notAfter: string; readonly names: readonly string[];
    /** When the renewal job runs next, and what decided it (`ari` window, `lifetime` rule, `retry` after a failure). */
    readonly nextRenewalAt: string | null; readonly renewalBasis: string | null;
    /** The last failed renewal attempt, with its reason code and who must act. */
    readonly lastError: { readonly at: string; readonly code: string; readonly reason: string; readonly message: string; readonly retryable: boolean; readonly actor: string } | null;
  } | null;
  readonly nextCheckAt: string | null;
  readonly history: ReadonlyArray<{ readonly at: string; readonly from: string | null; readonly to: string; readonly reason: string; readonly message: string }>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Builds the {@link DomainView} of a domain from its record, request, current certificate and history. */
export function toDomainView(d: CustomDomain, nameservers: readonly Hostname[], cert: StoredCertificate | undefined,
  history: readonly DomainHistoryEntry[], request?: DomainRequestRecord, renewal?: RenewalSchedule): DomainView {
  const iso = (ms: number) => new Date(ms).toISOString();
  const s = d.state;
  const reason = s.kind === 'failed' ? s.reason : s.kind === 'awaiting_delegation' ? (s.lastCheck?.reason ?? 'awaiting_ns_records') : null;
  const message = s.kind === 'failed' ? s.message : s.kind === 'awaiting_delegation'
    ? (s.lastCheck?.message ?? `add NS records for ${d.domain} at its parent zone pointing to ${nameservers.join(', ')}`) : null;
  return {
    id: d.id, workspaceId: d.workspaceId, domain: d.domain, state: s.kind, reason, message, action: actionOf(reason),
    nameservers, nsRecords: nameservers.map((ns) => `${d.domain}. IN NS ${ns}.`), hosts: d.hosts, sourceIds: d.sourceIds,
    request: request ? {
      subject: request.subject, description: request.description, usesCsp: request.usesCsp,
      primaryDomainId: request.primaryDomainId, replacesDomainId: request.replacesDomainId,
    } : null,
    csp: request?.usesCsp ? cspDirectives(d.hosts) : null,
    certificate: cert ? {
      status: cert.status, issuer: cert.issuer, directoryUrl: cert.directoryUrl, serial: cert.serialHex,
      notBefore: iso(cert.notBefore), notAfter: iso(cert.notAfter), names: cert.names,
      nextRenewalAt: renewal && renewal.certificateId === cert.id ? iso(Math.min(renewal.renewAt, renewal.ariNextCheckAt ?? Infinity)) : null,
      renewalBasis: renewal && renewal.certificateId === cert.id ? renewal.basis : null,
      lastError: renewal?.lastError ? {
        at: iso(renewal.lastError.at), code: renewal.lastError.code, reason: renewal.lastError.reason, message: renewal.lastError.message,
        retryable: renewal.lastError.retryable, actor: actionOf(renewal.lastError.reason)?.actor ?? 'operator',
      } : null,
    } : null,
    nextCheckAt: d.nextCheckAt === null ? null : iso(d.nextCheckAt),
    history: history.map((h) => ({ at: iso(h.at), from: h.from, to: h.to, reason: h.reason, message: h.message })),
    createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt),
  };
}

/** Who must act on a reason code; reasons the certificate side does not know are the operator's. */
function actionOf(reason: string | null): DomainView['action'] {
  if (reason === null) return null;
  const info = reasonInfo(reason as DomainReason) as ReturnType<typeof reasonInfo> | undefined;
  return info ? { actor: info.actor, transient: info.transient, hint: info.hint } : { actor: 'operator', transient: false, hint: 'see the message' };
}
