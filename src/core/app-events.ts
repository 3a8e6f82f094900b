import type { EventBus } from './events.ts';
import type { Hostname } from './hostname.ts';
import type { CustomDomain, DomainReason, DomainStateKind, Source, StoredCertificate } from './model.ts';

/**
 * Every event the capabilities tell each other about, by name. Payloads are plain data.
 * Metrics, webhooks, the DNS zone builder and the edge certificate cache listen to these.
 */
export interface AppEventMap {
  'source.created': { readonly source: Source };
  'domain.created': { readonly domain: CustomDomain };
  'domain.changed': { readonly domain: CustomDomain; readonly from: DomainStateKind };
  'domain.delegation_checked': { readonly domain: CustomDomain; readonly delegated: boolean; readonly reason: DomainReason | null; readonly message: string };
  'challenge.published': { readonly name: Hostname; readonly value: string };
  'challenge.withdrawn': { readonly name: Hostname; readonly value: string };
  'cert.obtained': { readonly domain: CustomDomain; readonly certificate: StoredCertificate };
  /** An issuance (`phase` absent or `issuance`) or a renewal of the domain's certificate failed; `retryAt` is the next try. */
  'cert.failed': { readonly domain: CustomDomain; readonly reason: DomainReason; readonly message: string; readonly retryAt: number; readonly phase?: 'issuance' | 'renewal' };
  /** A renewed certificate replaced `previous` (which keeps serving until this one is installed). */
  'cert.renewed': { readonly domain: CustomDomain; readonly certificate: StoredCertificate; readonly previous: StoredCertificate };
  /** A certificate was revoked (RFC 5280 §5.3.1 `reasonCode`) and its key deleted. */
  'cert.revoked': { readonly domainId: string; readonly certificate: StoredCertificate; readonly reasonCode: number };
}

/** The process-wide bus carrying {@link AppEventMap}. */
export type AppEvents = EventBus<AppEventMap>;
