import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { encodeEvents, groupEvents, type EncodedEvents, type LoggedEvent, type StoredEvent } from '../core/index.ts';
import type { EventLog } from './types.ts';
import { SegmentReader, segmentsDirFor } from './event-segments.ts';
import { recoverEventIndex, type RecoveryReport } from './event-recovery.ts';
import { packGroup } from './packed-columns.ts';
import { LockState, type WriterData, type WriterReply, type WriterRequest } from './sqlite-event-worker.ts';
import { createEventWriter, DEDUP_WINDOW_EVENTS, type AppendCounts, type EventWriter } from './sqlite-event-writer.ts';

/** Tuning of a {@link SqliteEventLog}. */
export interface EventLogOptions {
  /** Deduplication covers at least this many of the latest events (default {@link DEDUP_WINDOW_EVENTS}). */
  readonly dedupWindowEvents?: number;
  /**
   * Start the writer thread of a file database now and have it load its deduplication window,
   * instead of at the first append (which then waits for the load). Default false.
   */
  readonly startWriter?: boolean;
  /**
   * The id of this store's marker (store-processes.ts): with it, the writer holds its write
   * transaction across groups while no other store has the database open.
   */
  readonly storeMarker?: string;
  /** Longest the writer holds its transaction across groups, in ms (default 10). */
  readonly holdMs?: number;
}

interface Pending {
  readonly events: EncodedEvents;
  readonly resolve: (r: AppendCounts) => void;
  readonly reject: (err: unknown) => void;
}

const WORKER_ENTRY = new URL('./sqlite-event-worker.ts', import.meta.url).href;

/** Longest the main thread waits for the writer to let go of a held transaction before writing (then SQLite's busy timeout applies). */
const LOCK_WAIT_MS = 200;

/** Ids of this process's running writer threads: recovery leaves their segments alone. */
const LIVE_WRITERS = new Set<string>();

/**
 * SQLite event log with group commit: appends that arrive while a commit is pending are written
 * together, so many requests share one fsync. Every promise resolves only after its group is on
 * disk and its rows are committed.
 *
 * For a file database the commits run in a worker thread with its own connection (started on
 * the first append), so the main thread keeps serving requests while the disk syncs. One group
 * is with the writer at a time: the appends that arrive while it commits travel together as the
 * next message once it is done, so under load the main thread pays one message per commit. The
 * group goes to an append-only segment log beside the database (event-segments.ts), synced, and
 * then its index rows commit without a second fsync (`synchronous=NORMAL`): rows a power loss
 * takes are indexed again from the log when the next log opens (event-recovery.ts). `:memory:`
 * and read-only databases commit on the calling thread, payloads in the rows. Reads use the given
 * connection and see every resolved append (WAL).
 */
export class SqliteEventLog implements EventLog {
  private queue: Pending[] = [];
  private scheduled = false;
  /** A group is with the writer: what arrives meanwhile waits here and goes as the next group. */
  private sending = false;
  private readonly commitHere: EventWriter | undefined;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly inFlight = new Map<number, Pending>();
  private closed = false;
  private idle: (() => void) | undefined;
  private readonly segments: SegmentReader | undefined;

  private readonly dedupWindow: number;
  /** What the writer thread is told of holding its transaction (see {@link EventLogOptions}). */
  private readonly holding: Pick<WriterData, 'storeMarker' | 'holdMs'>;
  private nextSync = 0;
  private readonly syncs = new Map<number, () => void>();
  /** Shared with the writer thread (see LockState in sqlite-event-worker.ts). */
  private readonly lock = new Int32Array(new SharedArrayBuffer(LockState.SLOTS * Int32Array.BYTES_PER_ELEMENT));

  constructor(private readonly db: Database, opts: EventLogOptions = {}) {
    this.dedupWindow = opts.dedupWindowEvents ?? DEDUP_WINDOW_EVENTS;
    this.holding = { ...(opts.storeMarker === undefined ? {} : { storeMarker: opts.storeMarker }), ...(opts.holdMs === undefined ? {} : { holdMs: opts.holdMs }) };
    this.commitHere = db.memory || db.readonly ? createEventWriter(db, undefined, this.dedupWindow) : undefined;
    this.segments = db.memory ? undefined : new SegmentReader(segmentsDirFor(db.name));
    if (!db.memory && !db.readonly) this.recovered = recoverEventIndex(db, segmentsDirFor(db.name), { dedupWindow: this.dedupWindow, liveWriters: LIVE_WRITERS });
    if (opts.startWriter === true && this.commitHere === undefined) {
      const worker = this.writer();
      worker.postMessage({ warm: true } satisfies WriterRequest);
      worker.unref();
    }
  }

  /** Groups and events whose index rows a crash had lost, indexed again when this log opened. */
  readonly recovered: RecoveryReport = { groups: 0, events: 0 };

  append(events: readonly StoredEvent[]): Promise<AppendCounts> {
    return this.appendEncoded(encodeEvents(events));
  }

  /**
   * Stores encoded events; resolves once they are committed. For a file database the payload
   * buffer is transferred to the writer thread: `events.payloads` is unusable afterwards.
   */
  appendEncoded(events: EncodedEvents): Promise<AppendCounts> {
    if (events.count === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    if (this.closed) return Promise.reject(new Error('event log is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.scheduled && !this.sending) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits (in-thread) or hands to the writer (worker) everything queued so far, unless a group is with the writer already. */
  flush(): void {
    this.scheduled = false;
    if (this.sending) return;
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    if (this.commitHere !== undefined) return this.commitInThread(this.commitHere, group);
    const first = this.nextId;
    this.nextId += group.length;
    group.forEach((p, i) => this.inFlight.set(first + i, p));
    const worker = this.writer();
    worker.ref();
    this.sending = true;
    // One message per group: the appends' fields joined, their payload buffers moved (not copied).
    const { group: joined, transfer } = groupEvents(group.map((p) => p.events));
    // Columns whose values come in runs cross as runs: cloning costs per value.
    worker.postMessage({ first, group: packGroup(joined) } satisfies WriterRequest, transfer);
  }

  /** Commits what is queued, waits for every append in flight, then stops the writer. Calls after the first share its result. */
  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async shut(): Promise<void> {
    this.closed = true;
    this.flush();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
    // The writer commits, cuts its segment to its last group and closes its connection, then stops.
    await this.sync(true);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
    this.segments?.close();
  }

  private commitInThread(commit: EventWriter, group: Pending[]): void {
    let stored: number[];
    try {
      stored = commit(groupEvents(group.map((p) => p.events)).group);
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    group.forEach((p, i) => p.resolve(counts(p.events.count, stored[i]!)));
  }

  private writer(): Worker {
    if (this.worker !== undefined) return this.worker;
    const id = randomUUID();
    const data: WriterData = { path: this.db.name, segmentsDir: segmentsDirFor(this.db.name), dedupWindow: this.dedupWindow, writer: id, ...this.holding, lock: this.lock.buffer as SharedArrayBuffer };
    // The worker loads TypeScript through tsx like the main thread (loader hooks are per thread).
    const api = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_ENTRY)}); })`;
    const worker = WORKER_ENTRY.endsWith('.ts')
      ? new Worker(boot, { eval: true, workerData: data })
      : new Worker(new URL(WORKER_ENTRY), { workerData: data });
    worker.on('message', (m: WriterReply) => this.settle(m));
    const fail = (err: unknown): void => {
      if (this.worker === worker) this.worker = undefined;
      this.sending = false;
      // Nothing is held by a writer that is gone: reads go on.
      for (const done of this.syncs.values()) done();
      this.syncs.clear();
      for (const [id, p] of this.inFlight) {
        this.inFlight.delete(id);
        p.reject(err);
      }
      // Appends that waited for the lost group go to a new writer.
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
      this.idle?.();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      LIVE_WRITERS.delete(id);
      fail(new Error(`event writer exited (${code})`));
    });
    LIVE_WRITERS.add(id);
    this.worker = worker;
    return worker;
  }

  /**
   * Runs `write` (a write on this log's connection, the main thread's) without waiting out a
   * transaction the writer thread holds: while it runs the writer holds none, and one it holds
   * is let go first (a message, then at most {@link LOCK_WAIT_MS} of waiting here). Nests.
   */
  exclusively<T>(write: () => T): T {
    const lock = this.lock;
    Atomics.add(lock, LockState.WANTED, 1);
    try {
      const worker = this.worker;
      if (worker !== undefined && Atomics.load(lock, LockState.HOLDING) === 1) {
        const seen = Atomics.load(lock, LockState.RELEASES);
        worker.postMessage({ sync: -1 } satisfies WriterRequest);
        const until = Date.now() + LOCK_WAIT_MS;
        while (Atomics.load(lock, LockState.HOLDING) === 1 && Atomics.load(lock, LockState.RELEASES) === seen && Date.now() < until) {
          Atomics.wait(lock, LockState.RELEASES, seen, until - Date.now());
        }
      }
      return write();
    } finally {
      Atomics.sub(lock, LockState.WANTED, 1);
    }
  }

  /**
   * Resolves once the writer has committed every row it holds (see sqlite-event-worker.ts), so
   * that reads on this connection see every resolved append.
   */
  private sync(close = false): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return Promise.resolve();
    const id = this.nextSync++;
    // An idle writer is unreferenced: the answer must keep the process alive until it comes.
    worker.ref();
    return new Promise((resolve) => {
      this.syncs.set(id, resolve);
      worker.postMessage((close ? { sync: id, close: true } : { sync: id }) satisfies WriterRequest);
    });
  }

  private settle(m: WriterReply): void {
    if ('synced' in m) {
      this.syncs.get(m.synced)?.();
      this.syncs.delete(m.synced);
      if (this.syncs.size === 0 && this.inFlight.size === 0) this.worker?.unref();
      return;
    }
    const n = 'stored' in m ? m.stored.length : m.count;
    for (let i = 0; i < n; i++) {
      const p = this.inFlight.get(m.first + i);
      if (p === undefined) continue;
      this.inFlight.delete(m.first + i);
      if ('stored' in m) p.resolve(counts(p.events.count, m.stored[i]!));
      else p.reject(new Error(m.error));
    }
    // The group is done: what waited goes now.
    this.sending = false;
    this.flush();
    if (this.inFlight.size > 0 || this.syncs.size > 0) return;
    // Idle: the writer must not keep the process alive on its own.
    this.worker?.unref();
    this.idle?.();
  }

  async recent(sourceId: string, limit: number, beforeSeq?: number): Promise<LoggedEvent[]> {
    await this.sync();
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE source_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(sourceId, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as EventRow[];
    return rows.map((r) => toEvent(r, this.payloadOf(r)));
  }

  /** A row's payload JSON: in the row, or in the segment log at the row's position. */
  private payloadOf(r: EventRow): string {
    if (r.log_segment === null) return r.payload;
    if (this.segments === undefined) throw new Error(`event ${r.seq} is in the segment log, which an in-memory database has none of`);
    return this.segments.read({ segment: r.log_segment, offset: r.log_offset!, length: r.log_length! });
  }

  async count(sourceId?: string): Promise<number> {
    await this.sync();
    const row = (sourceId === undefined
      ? this.db.prepare('SELECT count(*) AS n FROM events').get()
      : this.db.prepare('SELECT count(*) AS n FROM events WHERE source_id = ?').get(sourceId)) as { n: number };
    return row.n;
  }
}

/** An append's counts from how many of its `count` events were new. */
function counts(count: number, stored: number): AppendCounts {
  return { stored, duplicates: count - stored };
}

interface EventRow {
  seq: number; source_id: string; message_id: string; type: string; status: string;
  reason: string | null; received_at: number; payload: string;
  log_segment: number | null; log_offset: number | null; log_length: number | null;
}

function toEvent(r: EventRow, payloadJson: string): LoggedEvent {
  return {
    seq: r.seq, sourceId: r.source_id, messageId: r.message_id, type: r.type,
    status: r.status === 'rejected' ? 'rejected' : 'accepted', reason: r.reason,
    receivedAt: r.received_at, payload: JSON.parse(payloadJson) as Record<string, unknown>,
  };
}
