// The handler contract shared with the Tracking API lives in core; the CDN adds its helpers here.
import type { ResponseWriter } from '../core/http-types.ts';
export type { HostHandler, Logger, NodeRequest, NodeResponse, ResponseWriter } from '../core/http-types.ts';
export { silentLogger } from '../core/http-types.ts';

/** Ends `res` with `body`, or with no body for HEAD requests (RFC 9110 §9.3.2). */
export function endWith(res: ResponseWriter, method: string | undefined, body: Buffer | string): void {
  if (method === 'HEAD') res.end();
  else res.end(body);
}

/**
 * The path of a request target without query, with runs of `/` collapsed to one (clients built
 * with a trailing-slash host produce `//v1/...`; segment-compat §1.2). Absolute-form targets
 * (RFC 9112 §3.2.2) are reduced to their path. Never redirects: the caller routes the result.
 */
export function requestPath(url: string | undefined): string {
  let target = url ?? '/';
  if (!target.startsWith('/')) {
    try {
      target = new URL(target).pathname;
    } catch {
      // Not absolute-form either: route it as given, it will simply not match.
      return target;
    }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}
