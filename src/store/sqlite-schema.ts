/**
 * Schema migrations of the SQLite store, applied in order inside one transaction each;
 * `PRAGMA user_version` records how many ran. Never edit a released migration: append one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE workspaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL, created_at INTEGER NOT NULL
  );
  CREATE TABLE sources (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL, type TEXT NOT NULL, write_key TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL
  );
  CREATE INDEX sources_by_workspace ON sources(workspace_id);
  CREATE TABLE custom_domains (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    domain TEXT NOT NULL, cdn_host TEXT NOT NULL, api_host TEXT NOT NULL,
    state_kind TEXT NOT NULL, state_json TEXT NOT NULL, version INTEGER NOT NULL,
    zone_serial INTEGER NOT NULL, next_check_at INTEGER, check_attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  -- A subdomain belongs to one workspace at a time: unique among live domains.
  CREATE UNIQUE INDEX custom_domains_live_name ON custom_domains(domain)
    WHERE state_kind NOT IN ('removed', 'replaced');
  CREATE INDEX custom_domains_due ON custom_domains(next_check_at) WHERE next_check_at IS NOT NULL;
  -- A source is connected to at most one custom domain (rows are deleted when the domain ends).
  CREATE TABLE custom_domain_sources (
    source_id TEXT PRIMARY KEY REFERENCES sources(id),
    domain_id TEXT NOT NULL REFERENCES custom_domains(id)
  );
  CREATE INDEX custom_domain_sources_by_domain ON custom_domain_sources(domain_id);
  CREATE TABLE domain_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, domain_id TEXT NOT NULL REFERENCES custom_domains(id),
    at INTEGER NOT NULL, from_kind TEXT, to_kind TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL
  );
  CREATE INDEX domain_history_by_domain ON domain_history(domain_id, id);
  CREATE TABLE acme_challenges (
    name TEXT NOT NULL, value TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (name, value)
  );
  CREATE TABLE certificates (
    id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES custom_domains(id),
    names_json TEXT NOT NULL, status TEXT NOT NULL, issuer_kind TEXT NOT NULL, issuer TEXT NOT NULL,
    directory_url TEXT, serial_hex TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
    cert_pem TEXT NOT NULL, chain_pem TEXT NOT NULL, key_sealed TEXT NOT NULL, created_at INTEGER NOT NULL
  );
  CREATE INDEX certificates_by_domain ON certificates(domain_id, status);
  CREATE TABLE acme_accounts (
    directory_url TEXT PRIMARY KEY, account_url TEXT NOT NULL, key_sealed TEXT NOT NULL
  );
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
    type TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, received_at INTEGER NOT NULL, payload TEXT NOT NULL
  );
  -- Deduplication: one stored event per (source, messageId).
  CREATE UNIQUE INDEX events_dedup ON events(source_id, message_id);
  `,
  `
  -- Certificate lifecycle: one renewal schedule per domain (keyed by its current certificate),
  -- a journal of ACME orders (crash resume, duplicate guard and the CA budget ledger) and
  -- revocation bookkeeping on certificates.
  CREATE TABLE cert_renewals (
    domain_id TEXT PRIMARY KEY REFERENCES custom_domains(id),
    certificate_id TEXT NOT NULL, renew_at INTEGER NOT NULL, basis TEXT NOT NULL,
    window_start INTEGER, window_end INTEGER, ari_checked_at INTEGER, ari_next_check_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0, last_error_json TEXT, updated_at INTEGER NOT NULL
  );
  CREATE INDEX cert_renewals_due ON cert_renewals(renew_at);
  CREATE TABLE acme_orders (
    id TEXT PRIMARY KEY, domain_id TEXT NOT NULL, names_key TEXT NOT NULL, directory_url TEXT NOT NULL,
    purpose TEXT NOT NULL, replaces TEXT, order_url TEXT, key_sealed TEXT, status TEXT NOT NULL,
    error_code TEXT, certificate_id TEXT, created_at INTEGER NOT NULL, finished_at INTEGER
  );
  -- At most one open order per name set: a second order for the same names is refused by the database.
  CREATE UNIQUE INDEX acme_orders_one_open ON acme_orders(names_key) WHERE status = 'open';
  CREATE INDEX acme_orders_by_directory ON acme_orders(directory_url, created_at);
  CREATE INDEX acme_orders_by_names ON acme_orders(names_key, created_at);
  ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
  ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
  `,
  `
  -- Control plane: request form, admin tokens, audit log, takeover claims, webhooks.
  CREATE TABLE domain_requests (
    domain_id TEXT PRIMARY KEY REFERENCES custom_domains(id), subject TEXT NOT NULL, description TEXT,
    uses_csp INTEGER NOT NULL, primary_domain_id TEXT REFERENCES custom_domains(id),
    replaces_domain_id TEXT REFERENCES custom_domains(id), check_requested_at INTEGER, created_at INTEGER NOT NULL
  );
  CREATE INDEX domain_requests_by_replaced ON domain_requests(replaces_domain_id) WHERE replaces_domain_id IS NOT NULL;
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, workspace_id TEXT REFERENCES workspaces(id),
    name TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER
  );
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, workspace_id TEXT,
    action TEXT NOT NULL, target TEXT, detail_json TEXT NOT NULL
  );
  CREATE INDEX audit_log_by_workspace ON audit_log(workspace_id, seq);
  CREATE TABLE domain_claims (
    domain TEXT NOT NULL, workspace_id TEXT NOT NULL REFERENCES workspaces(id), token TEXT NOT NULL,
    created_at INTEGER NOT NULL, verified_at INTEGER, PRIMARY KEY (domain, workspace_id)
  );
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id), url TEXT NOT NULL,
    secret TEXT NOT NULL, created_at INTEGER NOT NULL, deleted_at INTEGER
  );
  CREATE INDEX webhooks_by_workspace ON webhooks(workspace_id);
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL REFERENCES webhooks(id), event TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER, last_status INTEGER, last_error TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, created_at);
  `,
  `
  -- Event payloads of file databases move to append-only segment files (JSON Lines) beside the
  -- database; such rows keep an empty payload and the payload's position in the log.
  ALTER TABLE events ADD COLUMN log_segment INTEGER;
  ALTER TABLE events ADD COLUMN log_offset INTEGER;
  ALTER TABLE events ADD COLUMN log_length INTEGER;
  `,
  `
  -- Segments written as groups (a header line before the payload lines): how far each one's
  -- index rows are committed. Rows a crash lost are indexed again from there at the next start.
  CREATE TABLE event_segments (segment INTEGER PRIMARY KEY, indexed_to INTEGER NOT NULL);
  `,
  `
  -- Deduplication moves to a window of recent keys kept by the writer (a unique index on random
  -- messageIds costs a random page write per event); reads by source get an index of their own.
  DROP INDEX events_dedup;
  CREATE INDEX events_by_source ON events(source_id, seq);
  `,
];
