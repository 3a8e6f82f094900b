import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { AppError, retry } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import { Opcode, Rcode } from './rr-types.ts';
import { signMessage, verifyMessage, type TsigKey } from './tsig.ts';
import type { DnsListen, DnsLogger, ZoneSpec } from './types.ts';
import type { ZoneChange, ZoneTable } from './zone-table.ts';

/** Options of {@link Notifier}. */
export interface NotifierOptions {
  /** The zones whose changes are announced. */
  readonly table: ZoneTable;
  /** Secondaries told about every serial change (RFC 1996 §3.6), as `host:port`. */
  readonly secondaries: readonly DnsListen[];
  /** Signs every NOTIFY and requires a valid signed acknowledgement (RFC 8945); default unsigned. */
  readonly tsigKey?: TsigKey;
  readonly logger?: DnsLogger;
  /** Tries per secondary and serial, the first included (default 5). */
  readonly maxAttempts?: number;
  /** How long to wait for each acknowledgement (default 1 000 ms). */
  readonly ackTimeoutMs?: number;
  /** Pause before the second try, doubling after (default 500 ms). */
  readonly retryDelayMs?: number;
  /** NOTIFY exchanges in flight at once over all zones (default 64), so 100 000 zones do not flood. */
  readonly maxInFlight?: number;
}

/** Counters of {@link Notifier}. */
export interface NotifyStats {
  readonly sent: number;
  readonly acknowledged: number;
  /** Secondary/serial pairs given up on after every attempt. */
  readonly failed: number;
}

const SILENT: DnsLogger = { info() {}, warn() {}, debug() {}, error() {} };
const key = (apex: string, t: DnsListen): string => `${apex} ${t.host} ${t.port}`;

/**
 * Sends DNS NOTIFY (RFC 1996) to configured secondaries whenever a zone of the table gets a new
 * serial, retrying with backoff until each secondary acknowledges (QR set, opcode NOTIFY, NOERROR
 * and, with a key, a valid TSIG). A newer serial supersedes a pending one: each secondary is
 * always told the latest serial. Deleted zones are not announced. Lifecycle: `start()` binds the
 * sending sockets and subscribes; `close()` unsubscribes and stops retrying.
 */
export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #log: DnsLogger;
  readonly #latest = new Map<string, ZoneSpec>();
  readonly #queue: Array<{ apex: string; target: DnsListen }> = [];
  readonly #queued = new Set<string>();
  readonly #waiting = new Map<number, (msg: Buffer, from: dgram.RemoteInfo) => void>();
  readonly #abort = new AbortController();
  readonly #idle = new Set<() => void>();
  #sockets: { v4?: dgram.Socket; v6?: dgram.Socket } | undefined;
  #unsubscribe: (() => void) | undefined;
  #inFlight = 0;
  #stats = { sent: 0, acknowledged: 0, failed: 0 };

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? SILENT;
  }

  /** Binds one UDP socket per address family on an ephemeral port and follows zone changes. */
  async start(): Promise<void> {
    if (this.#sockets) return;
    const wants = (v6: boolean): boolean => this.#opts.secondaries.some((t) => isIPv6(t.host) === v6);
    // Only the families in use: a host without IPv6 cannot bind udp6.
    this.#sockets = { v4: wants(false) ? await this.#bind('udp4') : undefined, v6: wants(true) ? await this.#bind('udp6') : undefined };
    this.#unsubscribe = this.#opts.table.onChange((c) => this.#onChange(c));
  }

  /** Stops following changes, abandons pending notifications and closes the sockets. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#abort.abort();
    this.#queue.length = 0;
    const s = this.#sockets;
    this.#sockets = undefined;
    const open = [s?.v4, s?.v6].filter((x) => x !== undefined);
    await Promise.all(open.map((sock) => new Promise<void>((r) => sock.close(() => r()))));
  }

  /** Queues a NOTIFY of `spec`'s serial to every secondary (also used at start for all zones). */
  announce(spec: ZoneSpec): void {
    this.#latest.set(spec.apex, spec);
    for (const target of this.#opts.secondaries) {
      const k = key(spec.apex, target);
      if (this.#queued.has(k)) continue;
      this.#queued.add(k);
      this.#queue.push({ apex: spec.apex, target });
    }
    this.#pump();
  }

  /** A snapshot of the counters. */
  stats(): NotifyStats {
    return { ...this.#stats };
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #onChange(c: ZoneChange): void {
    if (c.kind === 'deleted') this.#latest.delete(c.apex);
    else if (c.spec.serial !== c.previousSerial) this.announce(c.spec);
  }

  #pump(): void {
    while (this.#inFlight < (this.#opts.maxInFlight ?? 64) && this.#queue.length > 0 && !this.#abort.signal.aborted) {
      const job = this.#queue.shift()!;
      this.#queued.delete(key(job.apex, job.target));
      this.#inFlight++;
      void this.#deliver(job.apex, job.target).finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#inFlight === 0 && this.#queue.length === 0) for (const r of this.#idle) r();
        if (this.#inFlight === 0 && this.#queue.length === 0) this.#idle.clear();
      });
    }
  }

  /** Notifies one secondary until it acknowledges the zone's latest serial. */
  async #deliver(apex: string, target: DnsListen): Promise<void> {
    const o = this.#opts;
    try {
      await retry(async () => {
        const spec = this.#latest.get(apex);
        if (spec === undefined) return; // deleted meanwhile: nothing to announce
        await this.#exchange(spec, target);
      }, { maxAttempts: o.maxAttempts ?? 5, initialDelayMs: o.retryDelayMs ?? 500, maxDelayMs: 30_000, signal: this.#abort.signal });
      this.#stats.acknowledged++;
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      this.#stats.failed++;
      this.#log.warn({ err, apex, secondary: `${target.host}:${target.port}` }, 'dns notify not acknowledged');
    }
  }

  /** One NOTIFY and its acknowledgement (RFC 1996 §3.7, §4.7); throws a retryable error otherwise. */
  async #exchange(spec: ZoneSpec, target: DnsListen): Promise<void> {
    const sockets = this.#sockets;
    if (sockets === undefined) throw this.#unacked(spec, target, 'notifier closed');
    let id = randomInt(0x10000);
    while (this.#waiting.has(id)) id = (id + 1) & 0xffff;
    const now = Math.floor(Date.now() / 1000);
    const plain = notifyMessage(id, spec);
    const signed = this.#opts.tsigKey ? signMessage(plain, this.#opts.tsigKey, { nowSeconds: now }) : undefined;
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiting.delete(id); reject(this.#unacked(spec, target, 'timeout')); }, this.#opts.ackTimeoutMs ?? 1000);
      this.#waiting.set(id, (msg, from) => {
        if (from.port !== target.port) return; // not from the secondary we asked
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(msg);
      });
    });
    (isIPv6(target.host) ? sockets.v6 : sockets.v4)!.send(signed?.bytes ?? plain, target.port, target.host);
    this.#stats.sent++;
    const msg = await reply;
    const why = this.#checkAck(msg, signed?.mac);
    if (why !== undefined) throw this.#unacked(spec, target, why);
    this.#log.debug({ apex: spec.apex, serial: spec.serial, secondary: `${target.host}:${target.port}` }, 'dns notify acknowledged');
  }

  #checkAck(msg: Buffer, requestMac: Buffer | undefined): string | undefined {
    const flags = msg.readUInt16BE(2);
    if (!(flags & 0x8000) || ((flags >> 11) & 0xf) !== Opcode.NOTIFY) return 'not a NOTIFY response';
    if ((flags & 0xf) !== Rcode.NOERROR) return `rcode ${flags & 0xf}`;
    const key = this.#opts.tsigKey;
    if (key === undefined) return undefined;
    const v = verifyMessage(msg, [key], Math.floor(Date.now() / 1000), { requestMac });
    return v.kind === 'valid' ? undefined : `TSIG ${v.kind}${v.kind === 'invalid' ? ` error ${v.error}` : ''}`;
  }

  #unacked(spec: ZoneSpec, target: DnsListen, why: string): AppError {
    return new AppError(DnsErrors.NOTIFY_UNACKNOWLEDGED, `NOTIFY ${spec.apex} serial ${spec.serial} to ${target.host}:${target.port}: ${why}`, {
      details: { apex: spec.apex, serial: spec.serial, host: target.host, port: target.port, why },
    });
  }

  #bind(type: 'udp4' | 'udp6'): Promise<dgram.Socket> {
    const sock = dgram.createSocket(type);
    sock.on('message', (msg, from) => {
      if (msg.length >= 12) this.#waiting.get(msg.readUInt16BE(0))?.(msg, from);
    });
    // ICMP port-unreachable surfaces here; the retry loop already covers the lost NOTIFY.
    sock.on('error', (err) => this.#log.debug({ err, type }, 'dns notify socket error'));
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, () => {
        sock.off('error', reject);
        resolve(sock);
      });
    });
  }
}

/** A NOTIFY for the zone's SOA with the new SOA in the answer section as a hint (RFC 1996 §3.7). */
function notifyMessage(id: number, spec: ZoneSpec): Buffer {
  const s = spec.soa;
  const bytes = dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: spec.apex, type: 'SOA', class: 'IN' }],
    answers: [{
      name: spec.apex, type: 'SOA', class: 'IN', ttl: s.ttlSeconds,
      data: { mname: s.mname, rname: s.rname, serial: spec.serial, refresh: s.refreshSeconds, retry: s.retrySeconds, expire: s.expireSeconds, minimum: s.minimumSeconds },
    }],
  });
  bytes.writeUInt16BE((bytes.readUInt16BE(2) & ~0x7800) | (Opcode.NOTIFY << 11), 2);
  return bytes;
}
