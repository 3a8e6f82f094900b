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

export { silentLogger, type Logger } from './logger.ts';
