import type { EventStatus, StoredEvent } from './model.ts';

/**
 * The events of one append in the form they are stored in: one column per field, and every
 * payload's JSON as UTF-8 bytes one after another, each followed by a newline (`\n` never occurs
 * inside JSON text). Built once on the ingest path and handed to the store as is: the payload
 * bytes cross to the writer thread without a copy and are written to disk as they are.
 *
 * Invariants: every column has `count` entries; `payloadLengths[i]` is the byte length of event
 * `i`'s JSON (newline excluded) and the lines fill `payloads` exactly; an event is accepted
 * when its `reasons` entry is null, else rejected for that reason.
 */
export interface EncodedEvents {
  readonly count: number;
  readonly sourceIds: string[];
  readonly messageIds: string[];
  readonly types: string[];
  readonly reasons: Array<string | null>;
  /** Server time at receipt, ms since the epoch. */
  readonly receivedAts: number[];
  readonly payloadLengths: number[];
  /** The payload lines; see {@link ownsItsBuffer} for whether its memory may be transferred. */
  readonly payloads: Uint8Array;
}

/** Event `i`'s status, from its reason. */
export function encodedStatus(e: EncodedEvents, i: number): EventStatus {
  return e.reasons[i] === null ? 'accepted' : 'rejected';
}

/** Byte offset of each payload in `e.payloads`. */
export function payloadOffsets(e: EncodedEvents): number[] {
  const out: number[] = new Array(e.count);
  let at = 0;
  for (let i = 0; i < e.count; i++) {
    out[i] = at;
    at += e.payloadLengths[i]! + 1;
  }
  return out;
}

/** The payload JSON texts, in order. */
export function payloadTexts(e: EncodedEvents): string[] {
  const buf = Buffer.from(e.payloads.buffer, e.payloads.byteOffset, e.payloads.byteLength);
  const offsets = payloadOffsets(e);
  return offsets.map((at, i) => buf.toString('utf8', at, at + e.payloadLengths[i]!));
}

/** Buffers allocated by {@link PayloadBuilder}: wholly owned by their payloads, safe to transfer. */
const OWNED = new WeakSet<ArrayBufferLike>();

/** Whether `payloads`' memory belongs to it alone (built by {@link PayloadBuilder}), so it may be transferred to another thread. */
export function ownsItsBuffer(payloads: Uint8Array): boolean {
  return OWNED.has(payloads.buffer);
}

/** Payloads smaller than this start in Node's shared buffer pool (copied, not transferred, to the writer). */
const POOLED_BYTES = 4096;

/**
 * Grows a payload buffer line by line: raw byte ranges, strings and a newline per payload. Small
 * payloads live in Node's buffer pool; large ones in memory of their own ({@link ownsItsBuffer}).
 */
export class PayloadBuilder {
  private buf: Buffer;
  private at = 0;
  private lineStart = 0;
  readonly lengths: number[] = [];

  constructor(capacityBytes: number) {
    this.buf = capacityBytes < POOLED_BYTES ? Buffer.allocUnsafe(capacityBytes) : owned(capacityBytes);
  }

  /** Appends `src[start, end)`. */
  bytes(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    src.copy(this.buf, this.at, start, end);
    this.at += end - start;
  }

  /** Appends a string as UTF-8. */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.at += utf8Write.call(this.buf, s, this.at);
  }

  /** Ends the current payload (adds its newline) and records its length. */
  endLine(): void {
    this.lengths.push(this.at - this.lineStart);
    this.ensure(1);
    this.buf[this.at++] = 0x0a;
    this.lineStart = this.at;
  }

  /** The payloads written so far (a view of the builder's buffer; the builder must not be used after). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private ensure(more: number): void {
    if (this.at + more <= this.buf.length) return;
    const next = owned(Math.max(this.buf.length * 2, this.at + more));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

/**
 * `Buffer#utf8Write`: what `write(s, offset, 'utf8')` calls after checking its arguments, which
 * {@link PayloadBuilder} keeps within the buffer itself.
 */
const utf8Write = (Buffer.prototype as unknown as { utf8Write: (this: Buffer, s: string, offset: number) => number }).utf8Write;

function owned(bytes: number): Buffer {
  const buf = Buffer.allocUnsafeSlow(bytes);
  OWNED.add(buf.buffer);
  return buf;
}

/**
 * Consecutive appends as one unit for a writer: their events' fields joined in order, each
 * append's event count, and the payload bytes of all of them, in order, as `chunks` (the lines of
 * event `i` follow those of event `i - 1`, so offsets run on across chunks).
 */
export interface EventGroup {
  readonly events: Omit<EncodedEvents, 'payloads'>;
  /** Events per append, in order. */
  readonly sizes: number[];
  readonly chunks: Uint8Array[];
}

/**
 * The {@link EventGroup} of `list`, and the memory to move (not copy) with it to another thread:
 * payloads that own their memory move as they are; the others (small ones, in Node's shared pool)
 * are copied into one buffer of the group's own, which moves.
 */
export function groupEvents(list: readonly EncodedEvents[]): { group: EventGroup; transfer: ArrayBuffer[] } {
  let count = 0;
  let pooled = 0;
  for (const e of list) {
    count += e.count;
    if (!ownsItsBuffer(e.payloads)) pooled += e.payloads.byteLength;
  }
  const joined = pooled > 0 ? Buffer.allocUnsafeSlow(pooled) : undefined;
  const transfer: ArrayBuffer[] = joined === undefined ? [] : [joined.buffer as ArrayBuffer];
  const events = {
    count, sourceIds: new Array<string>(count), messageIds: new Array<string>(count), types: new Array<string>(count),
    reasons: new Array<string | null>(count), receivedAts: new Array<number>(count), payloadLengths: new Array<number>(count),
  };
  const chunks: Uint8Array[] = [];
  let joinedAt = 0;
  let runStart = 0;
  /** Whether the last chunk is the part of `joined` that ends at `joinedAt` (consecutive small payloads share one chunk). */
  let lastIsJoined = false;
  let j = 0;
  for (const e of list) {
    for (let i = 0; i < e.count; i++, j++) {
      events.sourceIds[j] = e.sourceIds[i]!;
      events.messageIds[j] = e.messageIds[i]!;
      events.types[j] = e.types[i]!;
      events.reasons[j] = e.reasons[i]!;
      events.receivedAts[j] = e.receivedAts[i]!;
      events.payloadLengths[j] = e.payloadLengths[i]!;
    }
    const own = e.payloads.buffer;
    if (ownsItsBuffer(e.payloads) && own instanceof ArrayBuffer) {
      if (!transfer.includes(own)) transfer.push(own);
      chunks.push(e.payloads);
      lastIsJoined = false;
      continue;
    }
    joined!.set(e.payloads, joinedAt);
    if (!lastIsJoined) runStart = joinedAt;
    joinedAt += e.payloads.byteLength;
    const run = joined!.subarray(runStart, joinedAt);
    if (lastIsJoined) chunks[chunks.length - 1] = run;
    else chunks.push(run);
    lastIsJoined = true;
  }
  return { group: { events, sizes: list.map((e) => e.count), chunks }, transfer };
}

/** Several groups as one, in order (for a writer that received more than one). */
export function mergeGroups(groups: readonly EventGroup[]): EventGroup {
  if (groups.length === 1) return groups[0]!;
  const all = groups.map((g) => g.events);
  return {
    events: {
      count: all.reduce((n, e) => n + e.count, 0),
      sourceIds: all.flatMap((e) => e.sourceIds), messageIds: all.flatMap((e) => e.messageIds), types: all.flatMap((e) => e.types),
      reasons: all.flatMap((e) => e.reasons), receivedAts: all.flatMap((e) => e.receivedAts), payloadLengths: all.flatMap((e) => e.payloadLengths),
    },
    sizes: groups.flatMap((g) => g.sizes),
    chunks: groups.flatMap((g) => g.chunks),
  };
}

/** The encoded form of `events` (payloads serialised here unless they carry `payloadJson`). */
export function encodeEvents(events: readonly StoredEvent[]): EncodedEvents {
  const jsons = events.map((e) => e.payloadJson ?? JSON.stringify(e.payload));
  let capacity = 0;
  for (const j of jsons) capacity += j.length * 3 + 1;
  const out = new PayloadBuilder(capacity);
  for (const j of jsons) {
    out.text(j);
    out.endLine();
  }
  return {
    count: events.length,
    sourceIds: events.map((e) => e.sourceId),
    messageIds: events.map((e) => e.messageId),
    types: events.map((e) => e.type),
    reasons: events.map((e) => (e.status === 'accepted' ? null : e.reason ?? 'rejected')),
    receivedAts: events.map((e) => e.receivedAt),
    payloadLengths: out.lengths,
    payloads: out.finish(),
  };
}
