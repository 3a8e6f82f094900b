import type { OutgoingHttpHeaders } from 'node:http';
import { ifNoneMatchHits, negotiateCoding, type Coding, type EncodedAsset } from './encoded-asset.ts';
import { endWith, type NodeRequest, type ResponseWriter } from './http-types.ts';

/** One representation ready to send: its bytes and both header sets, computed once. */
export interface PreparedRepresentation {
  readonly body: Buffer;
  readonly etag: string;
  /** Headers of a 200: type, cache-control, vary, ETag, content-encoding, content-length, CORS (frozen). */
  readonly ok: Readonly<OutgoingHttpHeaders>;
  /** Headers of a 304 (RFC 9110 §15.4.5: the ETag, Cache-Control and Vary a 200 would carry). */
  readonly notModified: Readonly<OutgoingHttpHeaders>;
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
    return { body: rep.body, etag: rep.etag, ok: Object.freeze(ok), notModified: Object.freeze(notModified) };
  };
  return { identity: prepare('identity'), gzip: prepare('gzip'), br: prepare('br') };
}

/**
 * Sends the representation `Accept-Encoding` selects, or 304 when `If-None-Match` names it
 * (RFC 9110 §13.1.2, §15.4.5); no body for HEAD. `codings` memoises the negotiation.
 */
export function sendPrepared(req: NodeRequest, res: ResponseWriter, asset: PreparedAsset, codings: CodingMemo): void {
  const rep = asset[codings.pick(req.headers['accept-encoding'])];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatchHits(ifNoneMatch, rep.etag)) {
    res.writeHead(304, rep.notModified);
    res.end();
    return;
  }
  res.writeHead(200, rep.ok);
  endWith(res, req.method, rep.body);
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
