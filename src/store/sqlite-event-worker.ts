/**
 * Worker-thread entry of {@link SqliteEventLog} for file databases: owns its own connection to
 * the database and commits continuously. Messages that arrive while a transaction is committing
 * (fsync included) wait in the port and form the next group, so the main thread never blocks on
 * disk. Protocol: in `{ first, requests }` (appends numbered `first`, `first + 1`...), out
 * `{ first, results }` once the group holding them is committed, or `{ first, count, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { applyWriterPragmas, createEventWriter, type AppendCounts, type EventRows } from './sqlite-event-writer.ts';

/** A message from the main thread: consecutive appends. */
export interface WriterRequest {
  readonly first: number;
  readonly requests: EventRows[];
}

/** A message to the main thread. */
export type WriterReply =
  | { readonly first: number; readonly results: AppendCounts[] }
  | { readonly first: number; readonly count: number; readonly error: string };

/** What the worker is started with. */
export interface WriterData {
  readonly path: string;
}

if (parentPort !== null && workerData !== null && typeof (workerData as WriterData).path === 'string') {
  const port = parentPort;
  const db = new BetterSqlite3((workerData as WriterData).path);
  applyWriterPragmas(db);
  // The writer's own page cache (64 MiB): index pages stay hot across groups.
  db.pragma('cache_size = -65536');
  const write = createEventWriter(db);
  let queue: WriterRequest[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    let results: AppendCounts[];
    try {
      results = write(group.flatMap((m) => m.requests));
    } catch (err) {
      for (const m of group) port.postMessage({ first: m.first, count: m.requests.length, error: String(err) } satisfies WriterReply);
      return;
    }
    let i = 0;
    for (const m of group) {
      port.postMessage({ first: m.first, results: results.slice(i, i + m.requests.length) } satisfies WriterReply);
      i += m.requests.length;
    }
  };
  port.on('message', (m: WriterRequest) => {
    queue.push(m);
    if (scheduled) return;
    scheduled = true;
    // Runs after the port's pending messages are delivered: they join this group.
    setImmediate(flush);
  });
  port.once('close', () => db.close());
}
