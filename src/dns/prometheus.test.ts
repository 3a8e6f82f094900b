import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDnsPrometheus } from './prometheus.ts';

test('renders DNS counters and a cumulative latency histogram in Prometheus text format', () => {
  const text = renderDnsPrometheus({
    queriesTotal: 3, dropped: 1, truncated: 0, rateLimited: 0, byTransport: { udp: 2, tcp: 1 },
    byQtype: { A: 2, SOA: 1 }, byRcode: { NOERROR: 2, NXDOMAIN: 1 },
    latency: { bucketUpperBoundsUs: [10, 100], counts: [1, 1, 1], sumUs: 250 },
    tcp: { open: 0, accepted: 1, timedOut: 0 },
  });
  assert.match(text, /^firstparty_dns_queries_total\{qtype="A"\} 2$/m);
  assert.match(text, /^firstparty_dns_responses_total\{rcode="NXDOMAIN"\} 1$/m);
  assert.match(text, /^firstparty_dns_processing_seconds_bucket\{le="0.0001"\} 2$/m);
  assert.match(text, /^firstparty_dns_processing_seconds_bucket\{le="\+Inf"\} 3$/m);
  assert.match(text, /^firstparty_dns_processing_seconds_count 3$/m);
});
