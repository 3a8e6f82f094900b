import { isIPv6 } from 'node:net';

/** Options of {@link ResponseRateLimiter}. */
export interface RrlOptions {
  /** UDP responses per second allowed to one client prefix (IPv4 /24, IPv6 /48); also the burst. */
  readonly responsesPerSecond: number;
  /** Every `slip`-th limited response is sent truncated instead of dropped (default 2; 0 = drop all). */
  readonly slip?: number;
  /** Prefixes tracked at once; beyond it the table is reset (default 100 000), bounding memory. */
  readonly maxPrefixes?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  readonly nowMs?: () => number;
}

/** What to do with one UDP response: send it, drop it, or send it truncated (TC=1). */
export type RrlAction = 'send' | 'drop' | 'slip';

interface Bucket { tokens: number; atMs: number; limited: number }

/**
 * Response-rate limiting against reflection abuse, in the spirit of BIND/nsd RRL: one token bucket
 * per client prefix, refilled at `responsesPerSecond`. Over the limit, responses are dropped,
 * except every `slip`-th, which is sent as a truncated header so a real client behind a spoofed
 * prefix can still retry over TCP (RFC 7766 §5), which is never limited.
 */
export class ResponseRateLimiter {
  readonly #rate: number;
  readonly #slip: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: RrlOptions) {
    this.#rate = opts.responsesPerSecond;
    this.#slip = opts.slip ?? 2;
    this.#max = opts.maxPrefixes ?? 100_000;
    this.#now = opts.nowMs ?? (() => performance.now());
  }

  /** Decides the fate of one response to `address` and charges its prefix. */
  check(address: string): RrlAction {
    const now = this.#now();
    const prefix = clientPrefix(address);
    let b = this.#buckets.get(prefix);
    if (b === undefined) {
      if (this.#buckets.size >= this.#max) this.#buckets.clear();
      this.#buckets.set(prefix, (b = { tokens: this.#rate, atMs: now, limited: 0 }));
    }
    b.tokens = Math.min(this.#rate, b.tokens + ((now - b.atMs) * this.#rate) / 1000);
    b.atMs = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 'send';
    }
    b.limited++;
    return this.#slip > 0 && b.limited % this.#slip === 0 ? 'slip' : 'drop';
  }
}

/** The IPv4 /24 or IPv6 /48 of an address, as a map key. */
export function clientPrefix(address: string): string {
  if (!isIPv6(address)) return address.slice(0, address.lastIndexOf('.'));
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7, address.lastIndexOf('.'));
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) while (groups.length < 3) groups.push('0');
  return groups.slice(0, 3).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':');
}

/**
 * A copy of a response cut to header and question with TC set and the other counts zeroed
 * (RFC 2181 §9), for slipped answers. The question must be uncompressed, as ours always are.
 */
export function truncatedCopy(response: Buffer): Buffer {
  let end = 12;
  if (response.readUInt16BE(4) === 1) {
    while (end < response.length && response[end] !== 0) end += response[end]! + 1;
    end = Math.min(end + 5, response.length);
  }
  const out = Buffer.from(response.subarray(0, end));
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200, 2);
  out.writeUInt16BE(end > 12 ? 1 : 0, 4);
  out.fill(0, 6, 12);
  return out;
}
