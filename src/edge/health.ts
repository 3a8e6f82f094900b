import type { ReadyAnswer } from './handlers.ts';
import type { EdgeRequest, EdgeResponse } from './responses.ts';

/** Mutable readiness flag shared by a server and its health answers. */
export interface Readiness {
  ready: boolean;
}

/** Liveness path: 200 while the process serves requests. Segment's paths never start with it. */
export const HEALTH_PATH = '/healthz';
/** Readiness path: 200 while the listener accepts work, 503 while starting or draining. */
export const READY_PATH = '/readyz';

const answer = (status: number, text: string): ReadyAnswer => {
  const body = Buffer.from(text);
  const headers = Object.freeze({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': body.length });
  return Object.freeze({ status, headers, body });
};
const OK = answer(200, 'ok\n');
const DRAINING = answer(503, 'draining\n');

/**
 * The answer of a health path (`Cache-Control: no-store`, any Host): `/healthz` 200, `/readyz`
 * 200 while ready, else 503; undefined for any other path, which the caller routes.
 */
export function healthAnswer(path: string, readiness: Readiness): ReadyAnswer | undefined {
  if (path !== HEALTH_PATH && path !== READY_PATH) return undefined;
  return path === HEALTH_PATH || readiness.ready ? OK : DRAINING;
}

/**
 * Answers `/healthz` and `/readyz` (GET or HEAD, any Host, `Cache-Control: no-store`) and returns
 * true, or returns false for any other path so the caller routes the request.
 */
export function answerHealth(path: string, req: EdgeRequest, res: EdgeResponse, readiness: Readiness): boolean {
  const a = healthAnswer(path, readiness);
  if (a === undefined) return false;
  // All headers in writeHead: Node's fast header path when nothing was set before.
  res.writeHead(a.status, a.headers);
  if (req.method === 'HEAD' || a.body === undefined) res.end();
  else res.end(a.body);
  return true;
}
