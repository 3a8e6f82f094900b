import { isUtf8 } from 'node:buffer';
import { PayloadBuilder, type EncodedEvents, type StoredEvent } from '../core/index.ts';
import { isEventType, validateEvent, type EventType, type JsonObject } from './event-rules.ts';
import { JsonScanner, ScanAbort, type JsonMember, type ScannedObject } from './json-scan.ts';
import { addTimestamps, messageIdOf, normaliseEvent, typeProblem, type RequestFacts } from './normalise.ts';
import { batchItem, type BaseFacts, type EventLimits } from './request-events.ts';

/**
 * The ingest fast path: a request's events encoded straight from the body bytes. Each event is
 * stored as the bytes it was sent as, with normalisation applied as edits: the fields it sets
 * are appended as members before the closing brace (JSON.parse keeps a repeated member's first
 * position and last value, so reading the stored text gives exactly the object normalisation
 * builds), `writeKey` is cut out, and `context.ip` is inserted into `context`. The values
 * normalisation decides on come from the same functions the general path uses (normalise.ts,
 * event-rules.ts), run on the few fields they read.
 *
 * Bodies outside what this handles (invalid JSON, batch-level `context`/`integrations`, escaped
 * or repeated keys that normalisation reads, large events...) get `undefined` from
 * {@link scanRequest} or take the general path per item, so the outcome is always the general
 * path's.
 */

/** What the handler needs before authorising: the body's write key candidates, and the encoder. */
export interface ScannedRequest {
  /** `writeKey` at the top level, then the first batch item's (as the general path reads them). */
  readonly writeKeys: unknown[];
  /** The request's events for the authorised source. */
  encode(facts: BaseFacts): EncodedEvents;
}

/** Events larger than this share of `maxEventBytes` take the general path (it measures them exactly). */
const SIZE_SHARE = 8;
/** Stands for an object or array value where only "not a string, not a number" matters. */
const COMPOUND: Readonly<JsonObject> = Object.freeze({});

/**
 * Scans a single-call (`route: type`) or batch (`route: 'batch'`) body; `undefined` when the
 * general path must take it. `body` must be the complete request body.
 */
export function scanRequest(body: Buffer, route: EventType | 'batch', limits: EventLimits): ScannedRequest | undefined {
  if (!isUtf8(body)) return undefined;
  try {
    return route === 'batch' ? scanBatch(body, limits) : scanSingle(body, route, limits);
  } catch (err) {
    if (err instanceof ScanAbort) return undefined;
    throw err;
  }
}

function scanSingle(body: Buffer, type: EventType, limits: EventLimits): ScannedRequest | undefined {
  if (body.length > limits.maxEventBytes / SIZE_SHARE) return undefined;
  const scan = new JsonScanner(body);
  const start = scan.ws(0);
  if (body[start] !== 0x7b) return undefined;
  const obj = scan.object(start, 0, descendContext);
  if (scan.ws(obj.close + 1) !== body.length) return undefined;
  const fields = readFields(scan, obj);
  if (fields === undefined || memberNamed(scan, obj, 'batch') !== undefined) return undefined;
  return {
    writeKeys: [fields.value(WRITE_KEY)],
    encode(facts) {
      const out = new PayloadBuilder(body.length + 512);
      const columns = new Columns(1);
      encodeEvent(scan, obj, fields, type, { ...facts, sentAt: undefined }, undefined, out, columns);
      return columns.finish(out);
    },
  };
}

function scanBatch(body: Buffer, limits: EventLimits): ScannedRequest | undefined {
  const scan = new JsonScanner(body);
  const start = scan.ws(0);
  if (body[start] !== 0x7b) return undefined;
  const top = scan.object(start, 0, (sc, ks, ke) => (sc.keyIs(ks, ke, 'batch') ? descendContext : false));
  if (scan.ws(top.close + 1) !== body.length) return undefined;
  let batch: JsonMember | undefined;
  let sentAt: JsonMember | undefined;
  let writeKey: JsonMember | undefined;
  for (const m of top.members) {
    if (m.keyEscaped) return undefined;
    if (scan.keyIs(m.keyStart, m.keyEnd, 'batch')) batch = once(batch, m);
    else if (scan.keyIs(m.keyStart, m.keyEnd, 'sentAt')) sentAt = once(sentAt, m);
    else if (scan.keyIs(m.keyStart, m.keyEnd, 'writeKey')) writeKey = once(writeKey, m);
    // Batch-level context and integrations are merged into every item: the general path does that.
    else if (scan.keyIs(m.keyStart, m.keyEnd, 'context') || scan.keyIs(m.keyStart, m.keyEnd, 'integrations')) return undefined;
  }
  if (batch === undefined || batch.elements === undefined) return undefined;
  const items = batch.elements;
  const sentAtValue = sentAt === undefined ? undefined : parseSpan(body, sentAt.valueStart, sentAt.valueEnd);
  const plans = items.map((item, i) => {
    const fields = item.object === undefined || i >= limits.maxBatchEvents || item.end - item.start > limits.maxEventBytes / SIZE_SHARE
      ? undefined : readFields(scan, item.object);
    return { item, fields };
  });
  const keyOf = (p: (typeof plans)[number]) => (p.fields === undefined ? itemWriteKey(body, p.item) : p.fields.value(WRITE_KEY));
  const firstKey = plans.find((p) => typeof keyOf(p) === 'string');
  const writeKeys = [decoded(body, writeKey), firstKey === undefined ? undefined : keyOf(firstKey)];
  return {
    writeKeys,
    encode(facts) {
      const full: RequestFacts = { ...facts, sentAt: sentAtValue };
      const out = new PayloadBuilder(body.length + plans.length * 256 + 512);
      const columns = new Columns(plans.length);
      const mayBeLarge = body.length > limits.maxEventBytes;
      plans.forEach(({ item, fields }, i) => {
        if (fields !== undefined) return encodeEvent(scan, item.object!, fields, undefined, full, sentAt, out, columns);
        columns.addStored(batchItem(parseSpan(body, item.start, item.end), i, full, limits, mayBeLarge), out);
      });
      return columns.finish(out);
    },
  };
}

/** Records the members of an event's `context`. */
function descendContext(scan: JsonScanner, keyStart: number, keyEnd: number): boolean {
  return scan.keyIs(keyStart, keyEnd, 'context');
}

// Slots of the read fields in EventFields.members.
const TYPE = 0;
const MESSAGE_ID = 1;
const USER_ID = 2;
const ANONYMOUS_ID = 3;
const EVENT = 4;
const GROUP_ID = 5;
const PREVIOUS_ID = 6;
const TIMESTAMP = 7;
const SENT_AT = 8;
const WRITE_KEY = 9;
const CONTEXT = 10;

/**
 * The members of an event that normalisation reads (a key among them sent twice, or any escaped
 * key, sends the event to the general path); values are decoded on demand.
 */
class EventFields {
  readonly members: Array<JsonMember | undefined> = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];

  constructor(private readonly b: Buffer) {}

  get(slot: number): JsonMember | undefined {
    return this.members[slot];
  }

  /** A field's value: strings decoded, objects and arrays as {@link COMPOUND}; undefined when absent. */
  value(slot: number): unknown {
    const m = this.members[slot];
    return m === undefined ? undefined : scalar(this.b, m.valueStart, m.valueEnd);
  }
}

/** The slot of a read field by the key's bytes, or -1. */
function fieldSlot(scan: JsonScanner, m: JsonMember): number {
  const s = m.keyStart;
  const e = m.keyEnd;
  switch (e - s) {
    case 4: return scan.keyIs(s, e, 'type') ? TYPE : -1;
    case 5: return scan.keyIs(s, e, 'event') ? EVENT : -1;
    case 6: return scan.keyIs(s, e, 'userId') ? USER_ID : scan.keyIs(s, e, 'sentAt') ? SENT_AT : -1;
    case 7: return scan.keyIs(s, e, 'groupId') ? GROUP_ID : scan.keyIs(s, e, 'context') ? CONTEXT : -1;
    case 8: return scan.keyIs(s, e, 'writeKey') ? WRITE_KEY : -1;
    case 9: return scan.keyIs(s, e, 'messageId') ? MESSAGE_ID : scan.keyIs(s, e, 'timestamp') ? TIMESTAMP : -1;
    case 10: return scan.keyIs(s, e, 'previousId') ? PREVIOUS_ID : -1;
    case 11: return scan.keyIs(s, e, 'anonymousId') ? ANONYMOUS_ID : -1;
    default: return -1;
  }
}

/** The read fields of an event object, or undefined when one is escaped or repeated. */
function readFields(scan: JsonScanner, obj: ScannedObject): EventFields | undefined {
  const fields = new EventFields(scan.b);
  const slots = fields.members;
  for (const m of obj.members) {
    if (m.keyEscaped) return undefined;
    const slot = fieldSlot(scan, m);
    if (slot < 0) continue;
    if (slots[slot] !== undefined) return undefined;
    slots[slot] = m;
  }
  return fields;
}

function once(seen: JsonMember | undefined, m: JsonMember): JsonMember {
  if (seen !== undefined) throw new ScanAbort('repeated member');
  return m;
}

function memberNamed(scan: JsonScanner, obj: ScannedObject, name: string): JsonMember | undefined {
  return obj.members.find((m) => scan.keyIs(m.keyStart, m.keyEnd, name));
}

/** The value of a scalar span (objects and arrays → {@link COMPOUND}). */
function scalar(b: Buffer, start: number, end: number): unknown {
  const c = b[start];
  if (c === 0x7b || c === 0x5b) return COMPOUND;
  if (c === 0x22) return stringAt(b, start, end);
  if (c === 0x6e) return null;
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  return Number(b.toString('latin1', start, end));
}

/**
 * `Buffer#utf8Slice`: what `toString('utf8', start, end)` calls after checking its arguments,
 * which the scan's offsets need not be (they are within the buffer).
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: (this: Buffer, start: number, end: number) => string }).utf8Slice;

function stringAt(b: Buffer, start: number, end: number): string {
  const inner = utf8Slice.call(b, start + 1, end - 1);
  return inner.includes('\\') ? (JSON.parse(b.toString('utf8', start, end)) as string) : inner;
}

function parseSpan(b: Buffer, start: number, end: number): unknown {
  return JSON.parse(b.toString('utf8', start, end));
}

function decoded(b: Buffer, m: JsonMember | undefined): unknown {
  return m === undefined ? undefined : scalar(b, m.valueStart, m.valueEnd);
}

/** A general-path item's `writeKey` (it is parsed again when encoded; this is the rare case). */
function itemWriteKey(b: Buffer, item: { start: number; end: number; object?: ScannedObject }): unknown {
  if (item.object === undefined) return undefined;
  const v = parseSpan(b, item.start, item.end) as JsonObject;
  return v.writeKey;
}

/** Column values of the events being encoded. */
class Columns {
  readonly sourceIds: string[] = [];
  readonly messageIds: string[] = [];
  readonly types: string[] = [];
  readonly reasons: Array<string | null> = [];
  readonly receivedAts: number[] = [];

  constructor(readonly expected: number) {}

  add(sourceId: string, messageId: string, type: string, reason: string | null, receivedAt: number): void {
    this.sourceIds.push(sourceId);
    this.messageIds.push(messageId);
    this.types.push(type);
    this.reasons.push(reason);
    this.receivedAts.push(receivedAt);
  }

  /** Adds an event of the general path, its payload serialised. */
  addStored(e: StoredEvent, out: PayloadBuilder): void {
    this.add(e.sourceId, e.messageId, e.type, e.status === 'accepted' ? null : e.reason ?? 'rejected', e.receivedAt);
    out.text(e.payloadJson ?? JSON.stringify(e.payload));
    out.endLine();
  }

  finish(out: PayloadBuilder): EncodedEvents {
    return {
      count: this.sourceIds.length, sourceIds: this.sourceIds, messageIds: this.messageIds, types: this.types,
      reasons: this.reasons, receivedAts: this.receivedAts, payloadLengths: out.lengths, payloads: out.finish(),
    };
  }
}

/**
 * Encodes one event object: its bytes with `writeKey` cut, `context.ip` inserted and the fields
 * normalisation sets appended, in normaliseEvent's order (type, messageId, context, receivedAt,
 * sentAt, originalTimestamp, timestamp). `batchSentAt` is the batch's `sentAt` member, if any.
 */
function encodeEvent(
  scan: JsonScanner, obj: ScannedObject, f: EventFields, pathType: EventType | undefined, facts: RequestFacts,
  batchSentAt: JsonMember | undefined, out: PayloadBuilder, columns: Columns,
): void {
  const b = scan.b;
  const rawType = f.value(TYPE);
  const type = pathType ?? (isEventType(rawType) ? rawType : undefined);
  const rawMid = f.value(MESSAGE_ID);
  const mid = messageIdOf(rawMid);
  const added: string[] = [];
  if (type !== undefined && rawType !== type) added.push(`"type":"${type}"`);
  if (mid.valid && rawMid !== mid.id) added.push(`"messageId":${JSON.stringify(mid.id)}`);
  const ctxObject = f.get(CONTEXT)?.inner;
  const ipMember = ctxObject === undefined ? undefined : lastIp(scan, ctxObject);
  if (ipMember === null) return columns.addStored(generalEvent(b, obj, pathType, facts), out);
  const ipValue = ipMember === undefined ? undefined : scalar(b, ipMember.valueStart, ipMember.valueEnd);
  const fillIp = (ipValue === undefined || ipValue === null || ipValue === '') && facts.ip !== undefined;
  if (ctxObject === undefined) added.push(`"context":${JSON.stringify(fillIp ? { ip: facts.ip } : {})}`);
  const times: JsonObject = {};
  const ownSentAt = f.value(SENT_AT);
  addTimestamps(times, f.value(TIMESTAMP), ownSentAt ?? facts.sentAt, facts.receivedAt);
  // Timestamps set here are ISO-8601 text (ours, or the client's canonical one): nothing to escape.
  added.push(`"receivedAt":"${times.receivedAt as string}"`);
  if (times.sentAt !== undefined && (ownSentAt === undefined || ownSentAt === null)) added.push(`"sentAt":${spanText(b, batchSentAt!)}`);
  if (times.originalTimestamp !== undefined) added.push(`"originalTimestamp":${spanText(b, f.get(TIMESTAMP)!)}`);
  added.push(`"timestamp":"${times.timestamp as string}"`);
  const reason = typeProblem(rawType, pathType) ?? (mid.valid ? null : 'invalid_message_id') ?? validateEvent(type!, {
    userId: f.value(USER_ID), anonymousId: f.value(ANONYMOUS_ID), event: f.value(EVENT), groupId: f.value(GROUP_ID), previousId: f.value(PREVIOUS_ID),
  });
  const storedType = type ?? (typeof rawType === 'string' ? rawType.slice(0, 64) : 'unknown');
  writeEdited(b, obj, f.get(WRITE_KEY), fillIp && ctxObject !== undefined ? { ctx: ctxObject, ip: facts.ip! } : undefined, added, out);
  columns.add(facts.sourceId, mid.id, storedType, reason, facts.receivedAt);
}

/** `context`'s `ip` member: undefined when absent, null when escaped keys or a repeated `ip` make it unclear. */
function lastIp(scan: JsonScanner, ctx: ScannedObject): JsonMember | undefined | null {
  let ip: JsonMember | undefined;
  for (const m of ctx.members) {
    if (m.keyEscaped) return null;
    if (!scan.keyIs(m.keyStart, m.keyEnd, 'ip')) continue;
    if (ip !== undefined) return null;
    ip = m;
  }
  return ip;
}

/** The general path's event for an object the fast path leaves alone (nesting is bounded by the scan). */
function generalEvent(b: Buffer, obj: ScannedObject, pathType: EventType | undefined, facts: RequestFacts): StoredEvent {
  const e = normaliseEvent(parseSpan(b, obj.open, obj.close + 1), pathType, facts);
  return { ...e, payloadJson: JSON.stringify(e.payload) };
}

function spanText(b: Buffer, m: JsonMember): string {
  return b.toString('utf8', m.valueStart, m.valueEnd);
}

/**
 * Writes `obj`'s bytes without the `cut` member, with `"ip"` inserted before the closing brace of
 * `ip.ctx`, and the `added` members before its own closing brace.
 */
function writeEdited(
  b: Buffer, obj: ScannedObject, cut: JsonMember | undefined, ip: { ctx: ScannedObject; ip: string } | undefined,
  added: readonly string[], out: PayloadBuilder,
): void {
  const members = obj.members;
  let from = obj.open;
  const edits: Array<{ at: number; skipTo: number; text: string }> = [];
  if (cut !== undefined) {
    const i = members.indexOf(cut);
    if (i < members.length - 1) edits.push({ at: cut.start, skipTo: members[i + 1]!.start, text: '' });
    else if (i > 0) edits.push({ at: members[i - 1]!.valueEnd, skipTo: cut.valueEnd, text: '' });
    else edits.push({ at: cut.start, skipTo: cut.valueEnd, text: '' });
  }
  if (ip !== undefined) edits.push({ at: ip.ctx.close, skipTo: ip.ctx.close, text: `${ip.ctx.members.length > 0 ? ',' : ''}"ip":${JSON.stringify(ip.ip)}` });
  edits.sort((x, y) => x.at - y.at);
  for (const e of edits) {
    out.bytes(b, from, e.at);
    if (e.text !== '') out.text(e.text);
    from = e.skipTo;
  }
  out.bytes(b, from, obj.close);
  const kept = members.length - (cut === undefined ? 0 : 1);
  out.text(`${kept > 0 ? ',' : ''}${added.join(',')}}`);
  out.endLine();
}
