import type { RejectReason } from './errors.ts';

/** The Tracking API call types (segment-compat §4.3). */
export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
/** One of {@link EVENT_TYPES}. */
export type EventType = (typeof EVENT_TYPES)[number];

const TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/** Whether `v` is one of {@link EVENT_TYPES}. */
export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && TYPE_SET.has(v);
}

/** A JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** Whether `v` is a JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An identifier field counts when it is a non-blank string or a finite number (Ruby/Java send numbers). */
function present(v: unknown): boolean {
  return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * The required-field rules of `spec/common.md` and the HTTP API (segment-compat §4.3): every call
 * but alias needs `userId` or `anonymousId`; track needs a non-blank `event`; group a `groupId`;
 * alias a `previousId` and a `userId` (equal values are accepted). Returns null when the event
 * passes, else the reason it is rejected.
 */
export function validateEvent(type: EventType, ev: JsonObject): RejectReason | null {
  switch (type) {
    case 'alias':
      if (!present(ev.previousId)) return 'missing_previous_id';
      return present(ev.userId) ? null : 'missing_user_id';
    case 'track':
      if (!present(ev.userId) && !present(ev.anonymousId)) return 'no_user_anon_id';
      return typeof ev.event === 'string' && ev.event.trim() !== '' ? null : 'missing_event';
    case 'group':
      if (!present(ev.userId) && !present(ev.anonymousId)) return 'no_user_anon_id';
      return present(ev.groupId) ? null : 'missing_group_id';
    case 'identify':
    case 'page':
    case 'screen':
      return present(ev.userId) || present(ev.anonymousId) ? null : 'no_user_anon_id';
  }
}
