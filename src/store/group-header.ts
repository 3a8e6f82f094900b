import type { EncodedEvents } from '../core/index.ts';
import { packColumns } from './packed-columns.ts';

/**
 * The header line of a group in a payload segment (event-segments.ts): `#`, then the JSON of its
 * events' index fields ({@link GroupHeader}), then a newline.
 *
 * Written form: `count`, then one member per column. Columns whose values come in runs (the
 * source, the type, the receipt time: a batch shares them) are `{"runs":[value, length, ...]}`,
 * the lengths adding up to `count`; `reasons` is `{"at":[index, reason, ...]}` with indexes
 * ascending and every other event accepted (null); `messageIds` and `payloadLengths` are arrays
 * of `count`. {@link parseGroupHeader} also takes a plain array of `count` values for every
 * column (the form headers had before), so segments written by earlier versions still recover.
 */

/** The index fields of a group's events, one array per field: an append's columns without its payloads. */
export type GroupHeader = Omit<EncodedEvents, 'payloads'>;

/** The header line of a group of `events`: `#`, their index fields as JSON, a newline. */
export function groupHeader(events: GroupHeader): Buffer {
  const p = packColumns(events);
  return Buffer.from(
    `#{"count":${p.count},"sourceIds":{"runs":${JSON.stringify(p.sourceIds)}},"messageIds":${JSON.stringify(p.messageIds)},"types":{"runs":${JSON.stringify(p.types)}}` +
    `,"reasons":{"at":${JSON.stringify(p.reasons)}},"receivedAts":{"runs":${JSON.stringify(p.receivedAts)}},"payloadLengths":${JSON.stringify(p.payloadLengths)}}\n`,
  );
}

type Check = (v: unknown) => boolean;
const isText: Check = (v) => typeof v === 'string';
const isCount: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isReason: Check = (v) => v === null || typeof v === 'string';

/**
 * A header line's JSON text (without `#` and newline) as a {@link GroupHeader} with a full array
 * per column, or undefined when it is not one: malformed JSON, a count that is not a positive
 * integer, or any column whose values or lengths do not match it.
 */
export function parseGroupHeader(text: string): GroupHeader | undefined {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return undefined;
  const g = h as Record<string, unknown>;
  const count = g['count'];
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return undefined;
  const sourceIds = column(g['sourceIds'], count, isText) as string[] | undefined;
  const messageIds = plain(g['messageIds'], count, isText) as string[] | undefined;
  const types = column(g['types'], count, isText) as string[] | undefined;
  const reasons = reasonColumn(g['reasons'], count);
  const receivedAts = column(g['receivedAts'], count, isCount) as number[] | undefined;
  const payloadLengths = plain(g['payloadLengths'], count, isCount) as number[] | undefined;
  if (sourceIds === undefined || messageIds === undefined || types === undefined || reasons === undefined
    || receivedAts === undefined || payloadLengths === undefined) return undefined;
  return { count, sourceIds, messageIds, types, reasons, receivedAts, payloadLengths };
}

/** A column given as an array of `count` values. */
function plain(c: unknown, count: number, ok: Check): unknown[] | undefined {
  return Array.isArray(c) && c.length === count && c.every(ok) ? c : undefined;
}

/** A column given as an array of `count` values or as runs adding up to `count`. */
function column(c: unknown, count: number, ok: Check): unknown[] | undefined {
  if (Array.isArray(c)) return plain(c, count, ok);
  const runs = member(c, 'runs');
  if (runs === undefined || runs.length % 2 !== 0) return undefined;
  const out: unknown[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const value = runs[i];
    const length = runs[i + 1];
    if (!ok(value) || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || out.length + length > count) return undefined;
    for (let k = 0; k < length; k++) out.push(value);
  }
  return out.length === count ? out : undefined;
}

/** The reasons column: an array of `count`, or the rejected events' indexes (ascending) and reasons. */
function reasonColumn(c: unknown, count: number): Array<string | null> | undefined {
  if (Array.isArray(c)) return plain(c, count, isReason) as Array<string | null> | undefined;
  const at = member(c, 'at');
  if (at === undefined || at.length % 2 !== 0) return undefined;
  const out = new Array<string | null>(count).fill(null);
  let last = -1;
  for (let i = 0; i < at.length; i += 2) {
    const index = at[i];
    const reason = at[i + 1];
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index <= last || index >= count || typeof reason !== 'string') return undefined;
    out[index] = reason;
    last = index;
  }
  return out;
}

/** `c[name]` when `c` is an object with exactly that one member holding an array. */
function member(c: unknown, name: string): unknown[] | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const keys = Object.keys(c);
  const v = (c as Record<string, unknown>)[name];
  return keys.length === 1 && keys[0] === name && Array.isArray(v) ? v : undefined;
}
