import type { Hostname } from './hostname.ts';

/**
 * The persisted entities shared by several capabilities. Behaviour lives with the capability that
 * owns it (`control/` for domains and their lifecycle); these are only the shapes.
 */

/** A tenant of the operator. `plan` decides which features it may use. */
export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
  readonly createdAt: number;
}

/** Segment source kinds we know how to document; any other lowercase token is accepted too. */
export const KNOWN_SOURCE_TYPES = [
  'analytics.js', 'node', 'python', 'go', 'java', 'ruby', 'php', 'clojure', 'dotnet', 'ios', 'android',
  'react-native', 'kotlin', 'swift', 'http', 'pixel',
] as const;

/** A source of events, authenticated by its write key. */
export interface Source {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly type: string;
  readonly writeKey: string;
  readonly enabled: boolean;
  readonly createdAt: number;
}

/** Why a custom domain is not (yet) active; each says who must act. */
export type DomainReason =
  | 'awaiting_ns_records'
  | 'parent_unreachable'
  | 'wrong_nameservers'
  | 'extra_nameservers'
  | 'missing_nameservers'
  | 'our_servers_not_answering'
  | 'resolver_error'
  | 'issuance_failed'
  | 'ca_rate_limited'
  | 'caa_forbids'
  | 'dns_validation_failed'
  | 'challenge_rejected'
  | 'ca_unreachable'
  | 'ca_error'
  | 'ca_refused_name'
  | 'ca_budget_exhausted';

/**
 * The lifecycle state of a custom domain, stored as one JSON column and changed only by
 * `control/`'s transition function (compare-and-set on `version`).
 */
export type DomainState =
  | { readonly kind: 'awaiting_delegation'; readonly lastCheck?: { readonly at: number; readonly reason: DomainReason; readonly message: string } }
  | { readonly kind: 'delegated' }
  | { readonly kind: 'issuing'; readonly attempt: number }
  | { readonly kind: 'active' }
  | { readonly kind: 'failed'; readonly phase: 'issuance'; readonly reason: DomainReason; readonly message: string; readonly retryAt: number; readonly attempt: number }
  | { readonly kind: 'removed' }
  | { readonly kind: 'replaced'; readonly by: string };

/** The kinds of {@link DomainState}. */
export type DomainStateKind = DomainState['kind'];

/** A requested custom domain (`cdp.shop.com`) with its two hosts. */
export interface CustomDomain {
  readonly id: string;
  readonly workspaceId: string;
  readonly domain: Hostname;
  readonly hosts: { readonly cdn: Hostname; readonly api: Hostname };
  readonly state: DomainState;
  /** Incremented on every state change; the compare-and-set token. */
  readonly version: number;
  /** SOA serial of the delegated zone; increases on every change of the zone. */
  readonly zoneSerial: number;
  /** When background work should next look at this domain (ms epoch), or null. */
  readonly nextCheckAt: number | null;
  /** Delegation checks done since the last state change. */
  readonly checkAttempts: number;
  readonly sourceIds: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One entry of a domain's transition history. */
export interface DomainHistoryEntry {
  readonly at: number;
  readonly from: DomainStateKind | null;
  readonly to: DomainStateKind;
  readonly reason: string;
  readonly message: string;
}

/** Status of a stored certificate. */
export type CertificateStatus = 'valid' | 'superseded' | 'revoked' | 'expired';

/** A certificate as stored; the private key is sealed by the key cipher. */
export interface StoredCertificate {
  readonly id: string;
  readonly domainId: string;
  readonly names: readonly Hostname[];
  readonly status: CertificateStatus;
  readonly issuerKind: 'acme' | 'local';
  readonly issuer: string;
  readonly directoryUrl: string | null;
  readonly serialHex: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly certPem: string;
  readonly chainPem: string;
  readonly keySealed: string;
  readonly createdAt: number;
}

/** Whether an event was stored for delivery or refused with a reason. */
export type EventStatus = 'accepted' | 'rejected';

/** One Tracking API event as stored. */
export interface StoredEvent {
  readonly sourceId: string;
  readonly messageId: string;
  readonly type: string;
  readonly status: EventStatus;
  readonly reason: string | null;
  readonly receivedAt: number;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `JSON.stringify(payload)` when the producer already has it: stores write it as is. */
  readonly payloadJson?: string;
}

/** A stored event with its position in the log. */
export interface LoggedEvent extends StoredEvent {
  readonly seq: number;
}

/**
 * Synchronous, in-memory lookup of sources by write key, kept current by the control plane.
 * Never does I/O, so it can sit on the request hot path.
 */
export interface SourceLookup {
  byWriteKey(writeKey: string): Source | undefined;
}

/**
 * Which CDN/API host pair a request arrived on. The default (operator) hosts serve every source;
 * a custom domain's hosts serve only the sources connected to it.
 */
export type HostScope =
  | { readonly kind: 'default'; readonly cdnHost: string; readonly apiHost: string }
  | { readonly kind: 'custom'; readonly domainId: string; readonly cdnHost: string; readonly apiHost: string; readonly sourceIds: ReadonlySet<string> };
