/**
 * Worker-thread entry of {@link SqliteEventLog} for file databases: owns its own connection to
 * the database and the payload segment log (event-segments.ts), and commits continuously.
 * Messages that arrive while a group is committing (fsyncs included) wait in the port and form
 * the next group, so the main thread never blocks on disk. Protocol: in `{ first, group }`
 * (an {@link EventGroup} of appends numbered `first`, `first + 1`..., payload buffers
 * transferred), out `{ first, stored }` (new events per append) once the group holding them is
 * committed, or `{ first, count, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { mergeGroups, type EventGroup } from '../core/index.ts';
import { SegmentAppender } from './event-segments.ts';
import { applyWriterPragmas, createEventWriter } from './sqlite-event-writer.ts';

/** A message from the main thread: consecutive appends, or `warm` (load the deduplication window now). */
export type WriterRequest = { readonly first: number; readonly group: EventGroup } | { readonly warm: true };
type GroupRequest = Extract<WriterRequest, { group: EventGroup }>;

/** A message to the main thread. */
export type WriterReply =
  | { readonly first: number; readonly stored: number[] }
  | { readonly first: number; readonly count: number; readonly error: string };

/** What the worker is started with. */
export interface WriterData {
  readonly path: string;
  /** Folder of the payload segment log. */
  readonly segmentsDir: string;
  /** Deduplication window, in events. */
  readonly dedupWindow: number;
  /** This writer's id, in the owner line of the segments it creates. */
  readonly writer: string;
}

if (parentPort !== null && workerData !== null && typeof (workerData as WriterData).path === 'string') {
  const port = parentPort;
  const db = new BetterSqlite3((workerData as WriterData).path);
  // The segment log is synced before each commit and rebuilds lost rows: no second fsync here.
  applyWriterPragmas(db, false);
  // The writer's own page cache (16 MiB): inserts append to the table and its by-source index.
  db.pragma('cache_size = -16384');
  const segments = new SegmentAppender((workerData as WriterData).segmentsDir, undefined, (workerData as WriterData).writer);
  const write = createEventWriter(db, segments, (workerData as WriterData).dedupWindow);
  let queue: GroupRequest[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    let stored: number[];
    try {
      // One message per group is the rule; should more be waiting, they commit together.
      stored = write(mergeGroups(group.map((m) => m.group)));
    } catch (err) {
      for (const m of group) port.postMessage({ first: m.first, count: m.group.sizes.length, error: String(err) } satisfies WriterReply);
      return;
    }
    let i = 0;
    for (const m of group) {
      port.postMessage({ first: m.first, stored: stored.slice(i, i + m.group.sizes.length) } satisfies WriterReply);
      i += m.group.sizes.length;
    }
  };
  port.on('message', (m: WriterRequest) => {
    if ('warm' in m) {
      write.warm();
      return;
    }
    queue.push(m);
    if (scheduled) return;
    scheduled = true;
    // Runs after the port's pending messages are delivered: they join this group.
    setImmediate(flush);
  });
  port.once('close', () => {
    segments.close();
    db.close();
  });
}
