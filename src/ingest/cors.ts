import type { ResponseWriter } from './http-types.ts';

/** Headers the preflight always allows: what analytics-next ≥1.84 sends (segment-compat §3.2). */
const BASE_ALLOWED = ['Authorization', 'Content-Type', 'X-Retry-Count'];
/** Further request headers echoed back when a preflight asks for them. */
const SAFE_EXTRA = new Set(['content-encoding', 'accept', 'accept-language', 'content-language', 'x-requested-with']);
const EXPOSED = 'Retry-After, X-RateLimit-Reset';
const BASE_LOWER = new Set(BASE_ALLOWED.map((h) => h.toLowerCase()));

/**
 * The CORS headers every Tracking API response carries (Fetch standard §3.2.3):
 * `Access-Control-Allow-Origin` echoes the `Origin` (or `*` without one), with
 * `Access-Control-Allow-Credentials: true` when echoing so `credentials: 'include'` works, and
 * `Vary: Origin` so shared caches keep answers apart. `Retry-After` and `X-RateLimit-Reset` are
 * exposed (not CORS-safelisted) so a browser client can read them on a 429.
 */
export function corsFields(origin: string | undefined): Record<string, string> {
  if (origin === undefined || origin === '') return { 'Vary': 'Origin', 'Access-Control-Expose-Headers': EXPOSED, 'Access-Control-Allow-Origin': '*' };
  return { 'Vary': 'Origin', 'Access-Control-Expose-Headers': EXPOSED, 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' };
}

/** Sets {@link corsFields} on `res`. */
export function applyCors(res: ResponseWriter, origin: string | undefined): void {
  for (const [name, value] of Object.entries(corsFields(origin))) res.setHeader(name, value);
}

/**
 * Answers a CORS preflight with 204: methods `POST, GET, OPTIONS`; headers `Authorization,
 * Content-Type, X-Retry-Count` plus any requested header from a small safe list (the `*`
 * wildcard would not cover `Authorization`); cached for a day.
 */
export function answerPreflight(res: ResponseWriter, requestedHeaders: string | undefined): void {
  const extra = (requestedHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => SAFE_EXTRA.has(h) && !BASE_LOWER.has(h));
  res.setHeader('Vary', 'Origin, Access-Control-Request-Headers');
  res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', [...BASE_ALLOWED, ...new Set(extra)].join(', '));
  res.setHeader('Access-Control-Max-Age', 86400);
  res.setHeader('Content-Length', 0);
  res.statusCode = 204;
  res.end();
}
