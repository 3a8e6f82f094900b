import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HostScope, ReadyAnswer } from '../core/index.ts';

export type { ReadyAnswer } from '../core/index.ts';

/** A request handler of a routed host; works with HTTP/1.1 and HTTP/2 (compat) objects. */
export type ScopedHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, scope: HostScope) => void;

/** The request facts a {@link ReadyHandler} answer depends on. */
export interface ReadyRequest {
  readonly method: string;
  /** The request target in origin form (`/path?query`). */
  readonly target: string;
  readonly acceptEncoding: string | undefined;
  readonly ifNoneMatch: string | undefined;
}

/**
 * A {@link ScopedHandler} that can also answer some requests synchronously without request and
 * response objects (`ready`, for the HTTP/1.1 fast path): the very response the handler would
 * give, or undefined when the handler must answer. The CDN handler is one.
 */
export type ReadyHandler = ScopedHandler & { readonly ready?: (request: ReadyRequest, scope: HostScope) => ReadyAnswer | undefined };
