import { isIP } from 'node:net';
import { AppError } from '../core/index.ts';
import { IngestErrors } from './errors.ts';

/** Limits and trust settings of the Tracking API (segment-compat §4.4). */
export interface IngestOptions {
  /** Largest single event, as serialised JSON, in bytes. Default 32768 (Segment's 32 KB). */
  readonly maxEventBytes: number;
  /** Largest request body as received (compressed or not), in bytes. Default 512000 (500 KB). */
  readonly maxRequestBytes: number;
  /** Events of a batch that are processed; the rest are stored rejected. Default 2500. */
  readonly maxBatchEvents: number;
  /** Largest body after gzip/deflate decoding, in bytes; beyond it the request is refused. Default 2097152 (2 MiB). */
  readonly maxDecompressedBytes: number;
  /**
   * Peers whose `X-Forwarded-For` is believed: IPv4/IPv6 addresses, or CIDR blocks (`10.0.0.0/8`).
   * Default none (the socket's address is the client's).
   */
  readonly trustedProxies: readonly string[];
  /**
   * Sustained events per second accepted per source (token bucket, counted in events, a batch
   * costs its length); beyond it requests get 429. 0 turns limiting off. Default 5000.
   */
  readonly rateLimitEventsPerSecond: number;
  /** Events a source may send at once after being idle (the bucket size). Default 50000. */
  readonly rateLimitBurstEvents: number;
}

/** The defaults of every {@link IngestOptions} field. */
export const DEFAULT_INGEST_OPTIONS: IngestOptions = Object.freeze({
  maxEventBytes: 32_768,
  maxRequestBytes: 512_000,
  maxBatchEvents: 2_500,
  maxDecompressedBytes: 2 * 1024 * 1024,
  trustedProxies: Object.freeze([]) as readonly string[],
  rateLimitEventsPerSecond: 5_000,
  rateLimitBurstEvents: 50_000,
});

/**
 * Fills defaults, validates (positive integers, the rate may be 0; `maxDecompressedBytes >= maxRequestBytes`;
 * proxies are IPs or CIDR blocks) and freezes. Throws `ERR_INGEST_INVALID_OPTIONS`.
 */
export function resolveIngestOptions(partial: Partial<IngestOptions> = {}): IngestOptions {
  const o = { ...DEFAULT_INGEST_OPTIONS, ...partial };
  for (const key of ['maxEventBytes', 'maxRequestBytes', 'maxBatchEvents', 'maxDecompressedBytes', 'rateLimitBurstEvents'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < 1) throw invalid(`${key} must be a positive integer`);
  }
  if (!Number.isSafeInteger(o.rateLimitEventsPerSecond) || o.rateLimitEventsPerSecond < 0) throw invalid('rateLimitEventsPerSecond must be a non-negative integer');
  if (o.maxDecompressedBytes < o.maxRequestBytes) throw invalid('maxDecompressedBytes must be at least maxRequestBytes');
  for (const p of o.trustedProxies) {
    if (!isIpOrCidr(p)) throw invalid(`trusted proxy "${p}" is not an IP address or CIDR block`);
  }
  return Object.freeze({ ...o, trustedProxies: Object.freeze([...o.trustedProxies]) });
}

function isIpOrCidr(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^[0-9]{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function invalid(message: string): AppError {
  return new AppError(IngestErrors.INVALID_OPTIONS, message);
}
