import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { AppError } from '../core/index.ts';
import { EdgeErrors } from './errors.ts';
import type { ReadyAnswer } from './handlers.ts';

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
 * The wire form of an edge error: `{"error":{"code","message"}}` with the error's status, not
 * cacheable; `extra` headers come first. Anything that is not an {@link AppError} becomes a 500
 * that leaks nothing.
 */
export function errorAnswer(err: unknown, extra: OutgoingHttpHeaders = {}): ReadyAnswer & { readonly body: Buffer } {
  const e = err instanceof AppError ? err : new AppError(EdgeErrors.INTERNAL);
  const body = Buffer.from(JSON.stringify({ error: { code: e.code, message: e.message } }));
  return { status: e.httpStatus, headers: { ...extra, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': body.length }, body };
}

/** The one place edge errors become responses ({@link errorAnswer}); headers set before (e.g. Retry-After) are kept. */
export function sendError(req: EdgeRequest, res: EdgeResponse, err: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const a = errorAnswer(err);
  // Headers set before are kept: writeHead merges them.
  res.writeHead(a.status, a.headers);
  if (req.method === 'HEAD') res.end();
  else res.end(a.body);
}
