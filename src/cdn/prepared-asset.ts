import type { OutgoingHttpHeaders } from 'node:http';
import { ifNoneMatchHits, negotiateCoding, type Coding, type EncodedAsset } from './encoded-asset.ts';
import type { ReadyAnswer } from '../core/http-types.ts';
import { endWith, type NodeRequest, type ResponseWriter } from './http-types.ts';

export type { ReadyAnswer } from '../core/http-types.ts';

/** One representation ready to send: its bytes and both header sets, computed once. */
export interface PreparedRepresentation {
  readonly body: Buffer;
  readonly etag: string;
  /** Headers of a 200: type, cache-control, vary, ETag, content-encoding, content-length, CORS (frozen). */
  readonly ok: Readonly<OutgoingHttpHeaders>;
  /** Headers of a 304 (RFC 9110 §15.4.5: the ETag, Cache-Control and Vary a 200 would carry). */
  readonly notModified: Readonly<OutgoingHttpHeaders>;
  /** The 200 and 304 responses as {@link ReadyAnswer}s (frozen). */
  readonly answers: { readonly ok: ReadyAnswer; readonly notModified: ReadyAnswer };
}

/** An {@link EncodedAsset} with every representation's response headers precomputed. */
export type PreparedAsset = Readonly<Record<Coding, PreparedRepresentation>>;

/** How an asset is served: its media type and caching policy. */
export interface ServePolicy {
  readonly contentType: string;
  readonly cacheControl: string;
}

/**
 * Computes once, per coding, the headers a response of `asset` carries, so that serving it is a
 * lookup, one `writeHead` and one `end`. Scripts are cacheable by anyone, hence
 * `Access-Control-Allow-Origin: *`, and vary on `Accept-Encoding` (RFC 9110 §12.5.5).
 */
export function prepareAsset(asset: EncodedAsset, policy: ServePolicy): PreparedAsset {
  const prepare = (coding: Coding): PreparedRepresentation => {
    const rep = asset[coding];
    const notModified: OutgoingHttpHeaders = {
      'access-control-allow-origin': '*',
      'content-type': policy.contentType,
      'cache-control': policy.cacheControl,
      vary: 'Accept-Encoding',
      etag: rep.etag,
    };
    const ok: OutgoingHttpHeaders = { ...notModified, 'content-length': rep.body.length };
    if (coding !== 'identity') ok['content-encoding'] = coding;
    // Frozen: sent as is on every hit, and a server may remember what it derives from them.
    const okHeaders = Object.freeze(ok);
    const notModifiedHeaders = Object.freeze(notModified);
    const answers = Object.freeze({
      ok: Object.freeze({ status: 200, headers: okHeaders, body: rep.body }),
      notModified: Object.freeze({ status: 304, headers: notModifiedHeaders, body: undefined }),
    });
    return { body: rep.body, etag: rep.etag, ok: okHeaders, notModified: notModifiedHeaders, answers };
  };
  return { identity: prepare('identity'), gzip: prepare('gzip'), br: prepare('br') };
}

/**
 * The answer for the representation `Accept-Encoding` selects: its 200, or its 304 when
 * `If-None-Match` names it (RFC 9110 §13.1.2, §15.4.5). `codings` memoises the negotiation.
 * Allocates nothing: the answers are prepared.
 */
export function preparedAnswer(asset: PreparedAsset, acceptEncoding: string | undefined, ifNoneMatch: string | undefined, codings: CodingMemo): ReadyAnswer {
  const rep = asset[codings.pick(acceptEncoding)];
  return ifNoneMatch !== undefined && ifNoneMatchHits(ifNoneMatch, rep.etag) ? rep.answers.notModified : rep.answers.ok;
}

/** Sends {@link preparedAnswer} for `req` (no body for HEAD). */
export function sendPrepared(req: NodeRequest, res: ResponseWriter, asset: PreparedAsset, codings: CodingMemo): void {
  sendAnswer(req, res, preparedAnswer(asset, req.headers['accept-encoding'], req.headers['if-none-match'], codings));
}

/** Writes `answer` with one `writeHead` and one `end`; no body for HEAD (RFC 9110 §9.3.2) or when it has none. */
export function sendAnswer(req: NodeRequest, res: ResponseWriter, answer: ReadyAnswer): void {
  res.writeHead(answer.status, answer.headers);
  if (answer.body === undefined) res.end();
  else endWith(res, req.method, answer.body);
}

/**
 * {@link negotiateCoding} memoised per `Accept-Encoding` value: browsers send a handful of
 * distinct values, so a hit skips the parse. Holds at most `maxEntries` values (default 256),
 * then starts over, so odd clients cannot grow it.
 */
export class CodingMemo {
  private readonly picks = new Map<string, Coding>();

  constructor(private readonly maxEntries = 256) {}

  /** The coding to send for `acceptEncoding`. */
  pick(acceptEncoding: string | undefined): Coding {
    if (acceptEncoding === undefined) return 'identity';
    let coding = this.picks.get(acceptEncoding);
    if (coding === undefined) {
      coding = negotiateCoding(acceptEncoding);
      if (this.picks.size >= this.maxEntries) this.picks.clear();
      this.picks.set(acceptEncoding, coding);
    }
    return coding;
  }
}
