import { AppError, type HostScope, type Source, type SourceLookup } from '../core/index.ts';
import type { AnalyticsBundle } from './bundle.ts';
import { encodeAsset, ifNoneMatchHits, negotiateCoding, type EncodedAsset } from './encoded-asset.ts';
import { CdnErrors } from './errors.ts';
import { endWith, requestPath, silentLogger, type HostHandler, type Logger, type NodeRequest, type ResponseWriter } from './http-types.ts';
import { LruCache } from './lru.ts';
import { patchStandalone } from './patch.ts';
import { cdnSettings } from './settings.ts';
import { parseAliasPath } from './snippet.ts';
import { isWriteKeyShaped } from './validate.ts';

/** Sources by write key and, for alias paths, by id (without `byId` alias paths are 404). */
export interface CdnSourceLookup extends SourceLookup {
  byId?(id: string): Source | undefined;
}

/** Dependencies of {@link createCdnHandler}. */
export interface CdnDeps {
  readonly sources: CdnSourceLookup;
  readonly bundle: AnalyticsBundle;
  readonly logger?: Logger;
}

/** Tuning of {@link createCdnHandler}. */
export interface CdnOptions {
  /** Patched bundle variants (one per CDN host + API host + write key) kept compressed in memory. Default 256 (~45 MB). */
  readonly maxVariants?: number;
}

/** What a CDN request path names. */
type CdnRoute =
  | { readonly kind: 'bundle'; readonly writeKey: string }
  | { readonly kind: 'alias'; readonly workspaceId: string; readonly sourceId: string }
  | { readonly kind: 'chunk'; readonly name: string }
  | { readonly kind: 'settings'; readonly writeKey: string }
  | { readonly kind: 'none' };

const BUNDLE_PATH = /^\/analytics\.js\/v1\/([^/]+)(?:\/platform)?\/analytics\.min\.js$/;
const CHUNK_PATH = /^\/analytics-next\/bundles\/([^/]+)$/;
const SETTINGS_PATH = /^(?:\/v1)?\/projects\/([^/]+)\/settings$/;

const JS_TYPE = 'application/javascript; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const BUNDLE_CACHE = 'public, max-age=60, stale-while-revalidate=3600';
// Chunk names carry their content hash, so a URL never changes meaning (segment-compat §1.1).
const CHUNK_CACHE = 'public, max-age=31536000, immutable';
const SETTINGS_CACHE = 'public, max-age=60';
const ALLOW = 'GET, HEAD, OPTIONS';

/** Maps a normalised path to a route; anything else is `none` (404). */
export function cdnRoute(path: string): CdnRoute {
  let m = BUNDLE_PATH.exec(path);
  if (m) return { kind: 'bundle', writeKey: m[1]! };
  m = CHUNK_PATH.exec(path);
  if (m) return { kind: 'chunk', name: m[1]! };
  m = SETTINGS_PATH.exec(path);
  if (m) return { kind: 'settings', writeKey: m[1]! };
  const alias = parseAliasPath(path);
  return alias ? { kind: 'alias', ...alias } : { kind: 'none' };
}

/**
 * The CDN host's request handler (segment-compat §1.1, §8 items 1-5):
 * - `/analytics.js/v1/<key>[/platform]/analytics.min.js`: standalone.js patched for the request's
 *   host pair and key (§6.3), cached per variant in a bounded LRU, precompressed once;
 * - `/analytics-next/bundles/<chunk>`: the package's chunk files byte for byte, immutable;
 * - `/<workspaceId>/<sourceId>.js` (alias path): the same patched bundle, found by source id;
 * - `[/v1]/projects/<key>/settings`: {@link cdnSettings} for the scope's API host.
 * Scripts negotiate br/gzip (`Vary: Accept-Encoding`) and answer `If-None-Match` with 304. Every
 * response carries `Access-Control-Allow-Origin: *`. A key that is unknown, disabled or not
 * connected to a custom scope's domain gets 404, as does any other path; duplicate slashes are
 * collapsed and nothing redirects. Methods other than GET/HEAD/OPTIONS get 405 with `Allow`.
 */
export function createCdnHandler(deps: CdnDeps, options: CdnOptions = {}): HostHandler {
  const logger = deps.logger ?? silentLogger;
  const variants = new LruCache<string, Promise<EncodedAsset>>(options.maxVariants ?? 256);
  const chunks = new Map<string, Promise<EncodedAsset>>();

  const serve = async (req: NodeRequest, res: ResponseWriter, scope: HostScope): Promise<void> => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') return preflight(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', ALLOW);
      throw new AppError(CdnErrors.METHOD_NOT_ALLOWED);
    }
    const route = cdnRoute(requestPath(req.url));
    switch (route.kind) {
      case 'bundle':
      case 'alias': {
        const source = route.kind === 'bundle' ? requireSource(deps.sources, route.writeKey, scope) : aliasSource(deps.sources, route, scope);
        const key = `${scope.cdnHost}\n${scope.apiHost}\n${source.writeKey}`;
        const asset = await cachedAsset(variants, key, () => Buffer.from(patchStandalone(deps.bundle.standalone,
          { writeKey: source.writeKey, cdnHost: scope.cdnHost, apiHost: scope.apiHost })));
        return sendAsset(req, res, asset, BUNDLE_CACHE);
      }
      case 'chunk': {
        const bytes = deps.bundle.chunk(route.name);
        if (bytes === undefined) throw new AppError(CdnErrors.NOT_FOUND);
        return sendAsset(req, res, await cachedAsset(chunks, route.name, () => bytes), CHUNK_CACHE);
      }
      case 'settings': {
        const source = requireSource(deps.sources, route.writeKey, scope);
        return sendSettings(req, res, JSON.stringify(cdnSettings(source.writeKey, scope.apiHost)));
      }
      case 'none':
        throw new AppError(CdnErrors.NOT_FOUND);
    }
  };

  return (req, res, scope) => {
    const out: ResponseWriter = res;
    serve(req, out, scope)
      .catch((err: unknown) => respondError(out, err, logger, req))
      // Writing to a stream the peer already reset can throw (HTTP/2): the client is gone.
      .catch((err: unknown) => logger.debug({ err, url: req.url }, 'cdn response not written'));
  };
}

/** Where encoded assets are kept: the variant LRU or the chunk map. */
interface AssetCache {
  get(key: string): Promise<EncodedAsset> | undefined;
  set(key: string, value: Promise<EncodedAsset>): unknown;
  delete(key: string): unknown;
}

/** The encoded asset under `key`, encoding `make()` once; concurrent requests share the work. */
function cachedAsset(cache: AssetCache, key: string, make: () => Buffer): Promise<EncodedAsset> {
  let asset = cache.get(key);
  if (asset === undefined) {
    asset = encodeAsset(make());
    // A failed compression is not cached: the next request tries again.
    asset.catch(() => cache.delete(key));
    cache.set(key, asset);
  }
  return asset;
}

function requireSource(sources: SourceLookup, writeKey: string, scope: HostScope): Source {
  return servable(isWriteKeyShaped(writeKey) ? sources.byWriteKey(writeKey) : undefined, scope);
}

/** The source of an alias path; it must belong to the workspace the path names. */
function aliasSource(sources: CdnSourceLookup, route: { workspaceId: string; sourceId: string }, scope: HostScope): Source {
  const source = sources.byId?.(route.sourceId);
  return servable(source?.workspaceId === route.workspaceId ? source : undefined, scope);
}

/** `source` if it may be served on this scope (enabled; connected to a custom domain), else 404. */
function servable(source: Source | undefined, scope: HostScope): Source {
  if (source === undefined || !source.enabled || (scope.kind === 'custom' && !scope.sourceIds.has(source.id))) {
    throw new AppError(CdnErrors.UNKNOWN_WRITE_KEY);
  }
  return source;
}

/** Sends the negotiated representation, or 304 when `If-None-Match` names it (RFC 9110 §13.1.2, §15.4.5). */
function sendAsset(req: NodeRequest, res: ResponseWriter, asset: EncodedAsset, cacheControl: string): void {
  const rep = asset[negotiateCoding(req.headers['accept-encoding'])];
  res.setHeader('Content-Type', JS_TYPE);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('Vary', 'Accept-Encoding');
  res.setHeader('ETag', rep.etag);
  if (ifNoneMatchHits(req.headers['if-none-match'], rep.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  if (rep.coding !== 'identity') res.setHeader('Content-Encoding', rep.coding);
  res.setHeader('Content-Length', rep.body.length);
  res.statusCode = 200;
  endWith(res, req.method, rep.body);
}

function sendSettings(req: NodeRequest, res: ResponseWriter, json: string): void {
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Cache-Control', SETTINGS_CACHE);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.statusCode = 200;
  endWith(res, req.method, json);
}

/** CORS preflight (Fetch standard §3.2.2); the CDN only needs simple GETs, so this is generous. */
function preflight(res: ResponseWriter): void {
  res.setHeader('Access-Control-Allow-Methods', ALLOW);
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, If-None-Match');
  res.setHeader('Access-Control-Max-Age', 86400);
  res.statusCode = 204;
  res.end();
}

/** The one place CDN errors become responses: `{"error":{"code","message"}}`, a 500 never leaks. */
function respondError(res: ResponseWriter, err: unknown, logger: Logger, req: NodeRequest): void {
  const known = err instanceof AppError && err.httpStatus < 500;
  if (!known) logger.error({ err, method: req.method, url: req.url }, 'cdn request failed');
  if (res.headersSent) return;
  const app = known ? err : new AppError(CdnErrors.INTERNAL);
  const body = JSON.stringify({ error: { code: app.code, message: app.message } });
  res.statusCode = app.httpStatus;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  endWith(res, req.method, body);
}
