import { createHash } from 'node:crypto';

/** Content Security Policy directives a site adds so analytics.js works from a custom domain. */
export interface CspDirectives {
  /** Directive name → sources to add to it (`script-src`, `connect-src`). */
  readonly directives: Readonly<Record<'script-src' | 'connect-src', readonly string[]>>;
  /** The same as one policy text, e.g. for a `Content-Security-Policy` header. */
  readonly policy: string;
}

/**
 * The CSP sources analytics.js needs on a custom domain (segment-compat §2.7): the bundle and its
 * lazy chunks are scripts from the CDN host; the settings come from the CDN host and events go to
 * the API host, both by `fetch`/`sendBeacon` (`connect-src`, CSP3 §6.1.2). With `inlineScript`
 * (the snippet as embedded) its `'sha256-…'` hash is added to `script-src` (CSP3 §8.3) so the
 * inline snippet runs without `'unsafe-inline'`. No Segment host is listed: the served bundle is
 * patched to use only the custom hosts.
 */
export function cspDirectives(hosts: { readonly cdn: string; readonly api: string }, inlineScript?: string): CspDirectives {
  const cdn = `https://${hosts.cdn}`;
  const api = `https://${hosts.api}`;
  const script = inlineScript === undefined ? [cdn] : [`'sha256-${createHash('sha256').update(inlineScript, 'utf8').digest('base64')}'`, cdn];
  const directives = { 'script-src': script, 'connect-src': [cdn, api] };
  return { directives, policy: Object.entries(directives).map(([k, v]) => `${k} ${v.join(' ')}`).join('; ') };
}
