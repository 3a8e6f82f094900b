import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { AppError } from '../core/index.ts';
import { EdgeErrors } from './errors.ts';

/** A request from `node:http` or from the `node:http2` compatibility API. */
export type EdgeRequest = IncomingMessage | Http2ServerRequest;
/** A response from `node:http` or from the `node:http2` compatibility API. */
export type EdgeResponse = ServerResponse | Http2ServerResponse;

/** The path of a request target without its query (queries may carry personal data: never logged). */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * The one place edge errors become responses: `{"error":{"code","message"}}` with the error's
 * status; anything that is not an {@link AppError} becomes a 500 that leaks nothing.
 */
export function sendError(req: EdgeRequest, res: EdgeResponse, err: unknown): void {
  const e = err instanceof AppError ? err : new AppError(EdgeErrors.INTERNAL);
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  // Headers set before (e.g. Retry-After) are kept: writeHead merges them.
  res.writeHead(e.httpStatus, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
