import type { DnsMetrics } from './metrics.ts';

/**
 * Renders a {@link DnsMetrics} snapshot in the Prometheus text exposition format (version 0.0.4):
 * queries by type and rcode, transports, drops, truncations, rate limiting and a latency
 * histogram in seconds. Label values are DNS mnemonics only (no names, no addresses).
 */
export function renderDnsPrometheus(m: DnsMetrics): string {
  const out: string[] = [];
  const counter = (name: string, help: string, rows: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [labels, v] of rows) out.push(`${name}${labels} ${v}`);
  };
  counter('firstparty_dns_queries_total', 'DNS messages answered, by query type.', Object.entries(m.byQtype).map(([t, v]) => [`{qtype="${t}"}`, v]));
  counter('firstparty_dns_responses_total', 'DNS answers, by response code.', Object.entries(m.byRcode).map(([r, v]) => [`{rcode="${r}"}`, v]));
  counter('firstparty_dns_transport_total', 'DNS messages answered, by transport.', [['{transport="udp"}', m.byTransport.udp], ['{transport="tcp"}', m.byTransport.tcp]]);
  counter('firstparty_dns_dropped_total', 'DNS messages dropped without an answer.', [['', m.dropped]]);
  counter('firstparty_dns_truncated_total', 'DNS answers sent truncated.', [['', m.truncated]]);
  counter('firstparty_dns_rate_limited_total', 'UDP answers dropped or truncated by response-rate limiting.', [['', m.rateLimited]]);
  const name = 'firstparty_dns_processing_seconds';
  out.push(`# HELP ${name} Time from reading a DNS message to handing off its answer.`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  m.latency.bucketUpperBoundsUs.forEach((us, i) => {
    cumulative += m.latency.counts[i] ?? 0;
    out.push(`${name}_bucket{le="${us / 1e6}"} ${cumulative}`);
  });
  const total = m.latency.counts.reduce((a, b) => a + b, 0);
  out.push(`${name}_bucket{le="+Inf"} ${total}`, `${name}_sum ${m.latency.sumUs / 1e6}`, `${name}_count ${total}`);
  return `${out.join('\n')}\n`;
}
