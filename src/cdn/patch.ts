import { AppError } from '../core/index.ts';
import { CdnErrors } from './errors.ts';
import { assertHost, assertWriteKey } from './validate.ts';

/**
 * The literals of analytics-next's `standalone.js` that are rewritten when it is served
 * (segment-compat §6.3): the embedded write key placeholder, the default CDN origin, and the
 * default Tracking API host.
 */
export const PATCHED_LITERALS = {
  writeKey: '"__WRITE_KEY__"',
  cdnOrigin: 'https://cdn.segment.com',
  apiHost: '"api.segment.io/v1"',
} as const;

/** What one served variant of the bundle is patched for. */
export interface PatchTarget {
  readonly writeKey: string;
  /** CDN host[:port], no scheme. */
  readonly cdnHost: string;
  /** API host[:port], no scheme and no path. */
  readonly apiHost: string;
}

/**
 * Throws `ERR_CDN_BUNDLE_UNPATCHABLE` unless every literal of {@link PATCHED_LITERALS} occurs in
 * `source`; run once when the bundle is loaded so an upgraded build fails at start, not silently.
 */
export function assertPatchable(source: string): void {
  for (const [name, literal] of Object.entries(PATCHED_LITERALS)) {
    if (!source.includes(literal)) {
      throw new AppError(CdnErrors.BUNDLE_UNPATCHABLE, `standalone.js has no ${name} literal ${literal}`);
    }
  }
}

/**
 * Returns `source` with every occurrence of the write-key placeholder replaced by the key, every
 * `https://cdn.segment.com` by `https://<cdnHost>` and every `"api.segment.io/v1"` by
 * `"<apiHost>/v1"`, so the served script never falls back to Segment's hosts. Inputs are
 * validated (they end up inside JavaScript string literals).
 */
export function patchStandalone(source: string, target: PatchTarget): string {
  assertWriteKey(target.writeKey);
  assertHost(target.cdnHost);
  assertHost(target.apiHost);
  return source
    .replaceAll(PATCHED_LITERALS.writeKey, JSON.stringify(target.writeKey))
    .replaceAll(PATCHED_LITERALS.cdnOrigin, `https://${target.cdnHost}`)
    .replaceAll(PATCHED_LITERALS.apiHost, JSON.stringify(`${target.apiHost}/v1`));
}

/**
 * Every mention of a Segment-owned host (`segment.io`, `segment.com`, `segment.build`) left in
 * `source`, with 40 characters of context on each side; used to audit a patched bundle.
 */
export function segmentHostMentions(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/[\w.-]*\bsegment\.(?:io|com|build)\b|\bcdn\.segment\b(?!\.)/g)) {
    out.push(source.slice(Math.max(0, m.index - 40), m.index + m[0].length + 40));
  }
  return out;
}
