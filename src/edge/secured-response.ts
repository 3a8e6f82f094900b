import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';

/**
 * The HTTP/1.1 response class of the edge: `writeHead` adds the security headers a response does
 * not set itself, so handlers can pass all their headers to `writeHead` and keep Node's fast path
 * (no `setHeader` before it). A frozen headers object (a prepared asset's) is merged once and
 * the merge remembered; any other is merged per call.
 */
export function securedResponseClass(security: ReadonlyArray<readonly [string, string]>): typeof ServerResponse {
  const merged = new WeakMap<object, OutgoingHttpHeaders>();
  const base = ServerResponse.prototype.writeHead as (this: ServerResponse, statusCode: number, ...rest: unknown[]) => ServerResponse;
  /** `headers` plus the security headers absent from it and from the progressive headers (names compared case-insensitively). */
  const withSecurity = (res: ServerResponse, headers: unknown): unknown => {
    if (headers === undefined || headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
      for (const [name, value] of security) if (!res.hasHeader(name)) res.setHeader(name, value);
      return headers;
    }
    let progressive = false;
    for (const [name] of security) if (res.hasHeader(name)) progressive = true;
    const frozen = !progressive && Object.isFrozen(headers);
    const known = frozen ? merged.get(headers) : undefined;
    if (known) return known;
    const names = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of security) if (!names.has(name) && !res.hasHeader(name)) out[name] = value;
    Object.assign(out, headers);
    if (frozen) merged.set(headers, Object.freeze(out));
    return out;
  };
  class EdgeHttp1Response extends ServerResponse {}
  EdgeHttp1Response.prototype.writeHead = function writeHead(this: ServerResponse, statusCode: number, a?: unknown, b?: unknown) {
    return typeof a === 'string'
      ? base.call(this, statusCode, a, withSecurity(this, b) as OutgoingHttpHeaders)
      : base.call(this, statusCode, withSecurity(this, a) as OutgoingHttpHeaders);
  } as ServerResponse['writeHead'];
  return EdgeHttp1Response as unknown as typeof ServerResponse;
}
