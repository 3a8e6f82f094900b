import { constants as h2 } from 'node:http2';
import type { Clock, EncodedEvents, HostScope, PostHandler, PostHead, PostResponder, ReadyAnswer, SourceLookup, StoredEvent } from '../core/index.ts';
import { AppError, encodeEvents, payloadTexts } from '../core/index.ts';
import type { EventLog } from '../store/index.ts';
import { isIdentityCoding, readBody, type BodyProblem } from './body-reader.ts';
import { createClientIpResolver, type ClientIpResolver } from './client-ip.ts';
import { scanRequest } from './fast-events.ts';
import { answerPreflight, applyCors } from './cors.ts';
import { errorBody, IngestErrors, isIngestError } from './errors.ts';
import { isJsonObject, type JsonObject } from './event-rules.ts';
import { silentLogger, type HostHandler, type Logger, type NodeRequest, type ResponseWriter } from './http-types.ts';
import { resolveIngestOptions, type IngestOptions } from './options.ts';
import { JSON_TYPE, ReadyAnswers, retryFields, SUCCESS } from './ready-answers.ts';
import { PIXEL_GIF, pixelEvent } from './pixel.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';
import { batchEvents, singleEvent, type BaseFacts } from './request-events.ts';
import { ingestRoute, type IngestRoute } from './routes.ts';
import { authorise, basicWriteKey } from './write-key.ts';

/** Dependencies of {@link createIngestHandler}. */
export interface IngestDeps {
  readonly sources: SourceLookup;
  readonly log: EventLog;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Told of committed events of the sources it wants (the live tail). */
  readonly onStored?: StoredListener;
}

/** Listens to committed events (accepted and rejected ones, duplicates included). */
export interface StoredListener {
  /** Whether events of `sourceId` are wanted now; asked before storing, so cheap and synchronous. */
  wants(sourceId: string): boolean;
  /** The committed events of a request whose source was wanted, before the response. A throw is logged and ignored. */
  stored(events: readonly StoredEvent[]): void;
}

interface Ctx {
  readonly deps: IngestDeps;
  readonly logger: Logger;
  readonly options: IngestOptions;
  readonly ips: ClientIpResolver;
  readonly utf8: TextDecoder;
  readonly limiter: RateLimiter;
  readonly answers: ReadyAnswers;
}


/** A request whose body was left unread: the connection must close after the answer. */
class UnreadBody extends AppError {}

/** A 429 for a source over its rate, with the seconds to wait. */
class RateLimited extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super(IngestErrors.RATE_LIMITED);
  }
}

/**
 * The Tracking API handler. Its `post` answers plain single and batch calls (no compression,
 * body within the request limit) from head and body alone, for the edge's HTTP/1.1 fast path:
 * the same statuses, headers and bodies as through request and response objects.
 */
export type IngestHandler = PostHandler & { readonly post: (head: PostHead, scope: HostScope) => PostResponder | undefined };

/**
 * The API host's request handler, the Segment Tracking API (segment-compat §1.2, §3, §4, §8
 * items 6-12): POST `/v1/{identify,track,page,screen,group,alias}` and `/v1/{i,t,p,s,g,a}`,
 * `/v1/{batch,import,b}`, `/v1/m` (metrics, answered but not stored), GET `/v1/pixel/<type>`
 * (always a GIF). Authenticates by Basic user-id or body `writeKey`, reads JSON whatever the
 * Content-Type (gzip/deflate decoded under caps), normalises every event, applies the per-source
 * rate limit (429 with `Retry-After` and `X-RateLimit-Reset`; nothing stored) and answers
 * `200 {"success":true}` only after `log.append` resolved; a failed append is 503 so clients
 * retry. Errors are `{"success":false,"code","message"}`; CORS headers are on every response.
 */
export function createIngestHandler(deps: IngestDeps, opts?: Partial<IngestOptions>): IngestHandler {
  const options = resolveIngestOptions(opts);
  const ctx: Ctx = {
    deps, options, logger: deps.logger ?? silentLogger,
    ips: createClientIpResolver(options.trustedProxies),
    utf8: new TextDecoder('utf-8', { fatal: true }),
    limiter: createRateLimiter({ eventsPerSecond: options.rateLimitEventsPerSecond, burstEvents: options.rateLimitBurstEvents }),
    answers: new ReadyAnswers(),
  };
  const handler: HostHandler = (req, res, scope) => {
    const out: ResponseWriter = res;
    handle(ctx, req, out, scope)
      .catch((err: unknown) => respondError(ctx, req, out, err))
      // Writing to a stream the peer already reset can throw (HTTP/2): the client is gone.
      .catch((err: unknown) => ctx.logger.debug({ err, url: req.url }, 'ingest response not written'));
  };
  return Object.assign(handler, { post: (head: PostHead, scope: HostScope) => postResponder(ctx, head, scope) });
}

/** The responder of a POST whose answer needs only its head and body, else undefined. */
function postResponder(ctx: Ctx, head: PostHead, scope: HostScope): PostResponder | undefined {
  const route = ingestRoute(head.target);
  if (route.kind !== 'single' && route.kind !== 'batch') return undefined;
  if (head.contentLength > ctx.options.maxRequestBytes || !isIdentityCoding(head.contentEncoding)) return undefined;
  return (body, peer) => answerPost(ctx, head, body, route, scope, peer);
}

async function answerPost(ctx: Ctx, head: PostHead, body: Buffer, route: EventsRoute, scope: HostScope, peer: string | undefined): Promise<ReadyAnswer> {
  try {
    await acceptEvents(ctx, head.authorization, body, route, scope, ctx.ips.resolve(peer, head.forwardedFor));
    return ctx.answers.success(head.origin);
  } catch (err) {
    const app = refusal(ctx, err, 'POST', head.target);
    return ctx.answers.error(app, head.origin, err instanceof RateLimited ? retryFields(err.retryAfterSeconds) : undefined);
  }
}

async function handle(ctx: Ctx, req: NodeRequest, res: ResponseWriter, scope: HostScope): Promise<void> {
  applyCors(res, header(req, 'origin'));
  const route = ingestRoute(req.url);
  if (route.kind === 'none') throw new AppError(IngestErrors.NOT_FOUND);
  if (req.method === 'OPTIONS') return answerPreflight(res, header(req, 'access-control-request-headers'));
  if (route.kind === 'pixel') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD, OPTIONS');
    return servePixel(ctx, req, res, scope, route);
  }
  if (req.method !== 'POST') throw methodNotAllowed(res, 'POST, OPTIONS');
  // Read before the body: an HTTP/2 socket proxy is unusable once its stream has closed.
  const ip = clientIp(ctx, req);
  if (route.kind === 'metrics') return serveMetrics(ctx, req, res);
  const raw = await readRaw(ctx, req);
  if (raw === undefined) return; // the client went away mid-body: nobody to answer
  await acceptEvents(ctx, header(req, 'authorization'), raw, route, scope, ip);
  sendJson(res, 200, SUCCESS);
}

type EventsRoute = Extract<IngestRoute, { kind: 'single' | 'batch' }>;

/**
 * Reads, authorises, rate-limits (throwing {@link RateLimited}; nothing stored) and commits the
 * events of one request body; resolves once they are durable. Rejects with catalogue errors.
 */
async function acceptEvents(ctx: Ctx, authorization: string | undefined, raw: Buffer, route: EventsRoute, scope: HostScope, ip: string | undefined): Promise<void> {
  const events = requestEvents(ctx, authorization, raw, route, scope, ip);
  const sourceId = events.sourceIds[0];
  if (sourceId !== undefined) {
    const verdict = ctx.limiter.take(sourceId, events.count, events.receivedAts[0]!);
    if (!verdict.ok) throw new RateLimited(verdict.retryAfterSeconds);
  }
  await store(ctx, events);
}

/**
 * The request's events, encoded, for the source its write key names. Synchronous on purpose:
 * nothing of the scan or the parsed body outlives it (requests wait for their commit holding
 * only the encoded events).
 */
function requestEvents(ctx: Ctx, authorization: string | undefined, raw: Buffer, route: EventsRoute, scope: HostScope, ip: string | undefined): EncodedEvents {
  const auth = basicWriteKey(authorization);
  const scanned = scanRequest(raw, route.kind === 'single' ? route.type : 'batch', ctx.options);
  if (scanned !== undefined) {
    const source = authorise(ctx.deps.sources, scope, [auth, ...scanned.writeKeys]);
    return scanned.encode({ sourceId: source.id, receivedAt: ctx.deps.clock.now(), ip });
  }
  // The general path: every body the fast path leaves, invalid ones included (their errors come from here).
  const body = parseJson(ctx, raw);
  const source = authorise(ctx.deps.sources, scope, [auth, ...bodyWriteKeys(body)]);
  const facts: BaseFacts = { sourceId: source.id, receivedAt: ctx.deps.clock.now(), ip };
  return encodeEvents(route.kind === 'single'
    ? [singleEvent(body, raw.length, route.type, facts, ctx.options)]
    : batchEvents(body, raw.length, facts, ctx.options));
}

/** Body `writeKey` candidates: top level (single call or batch), then the first batch item's. */
function bodyWriteKeys(body: JsonObject): unknown[] {
  const first = Array.isArray(body.batch) ? body.batch.find((e: unknown) => isJsonObject(e) && typeof e.writeKey === 'string') : undefined;
  return [body.writeKey, isJsonObject(first) ? first.writeKey : undefined];
}

/** Client telemetry (`/v1/m`): read under the same limits and acknowledged, never stored. */
async function serveMetrics(ctx: Ctx, req: NodeRequest, res: ResponseWriter): Promise<void> {
  const result = await readBody(req, ctx.options);
  if (result.ok) return sendJson(res, 200, SUCCESS);
  if (result.problem !== 'aborted') throw bodyError(result.problem);
}

async function readRaw(ctx: Ctx, req: NodeRequest): Promise<Buffer | undefined> {
  const result = await readBody(req, ctx.options);
  if (result.ok) return result.body;
  if (result.problem === 'aborted') return undefined;
  throw bodyError(result.problem);
}

function parseJson(ctx: Ctx, raw: Buffer): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(ctx.utf8.decode(raw));
  } catch (err) {
    throw new AppError(IngestErrors.INVALID_JSON, 'body is not valid UTF-8 JSON', { cause: err });
  }
  if (!isJsonObject(value)) throw new AppError(IngestErrors.INVALID_REQUEST, 'body must be a JSON object');
  return value;
}

function bodyError(problem: Exclude<BodyProblem, 'aborted'>): AppError {
  switch (problem) {
    case 'too_large':
      return new UnreadBody(IngestErrors.REQUEST_TOO_LARGE);
    case 'decompressed_too_large':
      return new UnreadBody(IngestErrors.REQUEST_TOO_LARGE, 'decompressed request body is too large');
    case 'unsupported_encoding':
      return new UnreadBody(IngestErrors.UNSUPPORTED_ENCODING);
    case 'bad_encoding':
      return new UnreadBody(IngestErrors.INVALID_ENCODING);
  }
}

/**
 * Commits `events` (their payload buffer is handed over: unusable after) and tells the listener
 * when it wants their source; a failed commit is 503 `storage_unavailable`.
 */
async function store(ctx: Ctx, events: EncodedEvents): Promise<void> {
  const listener = ctx.deps.onStored;
  const sourceId = events.sourceIds[0];
  const kept = listener !== undefined && sourceId !== undefined && listener.wants(sourceId) ? decodeStored(events) : undefined;
  try {
    await ctx.deps.log.appendEncoded(events);
  } catch (err) {
    throw new AppError(IngestErrors.STORAGE_UNAVAILABLE, undefined, { cause: err });
  }
  if (kept === undefined) return;
  try {
    listener!.stored(kept);
  } catch (err) {
    // The events are durable; a failing listener must not turn that into an error for the client.
    ctx.logger.error({ err }, 'onStored listener failed');
  }
}

/** The events as objects (for listeners), read back from their encoded form. */
function decodeStored(e: EncodedEvents): StoredEvent[] {
  return payloadTexts(e).map((text, i) => {
    const reason = e.reasons[i]!;
    return {
      sourceId: e.sourceIds[i]!, messageId: e.messageIds[i]!, type: e.types[i]!, status: reason === null ? 'accepted' : 'rejected',
      reason, receivedAt: e.receivedAts[i]!, payload: JSON.parse(text) as Record<string, unknown>,
    };
  });
}

/** Pixel API: always `200` with a GIF, "even if an error occurs" (segment-compat §1.2). */
async function servePixel(ctx: Ctx, req: NodeRequest, res: ResponseWriter, scope: HostScope, route: Extract<IngestRoute, { kind: 'pixel' }>): Promise<void> {
  const data = pixelEvent(req.url);
  const ip = clientIp(ctx, req);
  try {
    if (data === undefined) throw new AppError(IngestErrors.INVALID_REQUEST, 'pixel data is missing or not base64 JSON');
    const source = authorise(ctx.deps.sources, scope, [data.writeKey]);
    const facts: BaseFacts = { sourceId: source.id, receivedAt: ctx.deps.clock.now(), ip };
    if (!ctx.limiter.take(source.id, 1, facts.receivedAt).ok) throw new AppError(IngestErrors.RATE_LIMITED);
    await store(ctx, encodeEvents([singleEvent(data, 0, route.type, facts, ctx.options)]));
  } catch (err) {
    ctx.logger.debug({ err, url: req.url }, 'pixel event not stored');
  }
  res.setHeader('Content-Type', 'image/gif');
  res.setHeader('Cache-Control', 'no-store, no-cache, must-revalidate, private');
  res.setHeader('Content-Length', PIXEL_GIF.length);
  res.statusCode = 200;
  if (req.method === 'HEAD') res.end();
  else res.end(PIXEL_GIF);
}

function clientIp(ctx: Ctx, req: NodeRequest): string | undefined {
  return ctx.ips.resolve(req.socket?.remoteAddress, req.headers['x-forwarded-for']);
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function methodNotAllowed(res: ResponseWriter, allow: string): AppError {
  res.setHeader('Allow', allow);
  return new AppError(IngestErrors.METHOD_NOT_ALLOWED);
}

function sendJson(res: ResponseWriter, status: number, body: Buffer | string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * The one place ingest errors become responses. Catalogue errors keep their status and wire
 * code; anything else is logged and answered 500 `internal_error` without details. When the body
 * was left unread the connection is closed after the answer (RFC 9112 §9.6; HTTP/2 resets the
 * stream with NO_ERROR, RFC 9113 §8.1) instead of reading the rest.
 */
function respondError(ctx: Ctx, req: NodeRequest, res: ResponseWriter, err: unknown): void {
  const app = refusal(ctx, err, req.method, req.url);
  if (res.headersSent) return;
  const unread = err instanceof UnreadBody;
  const http1 = req.httpVersionMajor < 2;
  if (unread && http1) res.setHeader('Connection', 'close');
  if (err instanceof RateLimited) for (const [name, value] of Object.entries(retryFields(err.retryAfterSeconds))) res.setHeader(name, value);
  sendJson(res, app.httpStatus, errorBody(app));
  // HTTP/2 has no Connection header: reset the stream once the answer is queued.
  if (unread && !http1 && 'stream' in req && !req.stream.closed) req.stream.close(h2.NGHTTP2_NO_ERROR);
}

/** The catalogue error `err` is answered as (500 `internal_error` for anything else), logged: at error level when 5xx. */
function refusal(ctx: Ctx, err: unknown, method: string | undefined, url: string | undefined): AppError {
  const app = isIngestError(err) ? err : new AppError(IngestErrors.INTERNAL);
  if (app.httpStatus >= 500) ctx.logger.error({ err, method, url }, 'ingest request failed');
  else ctx.logger.debug({ code: app.code, message: app.message, url }, 'ingest request refused');
  return app;
}
