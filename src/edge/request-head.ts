/**
 * What the HTTP/1.1 fast path needs from a request head: the method and target, the headers its
 * answers depend on, the body length, and whether the client asked to close the connection.
 */
export interface RequestHead {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** The request target in origin form (`/path?query`), as sent. */
  readonly target: string;
  /** The one `Host` field value, undefined when absent. */
  readonly host: string | undefined;
  readonly acceptEncoding: string | undefined;
  readonly ifNoneMatch: string | undefined;
  /** `Connection: close` was sent (RFC 9112 §9.6): the response closes the connection. */
  readonly close: boolean;
  /** Body bytes that follow the head (`Content-Length`; 0 for GET and HEAD). */
  readonly contentLength: number;
  readonly contentEncoding: string | undefined;
  readonly authorization: string | undefined;
  readonly origin: string | undefined;
  readonly forwardedFor: string | undefined;
}

// RFC 9110 §5.6.2 token characters, for field names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Origin form (RFC 9112 §3.2.1): an absolute path and optional query, visible ASCII only.
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
// Control characters other than HTAB are never valid in a field value (RFC 9110 §5.5).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
// A Content-Length the fast path takes (RFC 9110 §8.6), at most 15 digits so it stays exact.
const LENGTH = /^[0-9]{1,15}$/;

/**
 * Parses a request head strictly for the fast path: `text` is the head up to, without, the
 * blank line that ends it, one character per byte (latin1). Returns undefined whenever the
 * request is anything but a plain HTTP/1.1 GET or HEAD without a body, or POST with a
 * `Content-Length`: another method or version, a target not in origin form, a malformed line
 * (no colon, a name that is not a token, whitespace before the colon, obs-fold, control
 * characters), a repeated `Host`, `Accept-Encoding`, `If-None-Match`, `Connection`,
 * `Content-Length`, `Content-Encoding`, `Authorization`, `Origin` or `X-Forwarded-For`, a GET or
 * HEAD `Content-Length` other than 0, a POST without one or with one that is not plain digits,
 * `Transfer-Encoding`, `Expect`, `Upgrade`, or a `Connection: upgrade`. The full
 * HTTP/1.1 server answers those (with 400 where the request is malformed), so a doubt here is
 * never an error, only a slower path.
 */
export function parseRequestHead(text: string): RequestHead | undefined {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const sp1 = text.indexOf(' ');
  const method = sp1 === 3 && text.startsWith('GET') ? 'GET'
    : sp1 === 4 ? (text.startsWith('HEAD') ? 'HEAD' : text.startsWith('POST') ? 'POST' : undefined) : undefined;
  if (method === undefined) return undefined;
  const sp2 = lineEnd - 9;
  if (sp2 <= sp1 || text.charCodeAt(sp2) !== 32 || !text.startsWith('HTTP/1.1', sp2 + 1)) return undefined;
  const target = text.slice(sp1 + 1, sp2);
  if (!ORIGIN_FORM.test(target)) return undefined;
  let host: string | undefined;
  let acceptEncoding: string | undefined;
  let ifNoneMatch: string | undefined;
  let connection: string | undefined;
  let contentLength: string | undefined;
  let contentEncoding: string | undefined;
  let authorization: string | undefined;
  let origin: string | undefined;
  let forwardedFor: string | undefined;
  for (let pos = lineEnd + 2; pos < text.length;) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon > end) return undefined;
    const name = text.slice(pos, colon);
    const value = fieldValue(text, colon + 1, end);
    if (value === undefined || !TOKEN.test(name)) return undefined;
    pos = end + 2;
    // Only names of these lengths matter; the others are skipped without lowercasing.
    switch (name.length) {
      case 4: case 6: case 7: case 10: case 13: case 14: case 15: case 16: case 17: break;
      default: continue;
    }
    switch (name.toLowerCase()) {
      case 'host': if (host !== undefined) return undefined; host = value; break;
      case 'accept-encoding': if (acceptEncoding !== undefined) return undefined; acceptEncoding = value; break;
      case 'if-none-match': if (ifNoneMatch !== undefined) return undefined; ifNoneMatch = value; break;
      case 'connection': if (connection !== undefined) return undefined; connection = value; break;
      // A tab around the value is refused, as by the full server's parser (the answers must not differ).
      case 'content-length': if (contentLength !== undefined || hasTab(text, colon, end)) return undefined; contentLength = value; break;
      case 'content-encoding': if (contentEncoding !== undefined) return undefined; contentEncoding = value; break;
      case 'authorization': if (authorization !== undefined) return undefined; authorization = value; break;
      case 'origin': if (origin !== undefined) return undefined; origin = value; break;
      case 'x-forwarded-for': if (forwardedFor !== undefined) return undefined; forwardedFor = value; break;
      case 'transfer-encoding': case 'expect': case 'upgrade': return undefined;
    }
  }
  const close = connection === undefined ? false : closes(connection);
  if (close === undefined) return undefined;
  let length = 0;
  if (method === 'POST') {
    if (contentLength === undefined || !LENGTH.test(contentLength)) return undefined;
    length = Number(contentLength);
  } else if (contentLength !== undefined && contentLength !== '0') return undefined;
  return { method, target, host, acceptEncoding, ifNoneMatch, close, contentLength: length, contentEncoding, authorization, origin, forwardedFor };
}

/** The value of a field line between `from` and `end` without surrounding spaces and tabs; undefined if it holds a control character. */
function fieldValue(text: string, from: number, end: number): string | undefined {
  let a = from;
  let b = end;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  const value = text.slice(a, b);
  return CONTROL.test(value) ? undefined : value;
}

function hasTab(text: string, from: number, end: number): boolean {
  const tab = text.indexOf('\t', from);
  return tab >= 0 && tab < end;
}

/** Whether a `Connection` value asks to close (RFC 9112 §9.6); undefined when it asks to upgrade. */
function closes(connection: string): boolean | undefined {
  let close = false;
  for (const option of connection.toLowerCase().split(',')) {
    const o = option.trim();
    if (o === 'close') close = true;
    else if (o === 'upgrade') return undefined;
  }
  return close;
}
