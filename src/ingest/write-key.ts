import { AppError, type HostScope, type Source, type SourceLookup } from '../core/index.ts';
import { IngestErrors } from './errors.ts';

/**
 * The write key of an `Authorization: Basic` header: the user-id of base64(`user-id:password`)
 * (RFC 7617 §2), also accepted without the colon (Segment's backward compatibility,
 * segment-compat §4.1). Other schemes (`Bearer` for OAuth) and blank user-ids give undefined.
 */
export function basicWriteKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = (colon < 0 ? decoded : decoded.slice(0, colon)).trim();
  return user === '' ? undefined : user;
}

/**
 * The source a request acts for: the first non-empty candidate key (header, then body) must
 * belong to an enabled source, else `ERR_INGEST_INVALID_WRITE_KEY` (401); on a custom domain the
 * source must be connected to it, else `ERR_INGEST_SOURCE_NOT_ON_DOMAIN` (403).
 */
export function authorise(sources: SourceLookup, scope: HostScope, candidates: readonly unknown[]): Source {
  const key = candidates.find((c): c is string => typeof c === 'string' && c !== '');
  if (key === undefined) throw new AppError(IngestErrors.INVALID_WRITE_KEY, 'no write key in the Authorization header or the body');
  const source = sources.byWriteKey(key);
  if (source === undefined || !source.enabled) throw new AppError(IngestErrors.INVALID_WRITE_KEY, 'unknown or disabled write key');
  if (scope.kind === 'custom' && !scope.sourceIds.has(source.id)) throw new AppError(IngestErrors.SOURCE_NOT_ON_DOMAIN);
  return source;
}
