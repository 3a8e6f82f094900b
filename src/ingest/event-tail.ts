import type { ServerResponse } from 'node:http';
import { AppError, type StoredEvent } from '../core/index.ts';
import { IngestErrors } from './errors.ts';

/** Settings of {@link createEventTail}; every field has a default. */
export interface EventTailOptions {
  /** Interval of `: ping` comments that keep idle proxies from closing the stream (ms). Default 15000. */
  readonly heartbeatMs: number;
  /** Open streams per source; one more is refused with `ERR_INGEST_TAIL_BUSY` (429). Default 16. */
  readonly maxSubscribersPerSource: number;
  /** Bytes queued on a slow subscriber's socket beyond which events are dropped (and counted) for it. Default 1 MiB. */
  readonly maxBufferedBytes: number;
}

/** The live tail of stored events, like Segment's source debugger. */
export interface EventTail {
  /** Sends events to the open streams of their source. Never throws; cheap when nobody listens. */
  publish(events: readonly StoredEvent[]): void;
  /**
   * Turns `res` into a Server-Sent Events stream (WHATWG HTML §9.2) of the events of `sourceId`
   * stored from now on: `event: event` with the JSON of {@link TailEvent}, `event: dropped` with
   * `{"count":n}` when a slow reader missed events, and a `: ping` comment every `heartbeatMs`.
   * The caller has authorised the reader. Throws `ERR_INGEST_TAIL_BUSY` before writing anything
   * when the source already has `maxSubscribersPerSource` streams. The stream ends when the client
   * goes away or {@link close} is called.
   */
  handleSse(res: ServerResponse, sourceId: string): void;
  /** Open streams, of one source or of all. */
  subscribers(sourceId?: string): number;
  /** Ends every stream and stops the heartbeat. */
  close(): void;
}

/** What a tail reader receives per event: the stored event with its outcome and reason. */
export interface TailEvent {
  readonly messageId: string;
  readonly type: string;
  readonly status: StoredEvent['status'];
  readonly reason: string | null;
  /** ISO 8601. */
  readonly receivedAt: string;
  readonly payload: StoredEvent['payload'];
}

interface Subscriber {
  readonly res: ServerResponse;
  dropped: number;
}

const DEFAULTS: EventTailOptions = { heartbeatMs: 15_000, maxSubscribersPerSource: 16, maxBufferedBytes: 1024 * 1024 };

/** Creates an {@link EventTail}; feed it from the ingest handler's `onStored`. */
export function createEventTail(opts: Partial<EventTailOptions> = {}): EventTail {
  const o = { ...DEFAULTS, ...opts };
  const bySource = new Map<string, Set<Subscriber>>();
  let heartbeat: NodeJS.Timeout | undefined;
  const all = () => [...bySource.values()].flatMap((s) => [...s]);
  const remove = (sourceId: string, sub: Subscriber) => {
    const subs = bySource.get(sourceId);
    subs?.delete(sub);
    if (subs?.size === 0) bySource.delete(sourceId);
    if (bySource.size === 0 && heartbeat !== undefined) heartbeat = void clearInterval(heartbeat);
  };
  return {
    publish(events) {
      if (bySource.size === 0) return;
      for (const e of events) {
        const subs = bySource.get(e.sourceId);
        if (subs === undefined) continue;
        const frame = `event: event\ndata: ${JSON.stringify(tailView(e))}\n\n`;
        for (const sub of subs) deliver(sub, frame, o.maxBufferedBytes);
      }
    },
    handleSse(res, sourceId) {
      const subs = bySource.get(sourceId) ?? new Set<Subscriber>();
      if (subs.size >= o.maxSubscribersPerSource) throw new AppError(IngestErrors.TAIL_BUSY);
      bySource.set(sourceId, subs);
      const sub: Subscriber = { res, dropped: 0 };
      subs.add(sub);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no',
      });
      // `retry` sets the browser's reconnection delay (ms); the comment flushes the headers.
      res.write('retry: 3000\n: tail of stored events\n\n');
      res.on('close', () => remove(sourceId, sub));
      heartbeat ??= setInterval(() => { for (const s of all()) s.res.write(': ping\n\n'); }, o.heartbeatMs).unref();
    },
    subscribers(sourceId) {
      return sourceId === undefined ? all().length : bySource.get(sourceId)?.size ?? 0;
    },
    close() {
      for (const s of all()) s.res.end();
      bySource.clear();
      if (heartbeat !== undefined) heartbeat = void clearInterval(heartbeat);
    },
  };
}

/** Writes a frame, or counts it as dropped while the subscriber's socket is backed up. */
function deliver(sub: Subscriber, frame: string, maxBufferedBytes: number): void {
  if (sub.res.writableLength > maxBufferedBytes) {
    sub.dropped++;
    return;
  }
  if (sub.dropped > 0) {
    sub.res.write(`event: dropped\ndata: {"count":${sub.dropped}}\n\n`);
    sub.dropped = 0;
  }
  sub.res.write(frame);
}

function tailView(e: StoredEvent): TailEvent {
  return {
    messageId: e.messageId, type: e.type, status: e.status, reason: e.reason,
    receivedAt: new Date(e.receivedAt).toISOString(), payload: e.payload,
  };
}
