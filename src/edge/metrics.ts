import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeCertificate } from './cert-cache.ts';
import { pathOf } from './responses.ts';

/** Label values of one series, in the order of the metric's label names. */
type LabelValues = readonly string[];

const DAY_MS = 86_400_000;
/** Request latency buckets (seconds): sub-millisecond CDN hits up to slow ingest commits. */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** TLS handshake latency buckets (seconds). */
const HANDSHAKE_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Expiry thresholds (days) of the certificate gauge. */
const EXPIRY_DAYS = [1, 7, 14, 30];

/** One series of a {@link Counter}: resolve it once with `child(labels)`, then `inc()` is an addition. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: LabelValues) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** A Prometheus counter with fixed label names (exposition format 0.0.4). */
class Counter {
  private readonly series = new Map<string, CounterSeries>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  inc(labels: LabelValues, by = 1): void {
    this.child(labels).inc(by);
  }

  /** The series of `labels`, created at zero on first use (so hot paths keep it and skip the lookup). */
  child(labels: LabelValues): CounterSeries {
    const key = labels.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = new CounterSeries(labels);
      this.series.set(key, s);
    }
    return s;
  }

  value(labels: LabelValues): number {
    return this.series.get(labels.join('\u0000'))?.value ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.labels)} ${s.value}`);
  }
}

/** One series of a {@link Histogram}: resolve it once with `child(labels)`, then `observe()` touches no map. */
export class HistogramSeries {
  /** Per-bucket counts, made cumulative at render time (one increment per observation). */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly labels: LabelValues, private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (seconds <= buckets[i]!) {
        this.counts[i]! += 1;
        break;
      }
    }
    this.sum += seconds;
    this.count += 1;
  }
}

/** A Prometheus histogram with fixed buckets (upper bounds in seconds) and label names. */
class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], private readonly buckets: readonly number[]) {}

  observe(labels: LabelValues, seconds: number): void {
    this.child(labels).observe(seconds);
  }

  /** The series of `labels`, created empty on first use (so hot paths keep it and skip the lookup). */
  child(labels: LabelValues): HistogramSeries {
    const key = labels.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = new HistogramSeries(labels, this.buckets);
      this.series.set(key, s);
    }
    return s;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(`${this.name}_bucket${labelText([...this.labelNames, 'le'], [...s.labels, String(b)])} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${labelText([...this.labelNames, 'le'], [...s.labels, '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
  }
}

function labelText(names: readonly string[], values: LabelValues): string {
  if (names.length === 0) return '';
  // Exposition format: backslash, double quote and newline are escaped in label values.
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${names.map((n, i) => `${n}="${esc(values[i] ?? '')}"`).join(',')}}`;
}

function gauge(out: string[], name: string, help: string, rows: ReadonlyArray<readonly [string, number]>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
}

/** What the edge reports at scrape time (read from its live state, never cached). */
export interface EdgeGauges {
  openConnections(): number;
  secureContexts(): number;
  certificates(): Iterable<EdgeCertificate>;
  now(): number;
}

/**
 * The edge's Prometheus metrics, rendered as text exposition format 0.0.4 by {@link render}:
 * - `firstparty_edge_requests_total{host_kind,scope,status}` and
 *   `firstparty_edge_request_duration_seconds{host_kind,scope}` (host_kind `cdn`|`api`|`none`,
 *   scope `default`|`custom`|`none`);
 * - `firstparty_edge_tls_handshakes_total{result}` (`ok` or a failure reason) and
 *   `firstparty_edge_tls_handshake_duration_seconds`;
 * - `firstparty_edge_connections_refused_total{reason}`, `firstparty_edge_open_connections`,
 *   `firstparty_edge_secure_contexts`;
 * - `firstparty_edge_certificates_expiring{within_days}` (cumulative: 1, 7, 14, 30, +Inf) and
 *   `firstparty_edge_certificates_expired`.
 * Labels never carry hostnames or client addresses, so cardinality is bounded.
 */
export class EdgeMetrics {
  readonly requests = new Counter('firstparty_edge_requests_total', 'HTTP requests answered by the edge.', ['host_kind', 'scope', 'status']);
  readonly requestSeconds = new Histogram('firstparty_edge_request_duration_seconds', 'Time from request start to response end.', ['host_kind', 'scope'], LATENCY_BUCKETS_S);
  readonly handshakes = new Counter('firstparty_edge_tls_handshakes_total', 'TLS handshakes by result.', ['result']);
  readonly handshakeSeconds = new Histogram('firstparty_edge_tls_handshake_duration_seconds', 'Time from TCP accept to a completed TLS handshake.', [], HANDSHAKE_BUCKETS_S);
  readonly refused = new Counter('firstparty_edge_connections_refused_total', 'Connections or requests refused by a protection limit.', ['reason']);

  constructor(private readonly gauges: EdgeGauges) {}

  /** The whole exposition text (`Content-Type: text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    this.requests.render(out);
    this.requestSeconds.render(out);
    this.handshakes.render(out);
    this.handshakeSeconds.render(out);
    this.refused.render(out);
    gauge(out, 'firstparty_edge_open_connections', 'Open client connections.', [['', this.gauges.openConnections()]]);
    gauge(out, 'firstparty_edge_secure_contexts', 'TLS secure contexts held in the LRU.', [['', this.gauges.secureContexts()]]);
    this.renderExpiry(out);
    return `${out.join('\n')}\n`;
  }

  private renderExpiry(out: string[]): void {
    const now = this.gauges.now();
    const within = EXPIRY_DAYS.map(() => 0);
    let expired = 0;
    let total = 0;
    for (const cert of this.gauges.certificates()) {
      total += 1;
      const days = (cert.notAfter - now) / DAY_MS;
      if (days <= 0) expired += 1;
      EXPIRY_DAYS.forEach((d, i) => { if (days <= d) within[i]! += 1; });
    }
    gauge(out, 'firstparty_edge_certificates_expiring', 'Certificates served whose notAfter is within N days (cumulative).',
      [...EXPIRY_DAYS.map((d, i) => [`{within_days="${d}"}`, within[i]!] as const), ['{within_days="+Inf"}', total] as const]);
    gauge(out, 'firstparty_edge_certificates_expired', 'Certificates served past their notAfter.', [['', expired]]);
  }
}

/** The media type of {@link EdgeMetrics.render}'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * A request hook for the admin listener: answers `GET`/`HEAD /metrics` with `metrics.render()` and
 * returns true, or returns false for any other request so the caller handles it. Mount it before
 * the admin handler: `(req, res) => metricsHook(req, res) || admin(req, res)`.
 */
export function createMetricsHook(metrics: { render(): string }): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (pathOf(req.url) !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const body = metrics.render();
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
