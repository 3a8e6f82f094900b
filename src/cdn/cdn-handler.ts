import { AppError, type HostScope, type Source, type SourceLookup } from '../core/index.ts';
import type { AnalyticsBundle } from './bundle.ts';
import { encodeAsset } from './encoded-asset.ts';
import { CdnErrors } from './errors.ts';
import { endWith, requestPath, silentLogger, type HostHandler, type Logger, type NodeRequest, type ResponseWriter } from './http-types.ts';
import { LruCache } from './lru.ts';
import { patchStandalone } from './patch.ts';
import { CodingMemo, preparedAnswer, prepareAsset, sendAnswer, sendPrepared, type PreparedAsset, type ReadyAnswer, type ServePolicy } from './prepared-asset.ts';
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

/** The request facts a {@link CdnHandler.ready} answer depends on, as an HTTP/1.1 server parsed them. */
export interface ReadyRequest {
  readonly method: string;
  /** The request target in origin form (`/path?query`). */
  readonly target: string;
  readonly acceptEncoding: string | undefined;
  readonly ifNoneMatch: string | undefined;
}

/**
 * The CDN host's request handler, plus `ready`: the same answer for a GET or HEAD the handler
 * would give synchronously with a 200 or 304 (a script already compressed in memory, or a
 * settings document), for a server that writes HTTP itself; undefined for anything else (other
 * methods or paths, unknown keys, a script not compressed yet), which the handler must answer.
 * `ready` never starts work and never throws for an unservable request.
 */
export type CdnHandler = HostHandler & { readonly ready: (request: ReadyRequest, scope: HostScope) => ReadyAnswer | undefined };

/** What a CDN request path names. */
type CdnRoute =
  | { readonly kind: 'bundle'; readonly writeKey: string }
  | { readonly kind: 'alias'; readonly workspaceId: string; readonly sourceId: string }
  | { readonly kind: 'chunk'; readonly name: string }
  | { readonly kind: 'settings'; readonly writeKey: string }
  | { readonly kind: 'none' };

const BUNDLE_PREFIX = '/analytics.js/v1/';
const BUNDLE_SUFFIX = '/analytics.min.js';
const PLATFORM_SUFFIX = '/platform';
const CHUNK_PREFIX = '/analytics-next/bundles/';
const SETTINGS_PREFIX = '/projects/';
const SETTINGS_SUFFIX = '/settings';

const JSON_TYPE = 'application/json; charset=utf-8';
const BUNDLE_POLICY: ServePolicy = { contentType: 'application/javascript; charset=utf-8', cacheControl: 'public, max-age=60, stale-while-revalidate=3600' };
// Chunk names carry their content hash, so a URL never changes meaning (segment-compat §1.1).
const CHUNK_POLICY: ServePolicy = { contentType: BUNDLE_POLICY.contentType, cacheControl: 'public, max-age=31536000, immutable' };
const SETTINGS_CACHE = 'public, max-age=60';
const ALLOW = 'GET, HEAD, OPTIONS';

/**
 * Maps a normalised path to a route; anything else is `none` (404). Plain string tests, no
 * regular expression: this runs on every CDN request.
 */
export function cdnRoute(path: string): CdnRoute {
  if (path.startsWith(BUNDLE_PREFIX) && path.endsWith(BUNDLE_SUFFIX)) {
    let key = path.slice(BUNDLE_PREFIX.length, path.length - BUNDLE_SUFFIX.length);
    if (key.endsWith(PLATFORM_SUFFIX)) key = key.slice(0, -PLATFORM_SUFFIX.length);
    if (isSegment(key)) return { kind: 'bundle', writeKey: key };
  }
  if (path.startsWith(CHUNK_PREFIX)) {
    const name = path.slice(CHUNK_PREFIX.length);
    if (isSegment(name)) return { kind: 'chunk', name };
  }
  const projects = path.startsWith('/v1/') ? path.slice(3) : path;
  if (projects.startsWith(SETTINGS_PREFIX) && projects.endsWith(SETTINGS_SUFFIX)) {
    const key = projects.slice(SETTINGS_PREFIX.length, projects.length - SETTINGS_SUFFIX.length);
    if (isSegment(key)) return { kind: 'settings', writeKey: key };
  }
  const alias = parseAliasPath(path);
  return alias ? { kind: 'alias', ...alias } : { kind: 'none' };
}

/** One non-empty path segment (no `/`). */
function isSegment(s: string): boolean {
  return s.length > 0 && !s.includes('/');
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
 *
 * A cached script is answered synchronously: the variant is a ready buffer under a precomputed
 * key with its headers computed once ({@link prepareAsset}), so a hit is a map lookup, one
 * `writeHead` and one `end`. Only the first request of a variant waits for the compression.
 * The same answers are available without request/response objects through `ready`.
 */
export function createCdnHandler(deps: CdnDeps, options: CdnOptions = {}): CdnHandler {
  const logger = deps.logger ?? silentLogger;
  const variants = new LruCache<string, Cached>(options.maxVariants ?? 256);
  const chunks = new Map<string, Cached>();
  const codings = new CodingMemo();

  const send = (req: NodeRequest, res: ResponseWriter, asset: Cached): Promise<void> | undefined => {
    if (!(asset instanceof Promise)) {
      sendPrepared(req, res, asset, codings);
      return undefined;
    }
    return asset.then((ready) => sendPrepared(req, res, ready, codings));
  };

  /** The source a bundle or alias route names, if it may be served on `scope`. */
  const sourceOf = (route: BundleRoute, scope: HostScope): Source | undefined =>
    route.kind === 'bundle' ? keySource(deps.sources, route.writeKey, scope) : aliasSource(deps.sources, route, scope);

  const serve = (req: NodeRequest, res: ResponseWriter, scope: HostScope): Promise<void> | undefined => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return otherMethod(req, res);
    const route = cdnRoute(requestPath(req.url));
    switch (route.kind) {
      case 'bundle':
      case 'alias': {
        const source = sourceOf(route, scope);
        if (source === undefined) throw new AppError(CdnErrors.UNKNOWN_WRITE_KEY);
        const key = variantKey(scope, source);
        return send(req, res, variants.get(key) ?? encodeInto(variants, key, BUNDLE_POLICY, Buffer.from(patchStandalone(deps.bundle.standalone,
          { writeKey: source.writeKey, cdnHost: scope.cdnHost, apiHost: scope.apiHost }))));
      }
      case 'chunk': {
        const bytes = deps.bundle.chunk(route.name);
        if (bytes === undefined) throw new AppError(CdnErrors.NOT_FOUND);
        return send(req, res, chunks.get(route.name) ?? encodeInto(chunks, route.name, CHUNK_POLICY, bytes));
      }
      case 'settings': {
        const source = keySource(deps.sources, route.writeKey, scope);
        if (source === undefined) throw new AppError(CdnErrors.UNKNOWN_WRITE_KEY);
        sendAnswer(req, res, settingsAnswer(source, scope));
        return undefined;
      }
      case 'none':
        throw new AppError(CdnErrors.NOT_FOUND);
    }
  };

  const ready = (request: ReadyRequest, scope: HostScope): ReadyAnswer | undefined => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const route = cdnRoute(requestPath(request.target));
    let cached: Cached | undefined;
    switch (route.kind) {
      case 'bundle':
      case 'alias': {
        const source = sourceOf(route, scope);
        cached = source === undefined ? undefined : variants.get(variantKey(scope, source));
        break;
      }
      case 'chunk':
        cached = chunks.get(route.name);
        break;
      case 'settings': {
        const source = keySource(deps.sources, route.writeKey, scope);
        return source === undefined ? undefined : settingsAnswer(source, scope);
      }
      case 'none':
        return undefined;
    }
    return cached === undefined || cached instanceof Promise ? undefined : preparedAnswer(cached, request.acceptEncoding, request.ifNoneMatch, codings);
  };

  const fail = (req: NodeRequest, res: ResponseWriter, err: unknown): void => {
    try {
      respondError(res, err, logger, req);
    } catch (writeErr) {
      // Writing to a stream the peer already reset can throw (HTTP/2): the client is gone.
      logger.debug({ err: writeErr, url: req.url }, 'cdn response not written');
    }
  };

  const handler: HostHandler = (req, res, scope) => {
    const out: ResponseWriter = res;
    try {
      serve(req, out, scope)?.catch((err: unknown) => fail(req, out, err));
    } catch (err) {
      fail(req, out, err);
    }
  };
  return Object.assign(handler, { ready });
}

/** A route naming a patched bundle, by write key or by alias path. */
type BundleRoute = Extract<CdnRoute, { kind: 'bundle' | 'alias' }>;

/** The variant LRU key of a scope's bundle for a source. */
function variantKey(scope: HostScope, source: Source): string {
  return `${scope.cdnHost}\n${scope.apiHost}\n${source.writeKey}`;
}

/** A prepared asset, or the promise of one while it is being compressed. */
type Cached = PreparedAsset | Promise<PreparedAsset>;

/** Where prepared assets are kept: the variant LRU or the chunk map. */
interface AssetCache {
  get(key: string): Cached | undefined;
  set(key: string, value: Cached): unknown;
  delete(key: string): unknown;
}

/**
 * Starts encoding `bytes` under `key` (called on a miss only): concurrent first requests share
 * the pending promise, which is replaced by the ready asset once compressed, so later hits are
 * synchronous. A failed compression is not cached: the next request tries again.
 */
function encodeInto(cache: AssetCache, key: string, policy: ServePolicy, bytes: Buffer): Cached {
  const pending = encodeAsset(bytes).then((asset) => prepareAsset(asset, policy));
  cache.set(key, pending);
  pending.then(
    (ready) => { if (cache.get(key) === pending) cache.set(key, ready); },
    () => { if (cache.get(key) === pending) cache.delete(key); },
  );
  return pending;
}

/** OPTIONS gets the CORS preflight, any other method but GET/HEAD 405 with `Allow` (RFC 9110 §15.5.6). */
function otherMethod(req: NodeRequest, res: ResponseWriter): undefined {
  res.setHeader('Access-Control-Allow-Origin', '*');
  if (req.method === 'OPTIONS') return preflight(res);
  res.setHeader('Allow', ALLOW);
  throw new AppError(CdnErrors.METHOD_NOT_ALLOWED);
}

/** The source of a write key, if it may be served on `scope` (the caller answers 404 otherwise). */
function keySource(sources: SourceLookup, writeKey: string, scope: HostScope): Source | undefined {
  return servable(isWriteKeyShaped(writeKey) ? sources.byWriteKey(writeKey) : undefined, scope);
}

/** The source of an alias path; it must belong to the workspace the path names. */
function aliasSource(sources: CdnSourceLookup, route: { workspaceId: string; sourceId: string }, scope: HostScope): Source | undefined {
  const source = sources.byId?.(route.sourceId);
  return servable(source?.workspaceId === route.workspaceId ? source : undefined, scope);
}

/** `source` if it may be served on this scope (enabled; connected to a custom domain), else undefined. */
function servable(source: Source | undefined, scope: HostScope): Source | undefined {
  if (source === undefined || !source.enabled || (scope.kind === 'custom' && !scope.sourceIds.has(source.id))) return undefined;
  return source;
}

/** The settings document of `source` for `scope`'s API host, all headers in one object. */
function settingsAnswer(source: Source, scope: HostScope): ReadyAnswer {
  const body = Buffer.from(JSON.stringify(cdnSettings(source.writeKey, scope.apiHost)));
  return {
    status: 200,
    headers: { 'access-control-allow-origin': '*', 'content-type': JSON_TYPE, 'cache-control': SETTINGS_CACHE, 'content-length': body.length },
    body,
  };
}

/** CORS preflight (Fetch standard §3.2.2); the CDN only needs simple GETs, so this is generous. */
function preflight(res: ResponseWriter): undefined {
  res.setHeader('Access-Control-Allow-Methods', ALLOW);
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, If-None-Match');
  res.setHeader('Access-Control-Max-Age', 86400);
  res.statusCode = 204;
  res.end();
  return undefined;
}

/** The one place CDN errors become responses: `{"error":{"code","message"}}`, a 500 never leaks. */
function respondError(res: ResponseWriter, err: unknown, logger: Logger, req: NodeRequest): void {
  const known = err instanceof AppError && err.httpStatus < 500;
  if (!known) logger.error({ err, method: req.method, url: req.url }, 'cdn request failed');
  if (res.headersSent) return;
  const app = known ? err : new AppError(CdnErrors.INTERNAL);
  res.setHeader('Access-Control-Allow-Origin', '*');
  const body = JSON.stringify({ error: { code: app.code, message: app.message } });
  res.statusCode = app.httpStatus;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  endWith(res, req.method, body);
}
