import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import type {
  CertificateStatus, CustomDomain, DomainHistoryEntry, DomainState, DomainStateKind, Hostname,
  Source, StoredCertificate, Workspace,
} from '../core/index.ts';
import { SQLITE_MIGRATIONS } from './sqlite-schema.ts';
import { SqliteEventLog, type EventLogOptions } from './sqlite-event-log.ts';
import { segmentsDirFor } from './event-segments.ts';
import { markStoreOpen, type StoreMarker } from './store-processes.ts';
import { certLifecycleRepos } from './sqlite-cert-lifecycle.ts';
import { sqliteControlRepos } from './sqlite-control-repos.ts';
import type {
  AcmeAccountRepo, CertificateRepo, ChallengeRepo, DomainRepo, SourceRepo, Store, StoreConflict, WorkspaceRepo,
} from './types.ts';
import { toCert, type CertRow } from './sqlite-cert-row.ts';

const TERMINAL: readonly DomainStateKind[] = ['removed', 'replaced'];

/**
 * Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests), in WAL mode
 * with `synchronous=FULL` so that every commit is on disk when it returns, and applies pending
 * migrations. `opts` tunes the event log (deduplication window).
 */
export function openSqliteStore(path: string, opts: EventLogOptions = {}): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Marked open before the first write lock is asked for: a writer holding its transaction
  // across groups (another process on this database) lets go at once.
  const marker = path === ':memory:' ? undefined : markStoreOpen(segmentsDirFor(path));
  // (Without a marker, as where the folder cannot take one, the writer commits every group.)
  try {
    return openMarked(path, opts, marker);
  } catch (err) {
    marker?.close();
    throw err;
  }
}

function openMarked(path: string, opts: EventLogOptions, marker: StoreMarker | undefined): Store {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  const events = new SqliteEventLog(db, { ...opts, ...(marker === undefined ? {} : { storeMarker: marker.id }) });
  writesExclusively(db, events);
  return {
    workspaces: workspaceRepo(db),
    sources: sourceRepo(db),
    domains: domainRepo(db),
    challenges: challengeRepo(db),
    certificates: certificateRepo(db),
    acmeAccounts: acmeAccountRepo(db),
    ...certLifecycleRepos(db),
    events,
    ...sqliteControlRepos(db),
    async close() {
      await events.close();
      db.close();
      marker?.close();
    },
  };
}

/**
 * From here on, every write on `db` (a statement that changes something, a transaction) runs
 * through `events.exclusively`, so it never waits out a transaction the event writer holds; and
 * transactions begin `IMMEDIATE` (the write lock first), so one that reads before it writes never
 * meets a snapshot another connection's commit has made stale (`SQLITE_BUSY_SNAPSHOT`).
 */
function writesExclusively(db: Database, events: SqliteEventLog): void {
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const st = prepare(sql);
    if (st.reader) return st;
    const run = st.run.bind(st);
    st.run = ((...args: unknown[]) => events.exclusively(() => run(...(args as [])))) as typeof st.run;
    return st;
  }) as typeof db.prepare;
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const tx = transaction(fn);
    const immediate = (...args: unknown[]) => events.exclusively(() => tx.immediate(...(args as never[])));
    return Object.assign(immediate, { default: immediate, immediate, deferred: immediate, exclusive: (...args: unknown[]) => events.exclusively(() => tx.exclusive(...(args as never[]))) });
  }) as typeof db.transaction;
}

/**
 * Applies the migrations the database lacks, each in a write transaction that reads the version
 * again under the lock: two processes opening a new database at once apply each one once.
 */
function migrate(db: Database): void {
  // Up to date (the usual case): no write lock asked for.
  if ((db.pragma('user_version', { simple: true }) as number) >= SQLITE_MIGRATIONS.length) return;
  for (;;) {
    const applied = db.transaction(() => {
      const done = db.pragma('user_version', { simple: true }) as number;
      const sql = SQLITE_MIGRATIONS[done];
      if (sql === undefined) return false;
      db.exec(sql);
      db.pragma(`user_version = ${done + 1}`);
      return true;
    }).immediate();
    if (!applied) return;
  }
}

function workspaceRepo(db: Database): WorkspaceRepo {
  const toWs = (r: WsRow): Workspace => ({ id: r.id, name: r.name, plan: r.plan, createdAt: r.created_at });
  return {
    async create(w) {
      db.prepare('INSERT INTO workspaces (id, name, plan, created_at) VALUES (?, ?, ?, ?)').run(w.id, w.name, w.plan, w.createdAt);
    },
    async get(id) {
      const r = db.prepare('SELECT * FROM workspaces WHERE id = ?').get(id) as WsRow | undefined;
      return r && toWs(r);
    },
    async list() {
      return (db.prepare('SELECT * FROM workspaces ORDER BY created_at').all() as WsRow[]).map(toWs);
    },
  };
}

function sourceRepo(db: Database): SourceRepo {
  return {
    async create(s) {
      db.prepare('INSERT INTO sources (id, workspace_id, name, type, write_key, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(s.id, s.workspaceId, s.name, s.type, s.writeKey, s.enabled ? 1 : 0, s.createdAt);
    },
    async get(id) {
      const r = db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SrcRow | undefined;
      return r && toSource(r);
    },
    async byWriteKey(writeKey) {
      const r = db.prepare('SELECT * FROM sources WHERE write_key = ?').get(writeKey) as SrcRow | undefined;
      return r && toSource(r);
    },
    async listByWorkspace(workspaceId) {
      return (db.prepare('SELECT * FROM sources WHERE workspace_id = ? ORDER BY created_at').all(workspaceId) as SrcRow[]).map(toSource);
    },
    async listAll() {
      return (db.prepare('SELECT * FROM sources').all() as SrcRow[]).map(toSource);
    },
    async domainOf(sourceId) {
      const r = db.prepare(
        `SELECT d.* FROM custom_domains d JOIN custom_domain_sources l ON l.domain_id = d.id WHERE l.source_id = ?`,
      ).get(sourceId) as DomainRow | undefined;
      return r && toDomain(db, r);
    },
  };
}

function domainRepo(db: Database): DomainRepo {
  const insertHistory = db.prepare(
    'INSERT INTO domain_history (domain_id, at, from_kind, to_kind, reason, message) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const addHistory = (id: string, h: DomainHistoryEntry) => insertHistory.run(id, h.at, h.from, h.to, h.reason, h.message);
  const createTx = db.transaction((d: CustomDomain, h: DomainHistoryEntry): StoreConflict | null => {
    if (db.prepare(`SELECT 1 FROM custom_domains WHERE domain = ? AND state_kind NOT IN ('removed','replaced')`).get(d.domain)) return 'domain_taken';
    for (const sid of d.sourceIds) {
      if (db.prepare('SELECT 1 FROM custom_domain_sources WHERE source_id = ?').get(sid)) return 'source_already_connected';
    }
    db.prepare(
      `INSERT INTO custom_domains (id, workspace_id, domain, cdn_host, api_host, state_kind, state_json, version,
        zone_serial, next_check_at, check_attempts, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(d.id, d.workspaceId, d.domain, d.hosts.cdn, d.hosts.api, d.state.kind, JSON.stringify(d.state), d.version,
      d.zoneSerial, d.nextCheckAt, d.checkAttempts, d.createdAt, d.updatedAt);
    for (const sid of d.sourceIds) db.prepare('INSERT INTO custom_domain_sources (source_id, domain_id) VALUES (?, ?)').run(sid, d.id);
    addHistory(d.id, h);
    return null;
  });
  const transitionTx = db.transaction((id: string, expected: number, next: DomainState, h: DomainHistoryEntry,
    s: { nextCheckAt: number | null; checkAttempts: number }): boolean => {
    const r = db.prepare(
      `UPDATE custom_domains SET state_kind = ?, state_json = ?, version = version + 1, zone_serial = zone_serial + 1,
        next_check_at = ?, check_attempts = ?, updated_at = ? WHERE id = ? AND version = ?`,
    ).run(next.kind, JSON.stringify(next), s.nextCheckAt, s.checkAttempts, h.at, id, expected);
    if (r.changes === 0) return false;
    addHistory(id, h);
    // A terminal domain frees its sources for another custom domain.
    if (TERMINAL.includes(next.kind)) db.prepare('DELETE FROM custom_domain_sources WHERE domain_id = ?').run(id);
    return true;
  });
  const get = (id: string) => {
    const r = db.prepare('SELECT * FROM custom_domains WHERE id = ?').get(id) as DomainRow | undefined;
    return r && toDomain(db, r);
  };
  return {
    async create(d, h) {
      try {
        const conflict = createTx(d, h);
        return conflict ? { ok: false, conflict } : { ok: true };
      } catch (err) {
        // The unique index is the final arbiter when two creates race past the pre-checks.
        if (isUniqueViolation(err)) return { ok: false, conflict: 'domain_taken' };
        throw err;
      }
    },
    get: async (id) => get(id),
    async byName(domain) {
      const r = db.prepare(`SELECT * FROM custom_domains WHERE domain = ? AND state_kind NOT IN ('removed','replaced')`).get(domain) as DomainRow | undefined;
      return r && toDomain(db, r);
    },
    async liveOverlapping(domain) {
      const labels = domain.split('.');
      const ancestors = labels.map((_, i) => labels.slice(i).join('.'));
      // Hostnames hold only [a-z0-9.-], so the LIKE pattern needs no escaping.
      const rows = db.prepare(
        `SELECT * FROM custom_domains WHERE state_kind NOT IN ('removed','replaced')
          AND (domain IN (SELECT value FROM json_each(?)) OR domain LIKE ?)`,
      ).all(JSON.stringify(ancestors), `%.${domain}`) as DomainRow[];
      return rows.map((r) => toDomain(db, r));
    },
    async listByWorkspace(workspaceId) {
      return (db.prepare('SELECT * FROM custom_domains WHERE workspace_id = ? ORDER BY created_at').all(workspaceId) as DomainRow[]).map((r) => toDomain(db, r));
    },
    async listLive() {
      return (db.prepare(`SELECT * FROM custom_domains WHERE state_kind NOT IN ('removed','replaced')`).all() as DomainRow[]).map((r) => toDomain(db, r));
    },
    async listDue(now, limit) {
      return (db.prepare(
        `SELECT * FROM custom_domains WHERE next_check_at IS NOT NULL AND next_check_at <= ?
          AND state_kind NOT IN ('removed','replaced') ORDER BY next_check_at LIMIT ?`,
      ).all(now, limit) as DomainRow[]).map((r) => toDomain(db, r));
    },
    async transition(id, expected, next, h, s) {
      return transitionTx(id, expected, next, h, s) ? get(id) : undefined;
    },
    async reschedule(id, nextCheckAt, checkAttempts, lastCheck) {
      if (lastCheck) {
        db.prepare('UPDATE custom_domains SET next_check_at = ?, check_attempts = ?, state_json = ? WHERE id = ? AND state_kind = ?')
          .run(nextCheckAt, checkAttempts, JSON.stringify(lastCheck), id, lastCheck.kind);
      } else {
        db.prepare('UPDATE custom_domains SET next_check_at = ?, check_attempts = ? WHERE id = ?').run(nextCheckAt, checkAttempts, id);
      }
    },
    async bumpSerial(id) {
      const r = db.prepare('UPDATE custom_domains SET zone_serial = zone_serial + 1 WHERE id = ? RETURNING zone_serial').get(id) as { zone_serial: number } | undefined;
      return r?.zone_serial ?? 0;
    },
    async history(id) {
      return (db.prepare('SELECT * FROM domain_history WHERE domain_id = ? ORDER BY id').all(id) as HistRow[])
        .map((r) => ({ at: r.at, from: r.from_kind as DomainStateKind | null, to: r.to_kind as DomainStateKind, reason: r.reason, message: r.message }));
    },
  };
}

function challengeRepo(db: Database): ChallengeRepo {
  return {
    async add(name, value, at) {
      db.prepare('INSERT INTO acme_challenges (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(name, value, at);
    },
    async remove(name, value) {
      db.prepare('DELETE FROM acme_challenges WHERE name = ? AND value = ?').run(name, value);
    },
    async listAll() {
      return db.prepare('SELECT name, value FROM acme_challenges ORDER BY created_at').all() as Array<{ name: Hostname; value: string }>;
    },
  };
}

function certificateRepo(db: Database): CertificateRepo {
  const putTx = db.transaction((c: StoredCertificate) => {
    db.prepare(`UPDATE certificates SET status = 'superseded' WHERE domain_id = ? AND status = 'valid'`).run(c.domainId);
    db.prepare(
      `INSERT INTO certificates (id, domain_id, names_json, status, issuer_kind, issuer, directory_url, serial_hex,
        not_before, not_after, cert_pem, chain_pem, key_sealed, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(c.id, c.domainId, JSON.stringify(c.names), c.status, c.issuerKind, c.issuer, c.directoryUrl, c.serialHex,
      c.notBefore, c.notAfter, c.certPem, c.chainPem, c.keySealed, c.createdAt);
  });
  return {
    async putValid(c) {
      putTx(c);
    },
    async currentFor(domainId) {
      const r = db.prepare(`SELECT * FROM certificates WHERE domain_id = ? AND status = 'valid' ORDER BY created_at DESC LIMIT 1`).get(domainId) as CertRow | undefined;
      return r && toCert(r);
    },
    async listValid() {
      return (db.prepare(`SELECT * FROM certificates WHERE status = 'valid'`).all() as CertRow[]).map(toCert);
    },
    async setStatus(id, status: CertificateStatus) {
      db.prepare('UPDATE certificates SET status = ? WHERE id = ?').run(status, id);
    },
  };
}

function acmeAccountRepo(db: Database): AcmeAccountRepo {
  return {
    async get(directoryUrl) {
      const r = db.prepare('SELECT account_url, key_sealed FROM acme_accounts WHERE directory_url = ?').get(directoryUrl) as
        { account_url: string; key_sealed: string } | undefined;
      return r && { accountUrl: r.account_url, keySealed: r.key_sealed };
    },
    async put(directoryUrl, v) {
      db.prepare(`INSERT INTO acme_accounts (directory_url, account_url, key_sealed) VALUES (?, ?, ?)
        ON CONFLICT (directory_url) DO UPDATE SET account_url = excluded.account_url, key_sealed = excluded.key_sealed`)
        .run(directoryUrl, v.accountUrl, v.keySealed);
    },
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

interface WsRow { id: string; name: string; plan: string; created_at: number }
interface SrcRow { id: string; workspace_id: string; name: string; type: string; write_key: string; enabled: number; created_at: number }
interface DomainRow {
  id: string; workspace_id: string; domain: string; cdn_host: string; api_host: string; state_kind: string; state_json: string;
  version: number; zone_serial: number; next_check_at: number | null; check_attempts: number; created_at: number; updated_at: number;
}
interface HistRow { at: number; from_kind: string | null; to_kind: string; reason: string; message: string }
function toSource(r: SrcRow): Source {
  return { id: r.id, workspaceId: r.workspace_id, name: r.name, type: r.type, writeKey: r.write_key, enabled: r.enabled === 1, createdAt: r.created_at };
}

function toDomain(db: Database, r: DomainRow): CustomDomain {
  const sourceIds = (db.prepare('SELECT source_id FROM custom_domain_sources WHERE domain_id = ? ORDER BY source_id').all(r.id) as Array<{ source_id: string }>)
    .map((x) => x.source_id);
  return {
    id: r.id, workspaceId: r.workspace_id, domain: r.domain as Hostname,
    hosts: { cdn: r.cdn_host as Hostname, api: r.api_host as Hostname },
    state: JSON.parse(r.state_json) as DomainState, version: r.version, zoneSerial: r.zone_serial,
    nextCheckAt: r.next_check_at, checkAttempts: r.check_attempts, sourceIds, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

