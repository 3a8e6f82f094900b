import type { EdgeRequest, EdgeResponse } from './responses.ts';

/** Mutable readiness flag shared by a server and its health answers. */
export interface Readiness {
  ready: boolean;
}

/** Liveness path: 200 while the process serves requests. Segment's paths never start with it. */
export const HEALTH_PATH = '/healthz';
/** Readiness path: 200 while the listener accepts work, 503 while starting or draining. */
export const READY_PATH = '/readyz';

/**
 * Answers `/healthz` and `/readyz` (GET or HEAD, any Host, `Cache-Control: no-store`) and returns
 * true, or returns false for any other path so the caller routes the request.
 */
export function answerHealth(path: string, req: EdgeRequest, res: EdgeResponse, readiness: Readiness): boolean {
  if (path !== HEALTH_PATH && path !== READY_PATH) return false;
  const ok = path === HEALTH_PATH || readiness.ready;
  const body = ok ? 'ok\n' : 'draining\n';
  // All headers in writeHead: Node's fast header path when nothing was set before.
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  if (req.method === 'HEAD') res.end();
  else res.end(body);
  return true;
}
