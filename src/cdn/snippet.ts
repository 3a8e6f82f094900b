import { AppError } from '../core/index.ts';
import { CdnErrors } from './errors.ts';
import { assertHost, assertWriteKey } from './validate.ts';

/** Options of {@link renderSnippet}. */
export interface SnippetOptions {
  readonly writeKey: string;
  /** CDN host[:port] serving analytics.js, no scheme. */
  readonly cdnHost: string;
  /** API host[:port] receiving events, no scheme, no path (`/v1` is appended). */
  readonly apiHost: string;
  /** Name of the global the snippet installs (`window[globalName]`). Default `analytics`. */
  readonly globalName?: string;
  /** Whether the snippet ends with a first `page()` call. Default true. */
  readonly page?: boolean;
}

const METHODS = [
  'trackSubmit', 'trackClick', 'trackLink', 'trackForm', 'pageview', 'identify', 'reset', 'group', 'track', 'ready',
  'alias', 'debug', 'page', 'screen', 'once', 'off', 'on', 'addSourceMiddleware', 'addIntegrationMiddleware',
  'setAnonymousId', 'addDestinationMiddleware', 'register',
];

// ECMAScript reserved words (ES2023 §12.7.2) and literals: not usable as the global's name.
const RESERVED = new Set(
  ('await break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if implements import in instanceof interface let new null package private protected public return static ' +
    'super switch this throw true try typeof var void while with yield undefined NaN Infinity').split(' '),
);

/**
 * Renders the analytics.js snippet in the shape of `@segment/snippet` 5.2.1 `min()` output with
 * `useHostForBundles` (segment-compat §2.1): an array-queue stub on `window[globalName]`, a
 * `load()` that inserts `https://<cdnHost>/analytics.js/v1/<key>/analytics.min.js` tagged with
 * `data-global-segment-analytics-key`, `_writeKey`, `_cdn = "https://<cdnHost>"`, a `load()` call
 * whose options send events to `<apiHost>/v1`, and `page()` unless `page: false`. Throws
 * `ERR_CDN_INVALID_GLOBAL_NAME`, `ERR_CDN_INVALID_WRITE_KEY` or `ERR_CDN_INVALID_HOST` on bad input.
 */
export function renderSnippet(opts: SnippetOptions): string {
  assertHost(opts.cdnHost);
  return render(opts, `${JSON.stringify(`https://${opts.cdnHost}/analytics.js/v1/`)} + key + "/analytics.min.js"`);
}

/** Options of {@link renderAliasSnippet}: a snippet loading the library from an alias path. */
export interface AliasSnippetOptions extends SnippetOptions {
  /** Path of the script on the CDN host, from {@link aliasPathOf}. */
  readonly scriptPath: string;
}

/** Identifiers as the control plane makes them: `<prefix>_<lowercase alphanumerics>`. */
const ID = '[a-z]{1,8}_[a-z0-9]{1,64}';
const ALIAS_PATH = new RegExp(`^/(${ID})/(${ID})\\.js$`);

/**
 * The alias script path of a source, `/<workspaceId>/<sourceId>.js`: neither "analytics" nor the
 * write key appears in the URL, so path-based blockers and key scrapers find nothing (Custom
 * Domain's renamed script, segment-compat §1). The CDN serves the same patched bundle there,
 * with the key embedded. Throws `ERR_CDN_INVALID_ALIAS_PATH` for ids not of the control plane's shape.
 */
export function aliasPathOf(workspaceId: string, sourceId: string): string {
  const path = `/${workspaceId}/${sourceId}.js`;
  if (!isAliasPath(path)) throw new AppError(CdnErrors.INVALID_ALIAS_PATH, `no alias path for ${workspaceId}/${sourceId}`);
  return path;
}

function isAliasPath(path: string): boolean {
  return ALIAS_PATH.test(path) && !/analytics/i.test(path);
}

/** The workspace and source ids named by an alias path, or undefined when `path` is not one. */
export function parseAliasPath(path: string): { workspaceId: string; sourceId: string } | undefined {
  const m = isAliasPath(path) ? ALIAS_PATH.exec(path) : null;
  return m ? { workspaceId: m[1]!, sourceId: m[2]! } : undefined;
}

/**
 * {@link renderSnippet} loading the script from `https://<cdnHost><scriptPath>` instead of the
 * write-key path (the `ajsPath` option of `@segment/snippet`). The served bundle embeds the key
 * and our hosts (segment-compat §6.3), which also covers a renamed global with this path (§2.3).
 * Throws like {@link renderSnippet}, and `ERR_CDN_INVALID_ALIAS_PATH` for another path shape.
 */
export function renderAliasSnippet(opts: AliasSnippetOptions): string {
  assertHost(opts.cdnHost);
  if (!isAliasPath(opts.scriptPath)) throw new AppError(CdnErrors.INVALID_ALIAS_PATH, `"${opts.scriptPath}" is not an alias path`);
  return render(opts, JSON.stringify(`https://${opts.cdnHost}${opts.scriptPath}`));
}

/** The snippet around `srcExpr`, the JavaScript expression of the script URL (may use `key`). */
function render(opts: SnippetOptions, srcExpr: string): string {
  const globalName = opts.globalName ?? 'analytics';
  assertGlobalName(globalName);
  assertWriteKey(opts.writeKey);
  assertHost(opts.apiHost);
  const str = (s: string): string => JSON.stringify(s);
  const loadOptions = JSON.stringify({ integrations: { 'Segment.io': { apiHost: `${opts.apiHost}/v1` } } });
  return (
    `!function(){var i=${str(globalName)},analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=${JSON.stringify(METHODS)};` +
    `analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};` +
    `for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}` +
    `analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src=${srcExpr};var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};` +
    `analytics._writeKey=${str(opts.writeKey)};analytics._cdn = ${str(`https://${opts.cdnHost}`)};analytics.SNIPPET_VERSION="5.2.0";\n` +
    `analytics.load(${str(opts.writeKey)}, ${loadOptions});\n` +
    (opts.page === false ? '' : 'analytics.page();\n') +
    '}}();'
  );
}

function assertGlobalName(name: string): void {
  if (!/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(name) || RESERVED.has(name)) {
    throw new AppError(CdnErrors.INVALID_GLOBAL_NAME, `"${name}" cannot name the global analytics object`);
  }
}
