import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zc, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** A content coding the CDN serves (RFC 9110 §8.4.1). */
export type Coding = 'br' | 'gzip' | 'identity';

/** One stored representation of an asset: its bytes in one coding and its strong entity tag. */
export interface Representation {
  readonly coding: Coding;
  readonly body: Buffer;
  /** Strong entity tag, quoted (RFC 9110 §8.8.3); differs per coding as the bytes differ. */
  readonly etag: string;
}

/** An asset precompressed once into every coding the CDN serves. */
export type EncodedAsset = Readonly<Record<Coding, Representation>>;

/**
 * Compresses `body` once with gzip (level 9) and brotli (quality 11, text mode) off the event
 * loop (zlib's thread pool) and tags each representation with a strong ETag derived from the
 * identity bytes and the coding.
 */
export async function encodeAsset(body: Buffer): Promise<EncodedAsset> {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  const [gz, br] = await Promise.all([
    gzipAsync(body, { level: 9 }),
    brotliAsync(body, {
      params: {
        [zc.BROTLI_PARAM_MODE]: zc.BROTLI_MODE_TEXT,
        [zc.BROTLI_PARAM_QUALITY]: zc.BROTLI_MAX_QUALITY,
        [zc.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  ]);
  const rep = (coding: Coding, bytes: Buffer): Representation => ({ coding, body: bytes, etag: `"${hash}-${coding}"` });
  return { identity: rep('identity', body), gzip: rep('gzip', gz), br: rep('br', br) };
}

const PREFERENCE: readonly Coding[] = ['br', 'gzip', 'identity'];

/**
 * Picks the coding to send for an `Accept-Encoding` value (RFC 9110 §12.5.3): the acceptable
 * coding with the highest q-value, ties broken by size (br, gzip, identity). `*` covers codings
 * not listed; `x-gzip` counts as gzip. identity is acceptable unless refused by `identity;q=0`
 * or `*;q=0`; when nothing is acceptable the identity bytes are sent anyway, as §12.5.3 allows.
 */
export function negotiateCoding(acceptEncoding: string | undefined): Coding {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return 'identity';
  const q = parseAcceptEncoding(acceptEncoding);
  const star = q.get('*');
  const weight = (c: Coding): number => q.get(c) ?? (c === 'identity' ? (star === 0 ? 0 : star ?? 0.001) : star ?? 0);
  let best: Coding = 'identity';
  let bestQ = 0;
  for (const c of PREFERENCE) {
    const w = weight(c);
    if (w > bestQ) {
      best = c;
      bestQ = w;
    }
  }
  return best;
}

function parseAcceptEncoding(value: string): Map<string, number> {
  const q = new Map<string, number>();
  for (const part of value.split(',')) {
    const [token, ...params] = part.split(';');
    let name = token!.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) weight = Math.min(1, Number(m[1]) || 0);
    }
    q.set(name, Math.max(q.get(name) ?? 0, weight));
  }
  return q;
}

/**
 * Whether an `If-None-Match` value matches `etag` (RFC 9110 §13.1.2: weak comparison, `*`
 * matches any current representation).
 */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const value = ifNoneMatch.trim();
  if (value === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  for (const tag of value.split(',')) {
    if (tag.trim().replace(/^W\//, '') === opaque) return true;
  }
  return false;
}
