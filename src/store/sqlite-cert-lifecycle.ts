import type { Database } from 'better-sqlite3';
import type { CertificateStatus, StoredCertificate } from '../core/index.ts';
import { toCert, type CertRow } from './sqlite-cert-row.ts';

/** A certificate failure as stored: the catalogue code, the domain reason code and the CA's words. */
export interface CertFailureRecord {
  readonly at: number;
  /** `ERR_CERTS_*` code of the error. */
  readonly code: string;
  /** Reason code shown on the domain (a `DomainReason`). */
  readonly reason: string;
  readonly message: string;
  /** Whether trying again later may help (transient) or someone must act first (terminal). */
  readonly retryable: boolean;
}

/**
 * When a domain's current certificate is renewed: one row per domain, keyed by the certificate it
 * renews (a schedule computed for an older certificate is never used for a newer one).
 */
export interface RenewalSchedule {
  readonly domainId: string;
  /** The certificate this schedule renews. */
  readonly certificateId: string;
  /** When the renewal job runs next (ms epoch), jitter included. */
  readonly renewAt: number;
  /** Where `renewAt` came from: the CA's ARI window, the lifetime rule, or a retry after a failure. */
  readonly basis: 'ari' | 'lifetime' | 'retry';
  /** The CA's suggested window (RFC 9773 §4.2), when ARI answered. */
  readonly windowStart: number | null;
  readonly windowEnd: number | null;
  readonly ariCheckedAt: number | null;
  /** When ARI should be asked again (its `Retry-After`, RFC 9773 §4.3). */
  readonly ariNextCheckAt: number | null;
  /** Failed renewal attempts of this certificate. */
  readonly attempts: number;
  readonly lastError: CertFailureRecord | null;
  readonly updatedAt: number;
}

/** Renewal schedules. `put` replaces the domain's row. */
export interface RenewalRepo {
  put(s: RenewalSchedule): Promise<void>;
  get(domainId: string): Promise<RenewalSchedule | undefined>;
  /** Schedules due at `now`: `renewAt` or `ariNextCheckAt` reached, soonest first. */
  listDue(now: number, limit: number): Promise<RenewalSchedule[]>;
  remove(domainId: string): Promise<void>;
}

/** Status of a journaled ACME order. `open` means a process is (or was, before a crash) working on it. */
export type AcmeOrderStatus = 'open' | 'valid' | 'failed' | 'abandoned';

/** One ACME order as journaled before and during its run. */
export interface AcmeOrderRecord {
  readonly id: string;
  readonly domainId: string;
  /** The sorted, comma-joined name set: the duplicate-certificate key. */
  readonly namesKey: string;
  readonly directoryUrl: string;
  readonly purpose: 'issue' | 'renew';
  /** ARI certificate ID sent as `replaces` (RFC 9773 §5), if any. */
  readonly replaces: string | null;
  /** The order URL once the CA created it (RFC 8555 §7.4). */
  readonly orderUrl: string | null;
  /** The sealed key of the CSR, stored before finalization so that a crash can resume. */
  readonly keySealed: string | null;
  readonly status: AcmeOrderStatus;
  readonly errorCode: string | null;
  readonly certificateId: string | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

/** The ACME order journal; also the ledger the CA budget counts. */
export interface AcmeOrderRepo {
  /** Journals a new open order; refuses (returning the open one) when its name set already has one. */
  open(o: AcmeOrderRecord): Promise<{ ok: true } | { ok: false; existing: AcmeOrderRecord }>;
  get(id: string): Promise<AcmeOrderRecord | undefined>;
  /** Records progress of an open order. */
  update(id: string, patch: { orderUrl?: string; keySealed?: string; replaces?: string | null; directoryUrl?: string }): Promise<void>;
  /** Closes an order. */
  finish(id: string, status: Exclude<AcmeOrderStatus, 'open'>, at: number, outcome?: { certificateId?: string; errorCode?: string }): Promise<void>;
  listOpen(): Promise<AcmeOrderRecord[]>;
  /** Orders created on `directoryUrl` since `since` (new-order budget per account). */
  countCreatedSince(directoryUrl: string, since: number): Promise<number>;
  /** Certificates obtained for exactly `namesKey` since `since` without `replaces` (duplicate budget). */
  countDuplicatesSince(namesKey: string, since: number): Promise<number>;
}

/** Certificate bookkeeping beyond issuance: revocation, key deletion, key re-sealing. */
export interface CertRecordRepo {
  /** Every certificate of a domain, newest first. */
  listForDomain(domainId: string): Promise<StoredCertificate[]>;
  /** Certificates still holding a key whose domain is removed or replaced: to revoke, then forget. */
  listOrphaned(): Promise<StoredCertificate[]>;
  /** Marks a certificate revoked (RFC 5280 §5.3.1 reason code) and deletes its sealed key. */
  markRevoked(id: string, at: number, reasonCode: number): Promise<void>;
  /** Sets a status and deletes the sealed key (nothing will serve the certificate again). */
  retire(id: string, status: CertificateStatus): Promise<void>;
  /** Re-seals every stored secret whose sealed form `reseal` changes; returns how many changed. */
  resealAll(reseal: (sealed: string) => string): Promise<number>;
}

/** The certificate-lifecycle repositories of a SQLite store. */
export function certLifecycleRepos(db: Database): { renewals: RenewalRepo; acmeOrders: AcmeOrderRepo; certRecords: CertRecordRepo } {
  return { renewals: renewalRepo(db), acmeOrders: acmeOrderRepo(db), certRecords: certRecordRepo(db) };
}

function renewalRepo(db: Database): RenewalRepo {
  const upsert = db.prepare(`INSERT INTO cert_renewals (domain_id, certificate_id, renew_at, basis, window_start, window_end,
      ari_checked_at, ari_next_check_at, attempts, last_error_json, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (domain_id) DO UPDATE SET certificate_id = excluded.certificate_id, renew_at = excluded.renew_at,
      basis = excluded.basis, window_start = excluded.window_start, window_end = excluded.window_end,
      ari_checked_at = excluded.ari_checked_at, ari_next_check_at = excluded.ari_next_check_at,
      attempts = excluded.attempts, last_error_json = excluded.last_error_json, updated_at = excluded.updated_at`);
  return {
    async put(s) {
      upsert.run(s.domainId, s.certificateId, s.renewAt, s.basis, s.windowStart, s.windowEnd, s.ariCheckedAt, s.ariNextCheckAt,
        s.attempts, s.lastError === null ? null : JSON.stringify(s.lastError), s.updatedAt);
    },
    async get(domainId) {
      const r = db.prepare('SELECT * FROM cert_renewals WHERE domain_id = ?').get(domainId) as RenewalRow | undefined;
      return r && toRenewal(r);
    },
    async listDue(now, limit) {
      return (db.prepare(`SELECT * FROM cert_renewals WHERE MIN(renew_at, COALESCE(ari_next_check_at, renew_at)) <= ?
        ORDER BY MIN(renew_at, COALESCE(ari_next_check_at, renew_at)) LIMIT ?`).all(now, limit) as RenewalRow[]).map(toRenewal);
    },
    async remove(domainId) {
      db.prepare('DELETE FROM cert_renewals WHERE domain_id = ?').run(domainId);
    },
  };
}

function acmeOrderRepo(db: Database): AcmeOrderRepo {
  const get = (id: string) => {
    const r = db.prepare('SELECT * FROM acme_orders WHERE id = ?').get(id) as OrderRow | undefined;
    return r && toOrder(r);
  };
  return {
    async open(o) {
      try {
        db.prepare(`INSERT INTO acme_orders (id, domain_id, names_key, directory_url, purpose, replaces, order_url, key_sealed,
          status, error_code, certificate_id, created_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
          .run(o.id, o.domainId, o.namesKey, o.directoryUrl, o.purpose, o.replaces, o.orderUrl, o.keySealed, o.status,
            o.errorCode, o.certificateId, o.createdAt, o.finishedAt);
        return { ok: true };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const existing = db.prepare(`SELECT * FROM acme_orders WHERE names_key = ? AND status = 'open'`).get(o.namesKey) as OrderRow | undefined;
        if (existing === undefined) throw err;
        return { ok: false, existing: toOrder(existing) };
      }
    },
    get: async (id) => get(id),
    async update(id, patch) {
      const sets: string[] = [];
      const values: Array<string | null> = [];
      const columns = { orderUrl: 'order_url', keySealed: 'key_sealed', replaces: 'replaces', directoryUrl: 'directory_url' } as const;
      for (const [field, column] of Object.entries(columns)) {
        const v = patch[field as keyof typeof patch];
        if (v === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(v);
      }
      if (sets.length > 0) db.prepare(`UPDATE acme_orders SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    },
    async finish(id, status, at, outcome = {}) {
      // The CSR key is only needed to resume the order; a closed order keeps none.
      db.prepare(`UPDATE acme_orders SET status = ?, finished_at = ?, certificate_id = ?, error_code = ?, key_sealed = NULL WHERE id = ?`)
        .run(status, at, outcome.certificateId ?? null, outcome.errorCode ?? null, id);
    },
    async listOpen() {
      return (db.prepare(`SELECT * FROM acme_orders WHERE status = 'open' ORDER BY created_at`).all() as OrderRow[]).map(toOrder);
    },
    async countCreatedSince(directoryUrl, since) {
      return (db.prepare('SELECT COUNT(*) AS n FROM acme_orders WHERE directory_url = ? AND created_at >= ?').get(directoryUrl, since) as { n: number }).n;
    },
    async countDuplicatesSince(namesKey, since) {
      return (db.prepare(`SELECT COUNT(*) AS n FROM acme_orders WHERE names_key = ? AND status = 'valid' AND replaces IS NULL AND created_at >= ?`)
        .get(namesKey, since) as { n: number }).n;
    },
  };
}

function certRecordRepo(db: Database): CertRecordRepo {
  const reseal = db.transaction((fn: (sealed: string) => string): number => {
    let changed = 0;
    const tables = [['certificates', 'id', 'key_sealed'], ['acme_accounts', 'directory_url', 'key_sealed'], ['acme_orders', 'id', 'key_sealed']] as const;
    for (const [table, idColumn, column] of tables) {
      const rows = db.prepare(`SELECT ${idColumn} AS id, ${column} AS sealed FROM ${table} WHERE ${column} IS NOT NULL AND ${column} != ''`).all() as Array<{ id: string; sealed: string }>;
      for (const row of rows) {
        const next = fn(row.sealed);
        if (next === row.sealed) continue;
        db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${idColumn} = ?`).run(next, row.id);
        changed++;
      }
    }
    return changed;
  });
  return {
    async listForDomain(domainId) {
      return (db.prepare('SELECT * FROM certificates WHERE domain_id = ? ORDER BY created_at DESC').all(domainId) as CertRow[]).map(toCert);
    },
    async listOrphaned() {
      return (db.prepare(`SELECT c.* FROM certificates c JOIN custom_domains d ON d.id = c.domain_id
        WHERE d.state_kind IN ('removed', 'replaced') AND c.key_sealed != '' ORDER BY c.created_at`).all() as CertRow[]).map(toCert);
    },
    async markRevoked(id, at, reasonCode) {
      db.prepare(`UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ?, key_sealed = '' WHERE id = ?`).run(at, reasonCode, id);
    },
    async retire(id, status) {
      db.prepare(`UPDATE certificates SET status = ?, key_sealed = '' WHERE id = ?`).run(status, id);
    },
    resealAll: async (fn) => reseal(fn),
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

interface RenewalRow {
  domain_id: string; certificate_id: string; renew_at: number; basis: string; window_start: number | null; window_end: number | null;
  ari_checked_at: number | null; ari_next_check_at: number | null; attempts: number; last_error_json: string | null; updated_at: number;
}
interface OrderRow {
  id: string; domain_id: string; names_key: string; directory_url: string; purpose: string; replaces: string | null; order_url: string | null;
  key_sealed: string | null; status: string; error_code: string | null; certificate_id: string | null; created_at: number; finished_at: number | null;
}
function toRenewal(r: RenewalRow): RenewalSchedule {
  return {
    domainId: r.domain_id, certificateId: r.certificate_id, renewAt: r.renew_at, basis: r.basis as RenewalSchedule['basis'],
    windowStart: r.window_start, windowEnd: r.window_end, ariCheckedAt: r.ari_checked_at, ariNextCheckAt: r.ari_next_check_at,
    attempts: r.attempts, lastError: r.last_error_json === null ? null : JSON.parse(r.last_error_json) as CertFailureRecord, updatedAt: r.updated_at,
  };
}

function toOrder(r: OrderRow): AcmeOrderRecord {
  return {
    id: r.id, domainId: r.domain_id, namesKey: r.names_key, directoryUrl: r.directory_url, purpose: r.purpose === 'renew' ? 'renew' : 'issue',
    replaces: r.replaces, orderUrl: r.order_url, keySealed: r.key_sealed, status: r.status as AcmeOrderStatus, errorCode: r.error_code,
    certificateId: r.certificate_id, createdAt: r.created_at, finishedAt: r.finished_at,
  };
}

