import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '../core/index.ts';
import type { RejectReason } from './errors.ts';
import { isEventType, isJsonObject, validateEvent, type EventType, type JsonObject } from './event-rules.ts';

/** Longest accepted `messageId` (segment-compat §4.4). */
export const MAX_MESSAGE_ID_LENGTH = 100;

/** What a request contributes to each of its events. */
export interface RequestFacts {
  readonly sourceId: string;
  /** Server clock at receipt, ms since the epoch. */
  readonly receivedAt: number;
  /** Client address to fill into `context.ip` when the event has none. */
  readonly ip: string | undefined;
  /** Batch-level `context`, merged under each item's (segment-compat §4.3, analytics-go/java). */
  readonly context?: unknown;
  /** Batch-level `integrations`, merged under each item's. */
  readonly integrations?: unknown;
  /** Batch-level `sentAt`, used when an item has none. */
  readonly sentAt?: unknown;
}

/**
 * Turns one event as sent into the event as stored:
 * - `type` is `pathType` for single calls, else the item's own `type` (missing → `missing_type`,
 *   unknown → `invalid_type`);
 * - batch `context` and `integrations` are merged under the item's (item wins; `context` keys
 *   holding objects on both sides are merged one level deeper);
 * - `context.ip` is filled from the request when absent;
 * - `messageId` is generated (UUID) when absent; one that is not a string of at most 100
 *   characters rejects the event (`invalid_message_id`) and a UUID keys it instead;
 * - `receivedAt` is the server time; `originalTimestamp` the client's `timestamp`; `timestamp`
 *   is corrected for client clock skew as `receivedAt - (sentAt - originalTimestamp)` when both
 *   parse, else `timestamp` or `receivedAt` (`spec/common.md` "Timestamps"), all ISO-8601 UTC;
 * - `writeKey` is removed.
 * `forced` (size or count limits) rejects the event regardless. Never throws.
 */
export function normaliseEvent(raw: unknown, pathType: EventType | undefined, facts: RequestFacts, forced?: RejectReason): StoredEvent {
  if (!isJsonObject(raw)) return rejectedValue(raw, facts, forced ?? 'invalid_event');
  // One fresh copy (without writeKey) that becomes the payload; `raw` keeps the values as sent.
  const payload = copyFields(raw, 'writeKey');
  const type = pathType ?? (isEventType(raw.type) ? raw.type : undefined);
  const mid = messageIdOf(raw.messageId);
  if (type !== undefined) payload.type = type;
  payload.messageId = mid.valid ? mid.id : raw.messageId;
  payload.context = mergedContext(facts.context, raw.context, facts.ip);
  const integrations = mergedIntegrations(facts.integrations, raw.integrations);
  if (integrations !== undefined) payload.integrations = integrations;
  addTimestamps(payload, raw.timestamp, raw.sentAt ?? facts.sentAt, facts.receivedAt);
  const reason = forced ?? typeProblem(raw.type, pathType) ?? (mid.valid ? null : 'invalid_message_id') ?? validateEvent(type!, payload);
  return {
    sourceId: facts.sourceId,
    messageId: mid.id,
    type: type ?? (typeof raw.type === 'string' ? raw.type.slice(0, 64) : 'unknown'),
    status: reason === null ? 'accepted' : 'rejected',
    reason,
    receivedAt: facts.receivedAt,
    payload,
  };
}

/**
 * The stored form of an event refused before normalisation (oversize): its identifying fields
 * only, so the log records it without holding its bulk.
 */
export function rejectedSummary(raw: JsonObject, facts: RequestFacts, reason: RejectReason, sizeBytes: number): StoredEvent {
  const mid = messageIdOf(raw.messageId);
  const type = isEventType(raw.type) ? raw.type : 'unknown';
  const pick: JsonObject = { type, sizeBytes };
  for (const k of ['messageId', 'userId', 'anonymousId', 'event', 'timestamp'] as const) {
    if (typeof raw[k] === 'string' || typeof raw[k] === 'number') pick[k] = raw[k];
  }
  return { sourceId: facts.sourceId, messageId: mid.id, type, status: 'rejected', reason, receivedAt: facts.receivedAt, payload: pick };
}

function rejectedValue(raw: unknown, facts: RequestFacts, reason: RejectReason): StoredEvent {
  return {
    sourceId: facts.sourceId, messageId: randomUUID(), type: 'unknown', status: 'rejected', reason,
    receivedAt: facts.receivedAt, payload: { value: raw ?? null },
  };
}

/**
 * A shallow copy of `src`'s own enumerable fields, without `skip`, each a data property (a
 * `__proto__` field stays a field, as with spread). Built field by field on purpose: V8 gives a
 * spread copy a map that every field added later replaces, which costs microseconds per event.
 */
function copyFields(src: JsonObject, skip?: string): JsonObject {
  return assignFields({}, src, skip);
}

/** Copies `src`'s own enumerable fields (except `skip`) onto `target`, overwriting; returns `target`. */
function assignFields(target: JsonObject, src: JsonObject, skip?: string): JsonObject {
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === skip) continue;
    if (k === '__proto__') Object.defineProperty(target, k, { value: src[k], enumerable: true, writable: true, configurable: true });
    else target[k] = src[k];
  }
  return target;
}

/** Why an event's `type` is unusable, or null (a path type always wins). */
export function typeProblem(given: unknown, pathType: EventType | undefined): RejectReason | null {
  if (pathType !== undefined || isEventType(given)) return null;
  return given === undefined || given === null || given === '' ? 'missing_type' : 'invalid_type';
}

/** The event's key: its `messageId` when usable, else a fresh UUID (`valid: false` when one was given but unusable). */
export function messageIdOf(v: unknown): { id: string; valid: boolean } {
  if (v === undefined || v === null || v === '') return { id: randomUUID(), valid: true };
  if (typeof v === 'string' && v.length <= MAX_MESSAGE_ID_LENGTH) return { id: v, valid: true };
  return { id: randomUUID(), valid: false };
}

function mergedContext(batch: unknown, own: unknown, ip: string | undefined): JsonObject {
  const ctx: JsonObject = isJsonObject(own) ? copyFields(own) : {};
  if (isJsonObject(batch)) {
    for (const [k, v] of Object.entries(batch)) {
      // Assigning `__proto__` would replace the prototype instead of adding a field.
      if (k === '__proto__') continue;
      const mine = ctx[k];
      if (mine === undefined) ctx[k] = v;
      else if (isJsonObject(mine) && isJsonObject(v)) ctx[k] = assignFields(copyFields(v), mine);
    }
  }
  if ((ctx.ip === undefined || ctx.ip === null || ctx.ip === '') && ip !== undefined) ctx.ip = ip;
  return ctx;
}

function mergedIntegrations(batch: unknown, own: unknown): JsonObject | undefined {
  if (!isJsonObject(batch)) return isJsonObject(own) ? own : undefined;
  return isJsonObject(own) ? assignFields(copyFields(batch), own) : copyFields(batch);
}

// Largest time value a Date can hold (ECMA-262 §21.4.1.22).
const MAX_TIME = 8.64e15;

function toIso(ms: number): string | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME) return undefined;
  return ms >= YEAR_0 && ms <= YEAR_9999_END ? isoOf(Math.trunc(ms)) : new Date(ms).toISOString();
}

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years `toISOString` writes with four digits. */
const YEAR_0 = -62_167_219_200_000;
const YEAR_9999_END = 253_402_300_799_999;

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for whole `ms` within {@link YEAR_0}..{@link YEAR_9999_END},
 * computed without a Date (about a third of its cost): days to civil date as in Howard
 * Hinnant's `civil_from_days`.
 */
export function isoOf(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}.${String(milli).padStart(3, '0')}Z`;
}

// The events of a request share `receivedAt`: its ISO form is computed once.
let lastReceived = Number.NaN;
let lastReceivedIso = '';

function receivedIso(ms: number): string {
  if (ms !== lastReceived) {
    lastReceivedIso = toIso(ms)!;
    lastReceived = ms;
  }
  return lastReceivedIso;
}

function parseTime(v: unknown): number {
  return typeof v === 'string' ? Date.parse(v) : Number.NaN;
}

// The events of a batch share its `sentAt`: parsed once.
let lastSentAt: unknown;
let lastSentAtMs = Number.NaN;

function parseSentAt(v: unknown): number {
  if (v !== lastSentAt) {
    lastSentAtMs = parseTime(v);
    lastSentAt = v;
  }
  return lastSentAtMs;
}

/**
 * ISO-8601 UTC timestamps that `new Date(Date.parse(s)).toISOString()` returns unchanged: the
 * exact `YYYY-MM-DDTHH:mm:ss.sssZ` form with in-range fields. Days past 28 and hour 24 are
 * left out, since `Date.parse` rolls `02-30` or `24:00` over into the next month or day.
 */
const CANONICAL_ISO = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Sets `receivedAt`, `sentAt`, `originalTimestamp` and `timestamp` on `payload`, in that order. */
export function addTimestamps(payload: JsonObject, clientTs: unknown, sentAt: unknown, receivedAt: number): void {
  const received = receivedIso(receivedAt);
  payload.receivedAt = received;
  if (sentAt !== undefined && sentAt !== null) payload.sentAt = sentAt;
  if (clientTs === undefined || clientTs === null) {
    payload.timestamp = received;
    return;
  }
  payload.originalTimestamp = clientTs;
  const sent = parseSentAt(sentAt);
  // Without a usable `sentAt` the timestamp is the client's, re-formatted: a canonical one is kept as is.
  if (Number.isNaN(sent) && typeof clientTs === 'string' && CANONICAL_ISO.test(clientTs)) {
    payload.timestamp = clientTs;
    return;
  }
  const original = parseTime(clientTs);
  const corrected = Number.isNaN(sent) ? original : receivedAt - (sent - original);
  payload.timestamp = toIso(corrected) ?? toIso(original) ?? received;
}
