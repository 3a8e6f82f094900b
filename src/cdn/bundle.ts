import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AppError } from '../core/index.ts';
import { CdnErrors } from './errors.ts';
import { assertPatchable } from './patch.ts';

/** The lazy chunk files webpack emits next to standalone.js: `<name>.bundle.<20-hex hash>.js`. */
const CHUNK_FILE = /^[A-Za-z0-9_-]+\.bundle\.[0-9a-f]{20}\.js$/;

/**
 * The pinned analytics-next build the CDN serves, read into memory once. The chunk files are
 * those of the same package as `standalone`, so the content hashes baked into the bundle's
 * webpack runtime resolve (segment-compat §2.6, §6.1).
 */
export interface AnalyticsBundle {
  /** The package version, e.g. `1.84.3`. */
  readonly version: string;
  /** Text of `dist/umd/standalone.js`, unpatched (it contains every literal of the patch). */
  readonly standalone: string;
  /** File names of the lazy chunks (`queryString.bundle.34b193ada8fe288d1bd1.js`, ...), sorted. */
  chunkNames(): string[];
  /** The exact bytes of a chunk file, or undefined when `name` is not one of {@link chunkNames}. */
  chunk(name: string): Buffer | undefined;
}

/**
 * Reads `@segment/analytics-next/dist/umd/standalone.js` and its chunk files from the installed
 * package (resolved from this module), verifies the bundle still holds the literals the CDN
 * patches, and returns them in memory. Rejects with `ERR_CDN_BUNDLE_NOT_FOUND` when the package
 * cannot be read, `ERR_CDN_BUNDLE_UNPATCHABLE` when a literal is missing.
 */
export async function loadAnalyticsBundle(): Promise<AnalyticsBundle> {
  const { root, version } = await locatePackage();
  const umd = join(root, 'dist', 'umd');
  let standalone: string;
  const chunks = new Map<string, Buffer>();
  try {
    standalone = await readFile(join(umd, 'standalone.js'), 'utf8');
    const names = (await readdir(umd)).filter((f) => CHUNK_FILE.test(f)).sort();
    for (const name of names) chunks.set(name, await readFile(join(umd, name)));
  } catch (err) {
    throw new AppError(CdnErrors.BUNDLE_NOT_FOUND, `cannot read ${umd}`, { cause: err });
  }
  assertPatchable(standalone);
  const names = [...chunks.keys()];
  return {
    version,
    standalone,
    chunkNames: () => [...names],
    chunk: (name) => chunks.get(name),
  };
}

async function locatePackage(): Promise<{ root: string; version: string }> {
  try {
    const manifest = createRequire(import.meta.url).resolve('@segment/analytics-next/package.json');
    const pkg = JSON.parse(await readFile(manifest, 'utf8')) as { version?: unknown };
    if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
    return { root: dirname(manifest), version: pkg.version };
  } catch (err) {
    throw new AppError(CdnErrors.BUNDLE_NOT_FOUND, 'cannot resolve @segment/analytics-next', { cause: err });
  }
}
