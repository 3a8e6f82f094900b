import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HostScope } from './model.ts';

/** A request from `node:http` or from the `node:http2` compatibility API. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** A response from `node:http` or from the `node:http2` compatibility API. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * A request handler the HTTPS edge calls after routing by Host, with the host pair the request
 * arrived on. It never throws and never rejects: every outcome is a response.
 */
export type HostHandler = (req: NodeRequest, res: NodeResponse, scope: HostScope) => void;

/** The part of both response flavours a handler writes to (one shape, so calls type-check). */
export interface ResponseWriter {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(statusCode: number, headers: OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(data: Buffer | string): unknown;
}

/**
 * A complete response a handler can give without request or response objects, for a server that
 * writes HTTP itself: status, the headers exactly as they are passed to `writeHead` (frozen when
 * prepared, so the same object comes back on every hit and its rendering can be remembered), and
 * the body of a GET (undefined: no body; a HEAD gets none either).
 */
export interface ReadyAnswer {
  readonly status: number;
  readonly headers: Readonly<OutgoingHttpHeaders>;
  readonly body: Buffer | undefined;
}

/** What a server that parses HTTP/1.1 itself tells a handler of a POST before its body is read. */
export interface PostHead {
  /** The request target in origin form (`/path?query`), as sent. */
  readonly target: string;
  /** The declared body length in bytes (`Content-Length`). */
  readonly contentLength: number;
  readonly contentEncoding: string | undefined;
  readonly authorization: string | undefined;
  readonly origin: string | undefined;
  readonly forwardedFor: string | undefined;
}

/**
 * The answer to a POST once its whole body is read: the very response the handler would give
 * through request and response objects. Never rejects; `peer` is the connection's remote address.
 */
export type PostResponder = (body: Buffer, peer: string | undefined) => Promise<ReadyAnswer>;

/**
 * A {@link HostHandler} that can also answer some POSTs from their head and body alone (`post`):
 * it returns the responder when it answers this request so, or undefined when the request must
 * go through request and response objects. Deciding reads nothing and changes nothing.
 */
export type PostHandler = HostHandler & { readonly post?: (head: PostHead, scope: HostScope) => PostResponder | undefined };

export { silentLogger, type Logger } from './logger.ts';
