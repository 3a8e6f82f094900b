import type { StoredEvent } from '../core/index.ts';
import { AppError } from '../core/index.ts';
import { IngestErrors } from './errors.ts';
import { isJsonObject, type EventType, type JsonObject } from './event-rules.ts';
import { normaliseEvent, rejectedSummary, type RequestFacts } from './normalise.ts';

/** The limits that decide which events of a request are rejected. */
export interface EventLimits {
  readonly maxEventBytes: number;
  readonly maxBatchEvents: number;
}

/** What every event of the request shares (the batch-level fields are read from the body). */
export type BaseFacts = Pick<RequestFacts, 'sourceId' | 'receivedAt' | 'ip'>;

/**
 * The stored event of a single call (`/v1/track`, `/v1/t`, pixel...): typed by the path.
 * Throws `ERR_INGEST_EVENT_TOO_LARGE` when the event serialises to more than `maxEventBytes`
 * (segment-compat §4.4: such a call is answered 400, not accepted).
 */
export function singleEvent(body: JsonObject, bodyBytes: number, type: EventType, facts: BaseFacts, limits: EventLimits): StoredEvent {
  // The body is the event: only a body over the limit can hold an event over it (whitespace aside).
  if (bodyBytes > limits.maxEventBytes && (serialise(body)?.length ?? Infinity) > limits.maxEventBytes && jsonBytes(body) > limits.maxEventBytes) {
    throw new AppError(IngestErrors.EVENT_TOO_LARGE, `event is larger than ${limits.maxEventBytes} bytes`);
  }
  const event = normaliseEvent(body, type, facts);
  const payloadJson = serialise(event.payload);
  if (payloadJson === null) throw new AppError(IngestErrors.EVENT_TOO_DEEP);
  return withPayloadJson(event, payloadJson);
}

/**
 * The stored events of a batch call (`/v1/batch`, `/v1/import`, `/v1/b`): `batch` must be an
 * array (else `ERR_INGEST_INVALID_REQUEST`); batch-level `context`, `integrations` and `sentAt`
 * apply to every item. Items over `maxEventBytes` are recorded as `event_too_large`, items past
 * `maxBatchEvents` as `too_many_events` (segment-compat §4.4: the request still succeeds).
 */
export function batchEvents(body: JsonObject, bodyBytes: number, facts: BaseFacts, limits: EventLimits): StoredEvent[] {
  const items = body.batch;
  if (!Array.isArray(items)) throw new AppError(IngestErrors.INVALID_REQUEST, 'a batch call needs a "batch" array');
  const full: RequestFacts = { ...facts, context: body.context, integrations: body.integrations, sentAt: body.sentAt };
  const mayHoldLargeItem = bodyBytes > limits.maxEventBytes;
  return items.map((item: unknown, i): StoredEvent => batchItem(item, i, full, limits, mayHoldLargeItem));
}

/**
 * The stored event of batch item `i` (see {@link batchEvents}); `mayBeLarge` false promises the
 * item is not over `maxEventBytes` (its whole request is not).
 */
export function batchItem(item: unknown, i: number, full: RequestFacts, limits: EventLimits, mayBeLarge: boolean): StoredEvent {
  if (i >= limits.maxBatchEvents) return withJson(normaliseEvent(item, undefined, full, 'too_many_events'), item, full);
  if (!mayBeLarge || !isJsonObject(item)) return withJson(normaliseEvent(item, undefined, full), item, full);
  // The stored JSON is needed anyway; it bounds the item's size in most cases, so the item
  // itself is serialised only when that bound is not conclusive.
  const event = normaliseEvent(item, undefined, full);
  const payloadJson = serialise(event.payload);
  if (payloadJson === null) return rejectedSummary(item, full, 'event_too_deep', 0);
  if (!surelyWithin(item, payloadJson, limits.maxEventBytes)) {
    const size = jsonBytes(item);
    if (size > limits.maxEventBytes) return rejectedSummary(item, full, 'event_too_large', size);
  }
  return withPayloadJson(event, payloadJson);
}

/** Fields normalisation drops or overwrites (with values of bounded size). */
const REPLACED = ['writeKey', 'receivedAt', 'originalTimestamp'] as const;
/** Bytes a normalised event may lose besides {@link REPLACED} (a null `sentAt` replaced by a short batch value). */
const SLACK_BYTES = 64;

/**
 * Whether `raw` surely serialises to at most `limit` bytes, judged from `storedJson`, the JSON of
 * its normalised payload: normalising keeps every field of an event or replaces it with a value at
 * least as long, except the {@link REPLACED} ones (bounded here: strings at 6 bytes per UTF-16
 * unit, the longest escape) and a `context` or `integrations` that is not an object (then the
 * answer is false). False means "measure it".
 */
function surelyWithin(raw: JsonObject, storedJson: string, limit: number): boolean {
  if (storedJson.length > limit) return false;
  // At most 3 UTF-8 bytes per UTF-16 unit; measured exactly only when that bound is too coarse.
  let bound = storedJson.length * 3 <= limit ? storedJson.length * 3 : Buffer.byteLength(storedJson);
  if ((raw.context !== undefined && !isJsonObject(raw.context)) || (raw.integrations !== undefined && !isJsonObject(raw.integrations))) return false;
  for (const key of REPLACED) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v === 'string') bound += v.length * 6 + key.length + 6;
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) bound += key.length + 32;
    else return false;
  }
  return bound + SLACK_BYTES <= limit;
}

/**
 * The JSON of a value, or null when it nests too deeply to serialise (the engine's stack runs
 * out): such an event is refused on its own instead of failing the whole commit.
 */
function serialise(v: unknown): string | null {
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
}

/** Attaches the stored JSON to an event, or replaces a too-deep one by its rejected summary. */
function withJson(event: StoredEvent, raw: unknown, facts: RequestFacts): StoredEvent {
  const payloadJson = serialise(event.payload);
  if (payloadJson !== null) return withPayloadJson(event, payloadJson);
  return isJsonObject(raw) ? rejectedSummary(raw, facts, 'event_too_deep', 0) : { ...event, status: 'rejected', reason: 'event_too_deep', payload: {} };
}

/** `event` with its stored JSON, built as one literal (same shape for every event). */
function withPayloadJson(e: StoredEvent, payloadJson: string): StoredEvent {
  return { sourceId: e.sourceId, messageId: e.messageId, type: e.type, status: e.status, reason: e.reason, receivedAt: e.receivedAt, payload: e.payload, payloadJson };
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v));
}
