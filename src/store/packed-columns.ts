import type { EventGroup } from '../core/index.ts';

type GroupEvents = EventGroup['events'];

/**
 * The index fields of a group as they cross to the writer thread: the columns whose values come
 * in runs (source, type, receipt time: a batch shares them) as `[value, length, ...]`, the
 * rejections as `[index, reason, ...]`, message ids and payload lengths as they are. Structured
 * cloning costs per value, so a batch's group costs a few values per column instead of one per
 * event.
 */
export interface PackedEvents {
  readonly count: number;
  readonly sourceIds: Array<string | number>;
  readonly messageIds: string[];
  readonly types: Array<string | number>;
  readonly reasons: Array<number | string>;
  readonly receivedAts: number[];
  readonly payloadLengths: number[];
}

/** A group in the form it is posted to the writer thread. */
export interface PackedGroup {
  readonly events: PackedEvents;
  readonly sizes: number[];
  readonly chunks: Uint8Array[];
}

/** The columns of `e` packed: runs and rejections as {@link PackedEvents} has them (group headers are written from these too). */
export function packColumns(e: GroupEvents): PackedEvents {
  return {
    count: e.count, sourceIds: runs(e.sourceIds, e.count), messageIds: e.messageIds, types: runs(e.types, e.count),
    reasons: rejections(e.reasons, e.count), receivedAts: runs(e.receivedAts, e.count) as number[], payloadLengths: e.payloadLengths,
  };
}

/** `group` in its posted form ({@link unpackGroup} restores it). */
export function packGroup(group: EventGroup): PackedGroup {
  return { events: packColumns(group.events), sizes: group.sizes, chunks: group.chunks };
}

/** The group {@link packGroup} was given. */
export function unpackGroup(packed: PackedGroup): EventGroup {
  const p = packed.events;
  const events: GroupEvents = {
    count: p.count, sourceIds: expand(p.sourceIds, p.count) as string[], messageIds: p.messageIds, types: expand(p.types, p.count) as string[],
    reasons: reasonsOf(p.reasons, p.count), receivedAts: expand(p.receivedAts, p.count) as number[], payloadLengths: p.payloadLengths,
  };
  return { events, sizes: packed.sizes, chunks: packed.chunks };
}

function runs<T extends string | number>(values: readonly T[], count: number): Array<T | number> {
  const out: Array<T | number> = [];
  let i = 0;
  while (i < count) {
    const value = values[i]!;
    let end = i + 1;
    while (end < count && values[end] === value) end++;
    out.push(value, end - i);
    i = end;
  }
  return out;
}

function expand(packed: ReadonlyArray<string | number>, count: number): Array<string | number> {
  const out = new Array<string | number>(count);
  let at = 0;
  for (let k = 0; k < packed.length; k += 2) {
    const value = packed[k]!;
    const end = at + (packed[k + 1] as number);
    while (at < end) out[at++] = value;
  }
  return out;
}

function rejections(reasons: ReadonlyArray<string | null>, count: number): Array<number | string> {
  const out: Array<number | string> = [];
  for (let i = 0; i < count; i++) {
    const r = reasons[i];
    if (r !== null && r !== undefined) out.push(i, r);
  }
  return out;
}

function reasonsOf(packed: ReadonlyArray<number | string>, count: number): Array<string | null> {
  const out = new Array<string | null>(count).fill(null);
  for (let k = 0; k < packed.length; k += 2) out[packed[k] as number] = packed[k + 1] as string;
  return out;
}
