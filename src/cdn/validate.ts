import { AppError } from '../core/index.ts';
import { CdnErrors } from './errors.ts';

// A DNS name or a bracketed IPv6 literal, with an optional port (RFC 3986 §3.2.2-§3.2.3).
const HOST_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
// A subset of the unreserved URI characters (RFC 3986 §2.3): safe in a path and in a JS string.
const WRITE_KEY = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * Throws `ERR_CDN_INVALID_HOST` unless `host` is `name[:port]` or `[v6][:port]`. Hosts are
 * spliced into JavaScript and JSON served to browsers, so nothing else may pass.
 */
export function assertHost(host: string): void {
  if (host.length > 260 || !HOST_PORT.test(host)) throw new AppError(CdnErrors.INVALID_HOST, `"${host}" is not a host[:port]`);
}

/** Whether `key` has the shape of a write key (letters, digits, `-`, `_`; 1 to 100). */
export function isWriteKeyShaped(key: string): boolean {
  return WRITE_KEY.test(key);
}

/** Throws `ERR_CDN_INVALID_WRITE_KEY` unless {@link isWriteKeyShaped}. */
export function assertWriteKey(key: string): void {
  if (!isWriteKeyShaped(key)) throw new AppError(CdnErrors.INVALID_WRITE_KEY);
}
