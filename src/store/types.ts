import type {
  CertificateStatus, CustomDomain, DomainHistoryEntry, DomainState, EncodedEvents, Hostname, LoggedEvent, Source,
  StoredCertificate, StoredEvent, Workspace,
} from '../core/index.ts';
import type { AcmeOrderRepo, CertRecordRepo, RenewalRepo } from './sqlite-cert-lifecycle.ts';
import type { ControlRepos } from './control-types.ts';

/**
 * The persistence boundary of firstparty. Implementations (SQLite by default) are safe for
 * concurrent use from one process; every method either completes durably or rejects. Lookups
 * that find nothing resolve to `undefined`, never reject. Uniqueness rules are enforced by the
 * database itself (unique indexes), surfaced as {@link StoreConflict} values, not exceptions.
 */
export interface Store extends ControlRepos {
  readonly workspaces: WorkspaceRepo;
  readonly sources: SourceRepo;
  readonly domains: DomainRepo;
  readonly challenges: ChallengeRepo;
  readonly certificates: CertificateRepo;
  readonly acmeAccounts: AcmeAccountRepo;
  /** Certificate lifecycle (sqlite-cert-lifecycle.ts): renewal schedules, ACME order journal, revocation. */
  readonly renewals: RenewalRepo;
  readonly acmeOrders: AcmeOrderRepo;
  readonly certRecords: CertRecordRepo;
  readonly events: EventLog;
  /** Flushes pending work and closes the database. */
  close(): Promise<void>;
}

/** Which unique rule a write broke. */
export type StoreConflict = 'domain_taken' | 'source_already_connected' | 'write_key_taken';

/** Workspaces. */
export interface WorkspaceRepo {
  create(w: Workspace): Promise<void>;
  get(id: string): Promise<Workspace | undefined>;
  list(): Promise<Workspace[]>;
}

/** Sources; `writeKey` is unique across all workspaces. */
export interface SourceRepo {
  create(s: Source): Promise<void>;
  get(id: string): Promise<Source | undefined>;
  byWriteKey(writeKey: string): Promise<Source | undefined>;
  listByWorkspace(workspaceId: string): Promise<Source[]>;
  /** Every source; used to warm in-memory caches at start. */
  listAll(): Promise<Source[]>;
  /** The live (not removed/replaced) custom domain a source is connected to, if any. */
  domainOf(sourceId: string): Promise<CustomDomain | undefined>;
}

/** Custom domains and their history. */
export interface DomainRepo {
  /**
   * Inserts a domain with its source links and first history entry in one transaction.
   * Resolves to a conflict when the domain is live in any workspace or a source is already
   * connected to a live domain.
   */
  create(d: CustomDomain, history: DomainHistoryEntry): Promise<{ ok: true } | { ok: false; conflict: StoreConflict }>;
  get(id: string): Promise<CustomDomain | undefined>;
  /** The live domain with this name, if any. */
  byName(domain: Hostname): Promise<CustomDomain | undefined>;
  /** Live domains that equal `domain`, contain it (ancestors) or lie inside it (descendants). */
  liveOverlapping(domain: Hostname): Promise<CustomDomain[]>;
  listByWorkspace(workspaceId: string): Promise<CustomDomain[]>;
  /** Every live domain (not removed/replaced). */
  listLive(): Promise<CustomDomain[]>;
  /** Live domains whose `nextCheckAt` is at or before `now`, oldest first. */
  listDue(now: number, limit: number): Promise<CustomDomain[]>;
  /**
   * Compare-and-set: applies `next` only if the stored version still equals `expectedVersion`;
   * bumps version and zone serial, appends `history`. Resolves to the updated domain, or
   * `undefined` when the version moved (someone else won).
   */
  transition(id: string, expectedVersion: number, next: DomainState, history: DomainHistoryEntry,
    schedule: { nextCheckAt: number | null; checkAttempts: number }): Promise<CustomDomain | undefined>;
  /** Updates only the schedule fields (no state change, no history). */
  reschedule(id: string, nextCheckAt: number | null, checkAttempts: number, lastCheck?: DomainState): Promise<void>;
  /** Increments the zone serial (a record of the zone changed) and returns the new value. */
  bumpSerial(id: string): Promise<number>;
  history(id: string): Promise<DomainHistoryEntry[]>;
}

/** Open DNS-01 challenges (TXT records) keyed by owner name; survive restarts. */
export interface ChallengeRepo {
  add(name: Hostname, value: string, at: number): Promise<void>;
  remove(name: Hostname, value: string): Promise<void>;
  listAll(): Promise<Array<{ name: Hostname; value: string }>>;
}

/** Certificates per domain. */
export interface CertificateRepo {
  /** Stores `cert` as the domain's valid certificate, marking older valid ones `superseded`. */
  putValid(cert: StoredCertificate): Promise<void>;
  /** The newest valid certificate of a domain. */
  currentFor(domainId: string): Promise<StoredCertificate | undefined>;
  /** Every valid certificate (to warm the edge cache at start). */
  listValid(): Promise<StoredCertificate[]>;
  setStatus(id: string, status: CertificateStatus): Promise<void>;
}

/** ACME accounts, one per directory URL; the key is sealed. */
export interface AcmeAccountRepo {
  get(directoryUrl: string): Promise<{ accountUrl: string; keySealed: string } | undefined>;
  put(directoryUrl: string, v: { accountUrl: string; keySealed: string }): Promise<void>;
}

/**
 * The durable event log. `append` resolves only after the events are committed to disk
 * (group commit: concurrent appends share one transaction). An event whose
 * `(sourceId, messageId)` is already stored is not stored again; its result says so.
 */
export interface EventLog {
  append(events: readonly StoredEvent[]): Promise<{ stored: number; duplicates: number }>;
  /**
   * Stores already encoded events (the ingest path); resolves once committed. The payload
   * buffer may be transferred to another thread: callers must not use `events.payloads` after.
   */
  appendEncoded(events: EncodedEvents): Promise<{ stored: number; duplicates: number }>;
  /** The most recent events of a source, newest first; `beforeSeq` pages backwards. */
  recent(sourceId: string, limit: number, beforeSeq?: number): Promise<LoggedEvent[]>;
  count(sourceId?: string): Promise<number>;
}
