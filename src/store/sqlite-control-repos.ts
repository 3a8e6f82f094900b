import type { Database } from 'better-sqlite3';
import type {
  AuditEntry, AuditLog, ClaimRecord, ClaimRepo, ControlRepos, DeliveryRecord, DeliveryStatus, DomainRequestRecord,
  DomainRequestRepo, TokenRecord, TokenRepo, WebhookRecord, WebhookRepo,
} from './control-types.ts';

/** The SQLite implementations of {@link ControlRepos} over an open, migrated database. */
export function sqliteControlRepos(db: Database): ControlRepos {
  return { domainRequests: domainRequestRepo(db), tokens: tokenRepo(db), audit: auditLog(db), claims: claimRepo(db), webhooks: webhookRepo(db) };
}

interface ReqRow { domain_id: string; subject: string; description: string | null; uses_csp: number; primary_domain_id: string | null; replaces_domain_id: string | null; check_requested_at: number | null; created_at: number }

function domainRequestRepo(db: Database): DomainRequestRepo {
  const toRec = (r: ReqRow): DomainRequestRecord => ({
    domainId: r.domain_id, subject: r.subject, description: r.description, usesCsp: r.uses_csp === 1, primaryDomainId: r.primary_domain_id,
    replacesDomainId: r.replaces_domain_id, checkRequestedAt: r.check_requested_at, createdAt: r.created_at,
  });
  const moveTx = db.transaction((from: string, to: string) => {
    db.prepare('UPDATE custom_domain_sources SET domain_id = ? WHERE domain_id = ?').run(to, from);
  });
  return {
    async put(r) {
      db.prepare(`INSERT INTO domain_requests (domain_id, subject, description, uses_csp, primary_domain_id, replaces_domain_id, check_requested_at, created_at)
        VALUES (?,?,?,?,?,?,?,?)`).run(r.domainId, r.subject, r.description, r.usesCsp ? 1 : 0, r.primaryDomainId, r.replacesDomainId, r.checkRequestedAt, r.createdAt);
    },
    async get(domainId) {
      const r = db.prepare('SELECT * FROM domain_requests WHERE domain_id = ?').get(domainId) as ReqRow | undefined;
      return r && toRec(r);
    },
    async replacementOf(domainId) {
      const r = db.prepare(`SELECT q.domain_id FROM domain_requests q JOIN custom_domains d ON d.id = q.domain_id
        WHERE q.replaces_domain_id = ? AND d.state_kind NOT IN ('removed','replaced')`).get(domainId) as { domain_id: string } | undefined;
      return r?.domain_id;
    },
    async markCheckRequested(domainId, at, minIntervalMs) {
      const r = db.prepare(`UPDATE domain_requests SET check_requested_at = ? WHERE domain_id = ?
        AND (check_requested_at IS NULL OR check_requested_at <= ?)`).run(at, domainId, at - minIntervalMs);
      return r.changes === 1;
    },
    async moveSources(from, to) {
      moveTx(from, to);
    },
    async holdersOf(domain) {
      return (db.prepare('SELECT DISTINCT workspace_id FROM custom_domains WHERE domain = ?').all(domain) as Array<{ workspace_id: string }>).map((r) => r.workspace_id);
    },
  };
}

interface TokenRow { id: string; token_hash: string; workspace_id: string | null; name: string; created_at: number; revoked_at: number | null }

function tokenRepo(db: Database): TokenRepo {
  const toRec = (r: TokenRow): TokenRecord => ({ id: r.id, hash: r.token_hash, workspaceId: r.workspace_id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at });
  return {
    async create(t) {
      db.prepare('INSERT INTO api_tokens (id, token_hash, workspace_id, name, created_at, revoked_at) VALUES (?,?,?,?,?,?)')
        .run(t.id, t.hash, t.workspaceId, t.name, t.createdAt, t.revokedAt);
    },
    async byHash(hash) {
      const r = db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(hash) as TokenRow | undefined;
      return r && toRec(r);
    },
    async listByWorkspace(workspaceId) {
      return (db.prepare('SELECT * FROM api_tokens WHERE workspace_id = ? ORDER BY created_at').all(workspaceId) as TokenRow[]).map(toRec);
    },
    async revoke(id, at) {
      return db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
    },
  };
}

interface AuditRow { seq: number; at: number; actor: string; workspace_id: string | null; action: string; target: string | null; detail_json: string }

function auditLog(db: Database): AuditLog {
  const toEntry = (r: AuditRow): AuditEntry => ({
    seq: r.seq, at: r.at, actor: r.actor, workspaceId: r.workspace_id, action: r.action, target: r.target, detail: JSON.parse(r.detail_json) as Record<string, unknown>,
  });
  return {
    async append(e) {
      db.prepare('INSERT INTO audit_log (at, actor, workspace_id, action, target, detail_json) VALUES (?,?,?,?,?,?)')
        .run(e.at, e.actor, e.workspaceId, e.action, e.target, JSON.stringify(e.detail));
    },
    async list(workspaceId, limit) {
      const rows = workspaceId === undefined
        ? db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit)
        : db.prepare('SELECT * FROM audit_log WHERE workspace_id = ? ORDER BY seq DESC LIMIT ?').all(workspaceId, limit);
      return (rows as AuditRow[]).map(toEntry);
    },
  };
}

interface ClaimRow { domain: string; workspace_id: string; token: string; created_at: number; verified_at: number | null }

function claimRepo(db: Database): ClaimRepo {
  const toRec = (r: ClaimRow): ClaimRecord => ({ domain: r.domain, workspaceId: r.workspace_id, token: r.token, createdAt: r.created_at, verifiedAt: r.verified_at });
  const get = (domain: string, ws: string) => {
    const r = db.prepare('SELECT * FROM domain_claims WHERE domain = ? AND workspace_id = ?').get(domain, ws) as ClaimRow | undefined;
    return r && toRec(r);
  };
  return {
    async ensure(c) {
      db.prepare('INSERT INTO domain_claims (domain, workspace_id, token, created_at, verified_at) VALUES (?,?,?,?,NULL) ON CONFLICT DO NOTHING')
        .run(c.domain, c.workspaceId, c.token, c.createdAt);
      return get(c.domain, c.workspaceId)!;
    },
    get: async (domain, ws) => get(domain, ws),
    async markVerified(domain, ws, at) {
      db.prepare('UPDATE domain_claims SET verified_at = ? WHERE domain = ? AND workspace_id = ?').run(at, domain, ws);
    },
  };
}

interface HookRow { id: string; workspace_id: string; url: string; secret: string; created_at: number }
interface DeliveryRow {
  id: string; webhook_id: string; event: string; body: string; status: string; attempts: number; next_attempt_at: number | null;
  last_status: number | null; last_error: string | null; created_at: number; updated_at: number;
}

function webhookRepo(db: Database): WebhookRepo {
  const toHook = (r: HookRow): WebhookRecord => ({ id: r.id, workspaceId: r.workspace_id, url: r.url, secret: r.secret, createdAt: r.created_at });
  const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
    id: r.id, webhookId: r.webhook_id, event: r.event, body: r.body, status: r.status as DeliveryStatus, attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at, lastStatusCode: r.last_status, lastError: r.last_error, createdAt: r.created_at, updatedAt: r.updated_at,
  });
  const removeTx = db.transaction((id: string, at: number): boolean => {
    if (db.prepare('UPDATE webhooks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(at, id).changes === 0) return false;
    db.prepare(`UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'webhook deleted', updated_at = ?
      WHERE webhook_id = ? AND status = 'pending'`).run(at, id);
    return true;
  });
  return {
    async create(w) {
      db.prepare('INSERT INTO webhooks (id, workspace_id, url, secret, created_at) VALUES (?,?,?,?,?)').run(w.id, w.workspaceId, w.url, w.secret, w.createdAt);
    },
    async get(id) {
      const r = db.prepare('SELECT * FROM webhooks WHERE id = ? AND deleted_at IS NULL').get(id) as HookRow | undefined;
      return r && toHook(r);
    },
    async listByWorkspace(ws) {
      return (db.prepare('SELECT * FROM webhooks WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY created_at').all(ws) as HookRow[]).map(toHook);
    },
    remove: async (id, at) => removeTx(id, at),
    async enqueue(d) {
      db.prepare(`INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, attempts, next_attempt_at, last_status, last_error, created_at, updated_at)
        VALUES (?,?,?,?,?,?,?,?,?,?,?)`).run(d.id, d.webhookId, d.event, d.body, d.status, d.attempts, d.nextAttemptAt, d.lastStatusCode, d.lastError, d.createdAt, d.updatedAt);
    },
    async due(now, limit) {
      return (db.prepare(`SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`)
        .all(now, limit) as DeliveryRow[]).map(toDelivery);
    },
    async recordAttempt(id, o) {
      db.prepare(`UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, updated_at = ? WHERE id = ?`)
        .run(o.status, o.attempts, o.nextAttemptAt, o.lastStatusCode, o.lastError, o.updatedAt, id);
    },
    async deliveries(webhookId, limit) {
      return (db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(webhookId, limit) as DeliveryRow[]).map(toDelivery);
    },
  };
}
