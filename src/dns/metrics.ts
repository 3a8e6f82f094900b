import { rcodeName, typeName } from './rr-types.ts';
import type { DnsTransport } from './types.ts';

/** Upper bounds (microseconds, inclusive) of the latency histogram; one more bucket holds the rest. */
export const LATENCY_BUCKETS_US: readonly number[] = Object.freeze([10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000]);

/** A snapshot of the DNS server's counters since start. */
export interface DnsMetrics {
  /** Messages answered (every response counts once, whatever its rcode). */
  readonly queriesTotal: number;
  /** Messages dropped without an answer (shorter than a header, or responses). */
  readonly dropped: number;
  /** Answers sent truncated (TC=1) because they did not fit the transport's limit. */
  readonly truncated: number;
  /** UDP answers dropped or sent truncated by response-rate limiting. */
  readonly rateLimited: number;
  readonly byTransport: { readonly udp: number; readonly tcp: number };
  /** Answered queries by QTYPE mnemonic (`TYPE<n>` for unknown ones); FORMERR/NOTIMP are not counted here. */
  readonly byQtype: Readonly<Record<string, number>>;
  /** Answers by RCODE mnemonic, extended ones included (`BADVERS`). */
  readonly byRcode: Readonly<Record<string, number>>;
  /**
   * Processing time of each message received (answered or dropped), from the socket's read to the
   * hand-off of the answer. `counts[i]` is the number of messages with latency <=
   * `bucketUpperBoundsUs[i]` and above the previous bound; the last count is the overflow bucket.
   */
  readonly latency: { readonly bucketUpperBoundsUs: readonly number[]; readonly counts: readonly number[]; readonly sumUs: number };
  readonly tcp: { readonly open: number; readonly accepted: number; readonly timedOut: number };
}

/** The mutable counters behind {@link DnsMetrics}; cheap enough to call on every query. */
export class DnsMetricsRecorder {
  queriesTotal = 0;
  dropped = 0;
  truncated = 0;
  rateLimited = 0;
  tcpOpen = 0;
  tcpAccepted = 0;
  tcpTimedOut = 0;
  readonly #byTransport = { udp: 0, tcp: 0 };
  readonly #byQtype = new Map<number, number>();
  readonly #byRcode = new Map<number, number>();
  readonly #latencyCounts = new Float64Array(LATENCY_BUCKETS_US.length + 1);
  #latencySumUs = 0;

  /** Counts one answer; `qtype` is -1 when the question could not be read. */
  recordAnswer(transport: DnsTransport, qtype: number, rcode: number, truncated: boolean): void {
    this.queriesTotal++;
    this.#byTransport[transport]++;
    if (qtype >= 0) this.#byQtype.set(qtype, (this.#byQtype.get(qtype) ?? 0) + 1);
    this.#byRcode.set(rcode, (this.#byRcode.get(rcode) ?? 0) + 1);
    if (truncated) this.truncated++;
  }

  /** Adds one latency sample in microseconds. */
  recordLatency(us: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_US.length && us > LATENCY_BUCKETS_US[i]!) i++;
    this.#latencyCounts[i]!++;
    this.#latencySumUs += us;
  }

  /** A plain-object copy of the counters. */
  snapshot(): DnsMetrics {
    const named = (m: Map<number, number>, name: (n: number) => string): Record<string, number> =>
      Object.fromEntries([...m].map(([k, v]) => [name(k), v]));
    return {
      queriesTotal: this.queriesTotal,
      dropped: this.dropped,
      truncated: this.truncated,
      rateLimited: this.rateLimited,
      byTransport: { ...this.#byTransport },
      byQtype: named(this.#byQtype, typeName),
      byRcode: named(this.#byRcode, rcodeName),
      latency: { bucketUpperBoundsUs: LATENCY_BUCKETS_US, counts: [...this.#latencyCounts], sumUs: this.#latencySumUs },
      tcp: { open: this.tcpOpen, accepted: this.tcpAccepted, timedOut: this.tcpTimedOut },
    };
  }
}
