import type { CertificateStatus, Hostname, StoredCertificate } from '../core/index.ts';

/** A row of the `certificates` table as better-sqlite3 returns it. */
export interface CertRow {
  id: string; domain_id: string; names_json: string; status: string; issuer_kind: string; issuer: string; directory_url: string | null;
  serial_hex: string; not_before: number; not_after: number; cert_pem: string; chain_pem: string; key_sealed: string; created_at: number;
}

/** Maps a `certificates` row to the stored certificate it holds. */
export function toCert(r: CertRow): StoredCertificate {
  return {
    id: r.id, domainId: r.domain_id, names: JSON.parse(r.names_json) as Hostname[], status: r.status as CertificateStatus,
    issuerKind: r.issuer_kind === 'acme' ? 'acme' : 'local', issuer: r.issuer, directoryUrl: r.directory_url,
    serialHex: r.serial_hex, notBefore: r.not_before, notAfter: r.not_after, certPem: r.cert_pem, chainPem: r.chain_pem,
    keySealed: r.key_sealed, createdAt: r.created_at,
  };
}
