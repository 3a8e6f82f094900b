import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processIdentity } from './event-segments.ts';

/**
 * Which stores have a database open: each open file store leaves a marker file in
 * `<segments folder>/.stores/` until it closes. An event writer keeps its write transaction open
 * across groups (fewer commits) only while its store is the only one open on the database; a
 * second one (a restart running beside the old process, an operator's command) ends that at once.
 *
 * A marker names its process like a segment owner does (pid, boot id, start time, host): the
 * marker of a process that died without closing is taken for gone on the same host, and on another
 * host (a shared volume) once not refreshed for {@link FOREIGN_MARKER_QUIET_MS}. Each store touches
 * its own every {@link REFRESH_MS}.
 */

/** A marker of another host counts as open until it has not been refreshed for this long. */
export const FOREIGN_MARKER_QUIET_MS = 30_000;
/** How often an open store touches its marker. */
const REFRESH_MS = 10_000;
/** How often {@link OtherStores} looks again even when the folder did not change (markers of processes that died). */
const RECHECK_MS = 1_000;

interface Marker {
  readonly pid: number;
  readonly boot: string;
  readonly start: string;
  readonly host: string;
}

const FOLDER = '.stores';

/** The marker folder of the segment folder `segmentsDir`. */
export function storesDirOf(segmentsDir: string): string {
  return join(segmentsDir, FOLDER);
}

/** An open store's marker: `id` names it; {@link close} removes it. */
export interface StoreMarker {
  readonly id: string;
  close(): void;
}

/**
 * Leaves this store's marker in `segmentsDir` (created when missing) until closed; undefined
 * when it cannot (the folder is a file, unwritable...): the store then never holds its
 * transaction across groups, and opens all the same.
 */
export function markStoreOpen(segmentsDir: string): StoreMarker | undefined {
  const dir = storesDirOf(segmentsDir);
  const id = randomUUID();
  const path = join(dir, `${id}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    sweep(dir);
    const marker: Marker = { pid: process.pid, ...processIdentity(), host: hostname() };
    writeFileSync(path, JSON.stringify(marker));
  } catch {
    try {
      rmSync(path, { force: true });
    } catch {
      // Nothing was written there.
    }
    return undefined;
  }
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Removed by hand: the next writer check sees this store as gone, which only costs batching.
    }
  }, REFRESH_MS);
  refresh.unref();
  return {
    id,
    close() {
      clearInterval(refresh);
      rmSync(path, { force: true });
    },
  };
}

/**
 * Whether stores other than `selfId` have the database open, from the marker folder: looked up
 * again when the folder changes, and at least every {@link RECHECK_MS}.
 */
export class OtherStores {
  private seenMtime = -1;
  private seenAt = 0;
  private others = true;

  constructor(private readonly segmentsDir: string, private readonly selfId: string) {}

  /** True when some other store may have the database open (also when the folder cannot be read). */
  present(now = Date.now()): boolean {
    const dir = storesDirOf(this.segmentsDir);
    let mtime: number;
    try {
      mtime = statSync(dir).mtimeMs;
    } catch {
      return true;
    }
    if (mtime === this.seenMtime && now - this.seenAt < RECHECK_MS) return this.others;
    this.seenMtime = mtime;
    this.seenAt = now;
    this.others = this.lookUp(dir, now);
    return this.others;
  }

  private lookUp(dir: string, now: number): boolean {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return true;
    }
    if (!names.includes(`${this.selfId}.json`)) return true;
    return names.some((name) => name !== `${this.selfId}.json` && name.endsWith('.json') && isOpen(join(dir, name), now));
  }
}

/** Whether the marker at `path` belongs to a store that may still be open. */
function isOpen(path: string, now: number): boolean {
  let m: Partial<Marker>;
  let modified: number;
  try {
    modified = statSync(path).mtimeMs;
    m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Marker>;
  } catch {
    // Being written, or unreadable: count it, batching is only an optimisation.
    return true;
  }
  if (typeof m !== 'object' || m === null || typeof m.pid !== 'number' || typeof m.host !== 'string') return true;
  if (m.host !== hostname()) return now - modified < FOREIGN_MARKER_QUIET_MS;
  if (typeof m.boot === 'string' && typeof m.start === 'string' && m.boot !== '' && m.start !== '') {
    // Also for this process id: a container's process is pid 1 run after run, its start time tells them apart.
    const current = processIdentity(m.pid);
    return current.boot === m.boot && current.start === m.start;
  }
  if (m.pid === process.pid) return true;
  try {
    process.kill(m.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the markers of processes on this host that are gone (they died without closing). */
function sweep(dir: string): void {
  const now = Date.now();
  for (const name of safeList(dir)) {
    const path = join(dir, name);
    if (!name.endsWith('.json') || isOpen(path, now)) continue;
    try {
      const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Marker>;
      if (m.host === hostname()) rmSync(path, { force: true });
    } catch {
      // Unreadable: left alone.
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
