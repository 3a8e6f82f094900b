import type { HostRoute } from './host-router.ts';
import type { CounterSeries, EdgeMetrics, HistogramSeries } from './metrics.ts';
import { pathOf } from './responses.ts';

/** Where access log lines go (a pino logger or child). */
export interface AccessLogger {
  info(obj: object, msg?: string): void;
}

/** The request metrics of one (host kind, scope) pair, resolved once. */
interface RouteSeries {
  readonly seconds: HistogramSeries;
  readonly byStatus: Map<number, CounterSeries>;
}

/**
 * Records each answered request, whichever HTTP code answered it: counted in the edge metrics by
 * host kind, scope and status (0: not completed) with its duration, and, when an access logger is
 * given, one line (host, kind, scope, method, path without query, status, ms, protocol, and the
 * client address only when `logClientAddress`).
 */
export class RequestRecorder {
  private readonly routeSeries = new Map<string, RouteSeries>();

  constructor(private readonly metrics: EdgeMetrics, private readonly accessLog: AccessLogger | undefined, private readonly logClientAddress: boolean) {}

  /** Records one request that started at `started` (`performance.now()`) and ends now. */
  record(route: HostRoute | undefined, status: number, started: number, host: string, method: string | undefined, target: string | undefined,
    proto: 'h2' | 'http/1.1', socket: { readonly remoteAddress?: string | undefined }): void {
    const seconds = (performance.now() - started) / 1000;
    const kind = route?.kind ?? 'none';
    const scope = route?.scope.kind ?? 'none';
    const series = this.seriesOf(kind, scope);
    let counter = series.byStatus.get(status);
    if (!counter) {
      counter = this.metrics.requests.child([kind, scope, String(status)]);
      series.byStatus.set(status, counter);
    }
    counter.inc();
    series.seconds.observe(seconds);
    this.accessLog?.info({
      host, kind, scope, method, path: pathOf(target), status, ms: Math.round(seconds * 10_000) / 10,
      proto, ...(this.logClientAddress ? { client: socket.remoteAddress } : {}),
    }, 'request');
  }

  private seriesOf(kind: string, scope: string): RouteSeries {
    const key = `${kind}\u0000${scope}`;
    let series = this.routeSeries.get(key);
    if (!series) {
      series = { seconds: this.metrics.requestSeconds.child([kind, scope]), byStatus: new Map() };
      this.routeSeries.set(key, series);
    }
    return series;
  }
}
