import type { AppEvents } from '../core/index.ts';

/**
 * Counts certificate events (obtained, renewed, failed by phase and reason, revoked) from the
 * event bus and renders them as Prometheus counters. Days to expiry are exported by the edge,
 * which holds every certificate it serves.
 */
export class CertMetrics {
  private readonly counts = new Map<string, number>();

  constructor(events: AppEvents) {
    events.on('cert.obtained', () => this.add('obtained', ''));
    events.on('cert.renewed', () => this.add('renewed', ''));
    events.on('cert.revoked', () => this.add('revoked', ''));
    events.on('cert.failed', (e) => this.add('failed', `${e.phase ?? 'issuance'}:${e.reason}`));
  }

  private add(kind: string, detail: string): void {
    const key = `${kind}|${detail}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Prometheus text exposition of the counters. */
  render(): string {
    const lines = ['# HELP firstparty_certificate_events_total Certificate events since start, by kind (and phase and reason for failures).', '# TYPE firstparty_certificate_events_total counter'];
    for (const [key, n] of this.counts) {
      const [kind, detail] = key.split('|') as [string, string];
      const [phase, reason] = detail.split(':');
      lines.push(`firstparty_certificate_events_total{kind="${kind}"${detail ? `,phase="${phase}",reason="${reason}"` : ''}} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
