import { X509Certificate } from 'node:crypto';

/** Facts read from one X.509 certificate. Times are ms since the epoch (second precision). */
export interface CertificateInfo {
  /** Serial number as lowercase hex digits, no separators (node:crypto's `serialNumber`, lowercased). */
  readonly serialHex: string;
  /** The issuer's common name ('' when the issuer has none). */
  readonly issuer: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The dNSName entries of the subjectAltName extension, in certificate order. */
  readonly names: string[];
}

/**
 * Reads the serial, issuer CN, validity and SAN DNS names of the first certificate in `certPem`
 * (node:crypto `X509Certificate`). Throws the parser's error when the PEM is not a certificate.
 */
export function certificateInfo(certPem: string): CertificateInfo {
  const cert = new X509Certificate(certPem);
  return {
    serialHex: cert.serialNumber.toLowerCase(),
    issuer: distinguishedNameCn(cert.issuer),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    names: sanDnsNames(cert.subjectAltName),
  };
}

/** The CN of a distinguished name as node:crypto prints it (one `KEY=value` per line). */
export function distinguishedNameCn(dn: string): string {
  const line = dn.split('\n').find((l) => l.startsWith('CN='));
  return line === undefined ? '' : line.slice(3);
}

/**
 * The `DNS:` entries of node:crypto's subjectAltName string. DNS names cannot hold `,` or `"`
 * (LDH only), so entries other than DNS names that need quoting are simply skipped.
 */
function sanDnsNames(san: string | undefined): string[] {
  if (san === undefined) return [];
  return san
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificate blocks, each normalised to end with a newline. */
export function splitPemCertificates(bundle: string): string[] {
  return (bundle.match(PEM_CERT) ?? []).map((block) => `${block}\n`);
}
