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
];
