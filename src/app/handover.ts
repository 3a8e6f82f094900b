import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';

/**
 * Zero-downtime restart: the running process (the predecessor) spawns a successor with an IPC
 * channel and hands it its listening sockets, so no connection is ever refused. Node 20 has no
 * `SO_REUSEPORT`, but a listening handle sent over IPC is the same kernel socket in both
 * processes: connections queue on it whoever accepts them.
 *
 * 1. predecessor: refuses admin changes (503) and stops its background roles (domain worker,
 *    webhooks), so no state changes that the successor would not load; spawns the successor;
 * 2. successor → `hello`; predecessor → one `listener` message per socket (HTTPS edge, plain HTTP,
 *    admin) with the handle, then `listeners-sent` with its bound DNS addresses;
 * 3. successor loads its state and serves on the inherited sockets, → `serving`;
 * 4. predecessor stops accepting (readiness 503, GOAWAY, `Connection: close`), closes its DNS
 *    sockets and its admin listener, → `released`, then drains requests in flight and exits;
 * 5. successor binds DNS (UDP and TCP are re-bound, not handed over: a gap of milliseconds that
 *    resolvers cover by retrying, RFC 1035 §4.2.1), starts its worker, → `ready`.
 * If the successor exits or is not serving in time, the predecessor takes its roles back.
 */
export type HandoverMessage =
  | { readonly type: 'hello' }
  | { readonly type: 'listener'; readonly name: ListenerName }
  | { readonly type: 'listeners-sent'; readonly dns: ReadonlyArray<{ host: string; port: number }> }
  | { readonly type: 'serving' }
  | { readonly type: 'released' }
  | { readonly type: 'ready'; readonly pid: number };

/** The listening sockets handed over. */
export type ListenerName = 'edge' | 'http' | 'admin';

/** Listening sockets received from a predecessor, as `process.on('message')` delivers them. */
export interface InheritedListeners {
  readonly edge?: Server;
  readonly http?: Server;
  readonly admin?: Server;
  /** The predecessor's bound DNS addresses: bound again, the same ones, once it released them. */
  readonly dns: ReadonlyArray<{ host: string; port: number }>;
}

/** What {@link startFirstparty} needs to start as a successor. */
export interface SuccessorStart {
  readonly listeners: InheritedListeners;
  /** Signals `serving`; resolves once the predecessor released DNS (its worker is already stopped). */
  takeOver(): Promise<void>;
}

/** The predecessor's side of a handover, provided by a running firstparty (see `Running.handover`). */
export interface HandoverSource {
  /** The listening servers to hand over, and the bound DNS addresses. */
  listeners(): { readonly servers: Partial<Record<ListenerName, Server>>; readonly dns: ReadonlyArray<{ host: string; port: number }> };
  /** Refuses admin changes and stops the domain worker and webhook deliveries. */
  pauseBackground(): Promise<void>;
  /** Undoes {@link pauseBackground} when the successor failed. */
  resumeBackground(): Promise<void>;
  /** Stops accepting everywhere and closes DNS; `released` resolves then, `drained` once requests in flight are answered. */
  release(graceMs: number): { released: Promise<void>; drained: Promise<void> };
}

/** Options of {@link handOver}. */
export interface HandOverOptions {
  /** The command line of the successor (node and its flags first). */
  readonly command: readonly string[];
  /** Time for the successor to serve (ms). Default 60 000. */
  readonly startTimeoutMs?: number;
  /** Time for requests in flight to finish after the switch (ms). Default 10 000. */
  readonly graceMs?: number;
  readonly logger: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** How a handover ended: `handed-over` (this process released everything and should close and exit) or `failed` (it serves on). */
export type HandOverOutcome = { readonly kind: 'handed-over'; readonly successorPid: number; readonly drained: Promise<void> } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Runs the predecessor's side of a handover (steps 1, 2 and 4 above). Never rejects: a
 * successor that fails to start is killed and this process resumes its background roles.
 */
export async function handOver(source: HandoverSource, opts: HandOverOptions): Promise<HandOverOutcome> {
  await source.pauseBackground();
  const [cmd, ...args] = opts.command;
  const child = spawn(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  opts.logger.info({ pid: child.pid }, 'restart: successor started');
  try {
    await waitFor(child, 'hello', opts.startTimeoutMs ?? 60_000);
    const { servers, dns } = source.listeners();
    for (const [name, server] of Object.entries(servers)) {
      if (server) await sendMessage(child, { type: 'listener', name: name as ListenerName }, server);
    }
    await sendMessage(child, { type: 'listeners-sent', dns });
    await waitFor(child, 'serving', opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    await source.resumeBackground();
    const reason = err instanceof Error ? err.message : String(err);
    opts.logger.error({ err, pid: child.pid }, 'restart failed: serving on');
    return { kind: 'failed', reason };
  }
  const switchedAt = Date.now();
  const { released, drained } = source.release(opts.graceMs ?? 10_000);
  await released;
  await sendMessage(child, { type: 'released' }).catch((err: unknown) => opts.logger.error({ err }, 'restart: successor gone after serving'));
  opts.logger.info({ pid: child.pid }, 'restart: handed over, draining');
  const settled = drained.finally(() => {
    opts.logger.info({ pid: child.pid, drainMs: Date.now() - switchedAt }, 'restart: drained');
    if (child.connected) child.disconnect();
    child.unref();
  });
  return { kind: 'handed-over', successorPid: child.pid!, drained: settled };
}

/**
 * The successor's side (steps 2, 3 and 5): says hello, collects the listeners, and returns what
 * {@link startFirstparty} needs plus `ready()`, to call once started. Rejects when this process
 * has no IPC channel or the predecessor goes away.
 */
export async function receiveHandover(): Promise<{ start: SuccessorStart; ready(): void }> {
  if (!process.send) throw new Error('--successor needs an IPC channel to the predecessor');
  const servers: Partial<Record<ListenerName, Server>> = {};
  const inbox = new Inbox();
  process.on('message', (m: HandoverMessage, handle?: Server) => {
    if (m.type === 'listener' && handle) servers[m.name] = handle;
    inbox.push(m);
  });
  process.send({ type: 'hello' } satisfies HandoverMessage);
  const sent = await inbox.next('listeners-sent');
  const listeners: InheritedListeners = { ...servers, dns: sent.type === 'listeners-sent' ? sent.dns : [] };
  return {
    start: {
      listeners,
      takeOver: async () => {
        process.send!({ type: 'serving' } satisfies HandoverMessage);
        await inbox.next('released');
      },
    },
    ready: () => {
      process.send?.({ type: 'ready', pid: process.pid } satisfies HandoverMessage, () => process.disconnect());
    },
  };
}

/** Messages from the predecessor, awaited by type; rejects waiters when the channel closes. */
class Inbox {
  private readonly seen: HandoverMessage[] = [];
  private readonly waiters: Array<{ type: HandoverMessage['type']; resolve: (m: HandoverMessage) => void; reject: (e: Error) => void }> = [];

  constructor() {
    process.once('disconnect', () => {
      for (const w of this.waiters.splice(0)) w.reject(new Error('predecessor disconnected during the handover'));
    });
  }

  push(m: HandoverMessage): void {
    const i = this.waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    else this.seen.push(m);
  }

  next(type: HandoverMessage['type']): Promise<HandoverMessage> {
    const i = this.seen.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.seen.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve, reject }));
  }
}

function waitFor(child: ChildProcess, type: HandoverMessage['type'], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`successor sent no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: HandoverMessage) => { if (m.type === type) done(); };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`successor exited (${signal ?? code}) before ${type}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function sendMessage(child: ChildProcess, message: HandoverMessage, handle?: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null) => (err ? reject(err) : resolve());
    if (handle) child.send(message, handle, cb);
    else child.send(message, cb);
  });
}
