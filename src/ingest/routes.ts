import type { EventType } from './event-rules.ts';

/** What a Tracking API request path names (segment-compat §1.2). */
export type IngestRoute =
  | { readonly kind: 'single'; readonly type: EventType }
  | { readonly kind: 'batch' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'pixel'; readonly type: EventType }
  | { readonly kind: 'none' };

const SINGLE: ReadonlyArray<readonly [EventType, string]> = [
  ['identify', 'i'], ['track', 't'], ['page', 'p'], ['screen', 's'], ['group', 'g'], ['alias', 'a'],
];

const ROUTES: ReadonlyMap<string, IngestRoute> = new Map<string, IngestRoute>([
  ...SINGLE.flatMap(([type, short]): Array<[string, IngestRoute]> => [
    [`/v1/${type}`, { kind: 'single', type }],
    [`/v1/${short}`, { kind: 'single', type }],
    [`/v1/pixel/${type}`, { kind: 'pixel', type }],
  ]),
  ['/v1/batch', { kind: 'batch' }],
  ['/v1/import', { kind: 'batch' }],
  ['/v1/b', { kind: 'batch' }],
  ['/v1/m', { kind: 'metrics' }],
]);

/**
 * Routes a request target: query dropped, runs of `/` collapsed (`//v1//t`), one trailing `/`
 * ignored (`/v1/import/` from analytics-java), absolute-form reduced to its path. Never a
 * redirect: the route is answered in place.
 */
export function ingestRoute(url: string | undefined): IngestRoute {
  return ROUTES.get(normalisePath(url)) ?? { kind: 'none' };
}

function normalisePath(url: string | undefined): string {
  let target = url ?? '/';
  if (!target.startsWith('/')) {
    try {
      target = new URL(target).pathname;
    } catch {
      // Neither origin-form nor absolute-form: it cannot name a route.
      return '';
    }
  }
  const q = target.indexOf('?');
  let path = q < 0 ? target : target.slice(0, q);
  if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
