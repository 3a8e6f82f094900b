import { X509Certificate } from 'node:crypto';

/** A CA's suggested renewal window for one certificate (RFC 9773 §4.2), ms since the epoch. */
export interface RenewalWindow {
  readonly start: number;
  readonly end: number;
  /** Page explaining an unusual window (e.g. a mass revocation), when the CA gave one. */
  readonly explanationUrl?: string;
  /** When to ask again: the response's `Retry-After` (RFC 9773 §4.3), clamped to [1 h, 1 day] by the caller. */
  readonly retryAfterMs?: number;
}

/** OID 2.5.29.35 authorityKeyIdentifier, DER-encoded with its tag and length. */
const AKI_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);

/**
 * The ARI certificate identifier (RFC 9773 §4.1): base64url of the authority key identifier's
 * keyIdentifier, a dot, base64url of the DER serial number's content octets. Also the value of a
 * renewal order's `replaces` field (§5). Null when the certificate has no keyIdentifier.
 */
export function ariCertId(certPem: string): string | null {
  const cert = new X509Certificate(certPem);
  const keyId = authorityKeyId(cert.raw);
  if (keyId === null) return null;
  return `${keyId.toString('base64url')}.${serialContent(cert.serialNumber).toString('base64url')}`;
}

/** The DER INTEGER content of a serial given as hex: a leading zero keeps it positive (X.690 §8.3). */
function serialContent(serialHex: string): Buffer {
  const even = serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`;
  const bytes = Buffer.from(even, 'hex');
  return bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/**
 * The keyIdentifier ([0] IMPLICIT OCTET STRING) of the AuthorityKeyIdentifier extension
 * (RFC 5280 §4.2.1.1): after the OID come an optional `critical` BOOLEAN and the OCTET STRING
 * wrapping the extension's SEQUENCE.
 */
function authorityKeyId(der: Buffer): Buffer | null {
  const at = der.indexOf(AKI_OID);
  if (at < 0) return null;
  let pos = at + AKI_OID.length;
  if (der[pos] === 0x01) pos = readTlv(der, pos).end;
  if (der[pos] !== 0x04) return null;
  const octets = readTlv(der, pos);
  if (der[octets.start] !== 0x30) return null;
  const seq = readTlv(der, octets.start);
  if (der[seq.start] !== 0x80) return null;
  const keyId = readTlv(der, seq.start);
  return der.subarray(keyId.start, keyId.end);
}

/** Reads a DER tag-length-value at `pos`: where its content starts and ends. */
function readTlv(der: Buffer, pos: number): { start: number; end: number } {
  const first = der[pos + 1];
  if (first === undefined) throw new RangeError('truncated DER');
  if (first < 0x80) return { start: pos + 2, end: pos + 2 + first };
  const lengthBytes = first & 0x7f;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + (der[pos + 2 + i] ?? 0);
  const start = pos + 2 + lengthBytes;
  if (start + length > der.length) throw new RangeError('truncated DER');
  return { start, end: start + length };
}

/**
 * Reads a RenewalInfo response body (RFC 9773 §4.2): `suggestedWindow.start/end` as RFC 3339
 * dates, `end` after `start`. Null when the body is not a usable window (a CA answering garbage
 * must not move a renewal; the lifetime rule applies instead).
 */
export function parseRenewalInfo(body: unknown, retryAfterMs: number | null): RenewalWindow | null {
  if (typeof body !== 'object' || body === null) return null;
  const w = (body as { suggestedWindow?: { start?: unknown; end?: unknown } }).suggestedWindow;
  const start = typeof w?.start === 'string' ? Date.parse(w.start) : Number.NaN;
  const end = typeof w?.end === 'string' ? Date.parse(w.end) : Number.NaN;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return null;
  const explanation = (body as { explanationURL?: unknown }).explanationURL;
  return {
    start, end,
    ...(typeof explanation === 'string' ? { explanationUrl: explanation } : {}),
    ...(retryAfterMs === null ? {} : { retryAfterMs }),
  };
}
