/**
 * Worker-thread entry of {@link SqliteEventLog} for file databases: owns its own connection to
 * the database and the payload segment log (event-segments.ts), and commits continuously.
 * Messages that arrive while a group is committing (fsyncs included) wait in the port and form
 * the next group, so the main thread never blocks on disk. Protocol: in `{ first, group }`
 * (an {@link EventGroup} of appends, its columns packed (packed-columns.ts), numbered `first`, `first + 1`..., payload buffers
 * transferred), out `{ first, stored }` (new events per append) once the group holding them is
 * synced to the segment log and its rows are written (committed, or in the held transaction,
 * which commits within {@link HOLD_MS} and before any `{ synced }` answer), or
 * `{ first, count, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { mergeGroups } from '../core/index.ts';
import { unpackGroup, type PackedGroup } from './packed-columns.ts';
import { SegmentAppender } from './event-segments.ts';
import { applyWriterPragmas, createHoldingWriter } from './sqlite-event-writer.ts';
import { OtherStores } from './store-processes.ts';

/**
 * A message from the main thread: consecutive appends; `warm` (load the deduplication window
 * now); or `sync` (commit what is held, then answer `{ synced }` with the same number; with
 * `close`, also close the segment and the connection first: the last message).
 */
export type WriterRequest = { readonly first: number; readonly group: PackedGroup } | { readonly warm: true } | { readonly sync: number; readonly close?: true };
type GroupRequest = Extract<WriterRequest, { group: PackedGroup }>;

/** A message to the main thread. */
export type WriterReply =
  | { readonly first: number; readonly stored: number[] }
  | { readonly first: number; readonly count: number; readonly error: string }
  | { readonly synced: number };

/** What the worker is started with. */
export interface WriterData {
  readonly path: string;
  /** Folder of the payload segment log. */
  readonly segmentsDir: string;
  /** Deduplication window, in events. */
  readonly dedupWindow: number;
  /** This writer's id, in the owner line of the segments it creates. */
  readonly writer: string;
  /**
   * The id of this store's marker (store-processes.ts): while no other store has the database
   * open, the write transaction is held across groups for up to {@link HOLD_MS}. Without one,
   * every group commits on its own.
   */
  readonly storeMarker?: string;
  /** How long a held transaction may stay open (default {@link HOLD_MS}). */
  readonly holdMs?: number;
  /** Shared with the main thread, see {@link LockState}. */
  readonly lock?: SharedArrayBuffer;
}

/**
 * Int32 slots of the buffer the writer shares with its main thread so that the main connection's
 * writes never wait out a held transaction: the writer sets `HOLDING` while it holds one and
 * bumps `RELEASES` (and notifies) each time it lets go; the main thread sets `WANTED` around its
 * own writes, during which the writer holds nothing (each group commits on its own).
 */
export const LockState = { HOLDING: 0, RELEASES: 1, WANTED: 2, SLOTS: 3 } as const;

/** Longest a write transaction is held across groups: the lag of other connections' reads. */
export const HOLD_MS = 10;

/**
 * Transactions are held across groups only while groups average fewer events than this: a
 * commit's fixed cost matters for groups of single events, not for groups of batches.
 */
export const HOLD_BELOW_GROUP_EVENTS = 200;

if (parentPort !== null && workerData !== null && typeof (workerData as WriterData).path === 'string') {
  const port = parentPort;
  const data = workerData as WriterData;
  const db = new BetterSqlite3(data.path);
  // The segment log is synced before each commit and rebuilds lost rows: no second fsync here.
  applyWriterPragmas(db, false);
  // The writer's own page cache (16 MiB): inserts append to the table and its by-source index.
  db.pragma('cache_size = -16384');
  const segments = new SegmentAppender(data.segmentsDir, undefined, data.writer);
  const write = createHoldingWriter(db, segments, data.dedupWindow);
  const others = data.storeMarker === undefined ? undefined : new OtherStores(data.segmentsDir, data.storeMarker);
  let queue: GroupRequest[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  const lock = data.lock === undefined ? undefined : new Int32Array(data.lock);
  /** Commits what is held; a failure is reported, the rows come back from the log at the next start. */
  const release = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    try {
      write.release();
    } catch (err) {
      process.emitWarning(`event index commit failed (acknowledged events are in the segment log; their rows go in with the next group that commits, or at the next start): ${String(err)}`);
    }
    if (lock !== undefined && Atomics.load(lock, LockState.HOLDING) === 1) {
      Atomics.store(lock, LockState.HOLDING, 0);
      Atomics.add(lock, LockState.RELEASES, 1);
      Atomics.notify(lock, LockState.RELEASES);
    }
  };
  /** Moving average of events per group. */
  let groupEvents = 0;
  /**
   * Holds the transaction across groups while this is the only store open, the main thread is not
   * writing and groups are small ({@link HOLD_BELOW_GROUP_EVENTS}); else each group commits on its own.
   */
  const beginGroup = (events: number): void => {
    groupEvents += (events - groupEvents) / 8;
    if (groupEvents >= HOLD_BELOW_GROUP_EVENTS || others === undefined || others.present() || (lock !== undefined && Atomics.load(lock, LockState.WANTED) > 0)) return release();
    try {
      write.hold();
      if (lock !== undefined) Atomics.store(lock, LockState.HOLDING, 1);
    } catch {
      // The lock is busy (another connection writes): this group commits on its own.
    }
  };
  /** After a group: commit once the transaction has been held long enough, else by a timer. */
  const endGroup = (): void => {
    const since = write.heldSince;
    if (since === undefined) return;
    const left = since + (data.holdMs ?? HOLD_MS) - Date.now();
    if (left <= 0) return release();
    timer ??= setTimeout(release, left);
  };
  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    let events = 0;
    for (const m of group) events += m.group.events.count;
    beginGroup(events);
    let stored: number[];
    try {
      // One message per group is the rule; should more be waiting, they commit together.
      stored = write(mergeGroups(group.map((m) => unpackGroup(m.group))));
    } catch (err) {
      for (const m of group) port.postMessage({ first: m.first, count: m.group.sizes.length, error: String(err) } satisfies WriterReply);
      endGroup();
      return;
    }
    let i = 0;
    for (const m of group) {
      port.postMessage({ first: m.first, stored: stored.slice(i, i + m.group.sizes.length) } satisfies WriterReply);
      i += m.group.sizes.length;
    }
    endGroup();
  };
  port.on('message', (m: WriterRequest) => {
    if ('warm' in m) {
      write.warm();
      return;
    }
    if ('sync' in m) {
      release();
      // Closing: the segment is cut to its last group and the connection closed before the answer.
      if (m.close === true) shut();
      port.postMessage({ synced: m.sync } satisfies WriterReply);
      return;
    }
    queue.push(m);
    if (scheduled) return;
    scheduled = true;
    // Runs after the port's pending messages are delivered: they join this group.
    setImmediate(flush);
  });
  let open = true;
  const shut = (): void => {
    if (!open) return;
    open = false;
    release();
    segments.close();
    db.close();
  };
  port.once('close', shut);
}
