import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../core/index.ts';
import { IngestErrors } from './errors.ts';
import { DEFAULT_INGEST_OPTIONS, resolveIngestOptions } from './options.ts';

test('defaults to Segment limits: 32 KB events, 500 KB requests, 2,500 events per batch; 5,000 events/s per source', () => {
  assert.deepEqual(
    { ...resolveIngestOptions() },
    {
      maxEventBytes: 32768, maxRequestBytes: 512000, maxBatchEvents: 2500, maxDecompressedBytes: 2097152, trustedProxies: [],
      rateLimitEventsPerSecond: 5000, rateLimitBurstEvents: 50000,
    },
  );
  assert.ok(Object.isFrozen(DEFAULT_INGEST_OPTIONS));
});

test('freezes the resolved options', () => {
  const o = resolveIngestOptions({ trustedProxies: ['10.0.0.1'] });
  assert.ok(Object.isFrozen(o) && Object.isFrozen(o.trustedProxies));
});

test('refuses non-positive limits, a decompression cap below the request cap and bad proxies', () => {
  const bad = [
    { maxEventBytes: 0 }, { maxBatchEvents: 1.5 }, { maxRequestBytes: 10, maxDecompressedBytes: 5 },
    { trustedProxies: ['proxy.local'] }, { trustedProxies: ['10.0.0.0/33'] }, { trustedProxies: ['::1/129'] },
    { rateLimitEventsPerSecond: -1 }, { rateLimitBurstEvents: 0 },
  ];
  for (const o of bad) assert.throws(() => resolveIngestOptions(o), (e) => isAppError(e, IngestErrors.INVALID_OPTIONS), JSON.stringify(o));
  assert.doesNotThrow(() => resolveIngestOptions({ trustedProxies: ['10.0.0.0/8', '::1', 'fd00::/8'] }));
  assert.doesNotThrow(() => resolveIngestOptions({ rateLimitEventsPerSecond: 0 }));
});
