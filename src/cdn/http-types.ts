import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HostScope } from '../core/index.ts';

/** A request from `node:http` or from the `node:http2` compatibility API. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** A response from `node:http` or from the `node:http2` compatibility API. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * A request handler the HTTPS edge calls after routing by Host, with the host pair the request
 * arrived on. It never throws and never rejects: every outcome is a response.
 */
export type HostHandler = (req: NodeRequest, res: NodeResponse, scope: HostScope) => void;

/** The part of both response flavours the CDN writes to (one shape, so calls type-check). */
export interface ResponseWriter {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(statusCode: number, headers: OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(data: Buffer | string): unknown;
}

/** Ends `res` with `body`, or with no body for HEAD requests (RFC 9110 §9.3.2). */
export function endWith(res: ResponseWriter, method: string | undefined, body: Buffer | string): void {
  if (method === 'HEAD') res.end();
  else res.end(body);
}

/** The pino-like logger the CDN writes to: structured fields first, then the message. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default when none is injected. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

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
