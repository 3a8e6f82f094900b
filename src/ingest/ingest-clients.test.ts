import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Analytics } from '@segment/analytics-node';
import type { LoggedEvent } from '../core/index.ts';
import { startIngestServer } from './test-server.ts';

/** The part of legacy `analytics-node` 6.x (untyped CommonJS) these tests use. */
interface LegacyAnalytics {
  identify(msg: object): void;
  track(msg: object): void;
  flush(): Promise<unknown>;
}
type LegacyCtor = new (writeKey: string, opts: object) => LegacyAnalytics;
const LegacyAnalyticsNode = createRequire(import.meta.url)('analytics-node') as LegacyCtor;

const ctx = (e: LoggedEvent) => e.payload.context as { ip?: string; library?: { name?: string; version?: string } };

/** §4.6: timestamp = receivedAt - (sentAt - originalTimestamp). */
function assertSkewCorrected(e: LoggedEvent): void {
  const sent = Date.parse(String(e.payload.sentAt));
  const original = Date.parse(String(e.payload.originalTimestamp));
  assert.ok(Number.isFinite(sent) && Number.isFinite(original), 'sentAt and originalTimestamp are set');
  assert.equal(e.payload.timestamp, new Date(e.receivedAt - (sent - original)).toISOString());
}

test('@segment/analytics-node delivers identify and track that are stored with type, source, payload, ip and timestamps', async (t) => {
  const srv = await startIngestServer();
  t.after(() => srv.close());
  const errors: unknown[] = [];
  const analytics = new Analytics({ writeKey: 'KEYA', host: srv.url, flushAt: 1, maxRetries: 0 });
  analytics.on('error', (err) => errors.push(err));
  const happened = new Date(Date.now() - 60_000);
  analytics.identify({ userId: 'user-1', traits: { plan: 'pro' }, messageId: 'next-identify-1' });
  analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { revenue: 10 }, timestamp: happened, messageId: 'next-track-1' });
  await analytics.closeAndFlush({ timeout: 10_000 });
  assert.deepEqual(errors, []);

  const events = await srv.events('src_a');
  const identify = events.find((e) => e.messageId === 'next-identify-1')!;
  const track = events.find((e) => e.messageId === 'next-track-1')!;
  assert.deepEqual([identify.type, identify.status, identify.sourceId], ['identify', 'accepted', 'src_a']);
  assert.deepEqual(identify.payload.traits, { plan: 'pro' });
  assert.deepEqual([track.type, track.status, track.payload.event], ['track', 'accepted', 'Order Completed']);
  assert.deepEqual(track.payload.properties, { revenue: 10 });
  assert.equal(ctx(track).library?.name, '@segment/analytics-node');
  assert.equal(ctx(track).ip, '127.0.0.1');
  assert.equal(Date.parse(String(track.payload.originalTimestamp)), happened.getTime());
  assert.equal('writeKey' in track.payload, false);
  assert.equal(track.payload.receivedAt, new Date(srv.clock.now()).toISOString());
  assertSkewCorrected(track);
});

test('legacy analytics-node (Basic auth only, batch-level sentAt) delivers identify and track', async (t) => {
  const srv = await startIngestServer();
  t.after(() => srv.close());
  const analytics = new LegacyAnalyticsNode('KEYA', { host: srv.url, flushAt: 1, flushInterval: 20, retryCount: 0 });
  const happened = new Date(Date.now() - 5_000);
  analytics.identify({ userId: 'legacy-1', traits: { name: 'Ada' }, messageId: 'legacy-identify-1' });
  analytics.track({ anonymousId: 'anon-1', event: 'Signed Up', timestamp: happened, messageId: 'legacy-track-1' });
  await analytics.flush();
  // flushAt 1 sends each message on its own; wait until both are stored.
  for (let i = 0; i < 100 && (await srv.events('src_a')).length < 2; i++) await new Promise((r) => setTimeout(r, 20));

  const events = await srv.events('src_a');
  const identify = events.find((e) => e.messageId === 'legacy-identify-1')!;
  const track = events.find((e) => e.messageId === 'legacy-track-1')!;
  assert.deepEqual([identify.type, identify.status], ['identify', 'accepted']);
  assert.deepEqual(identify.payload.traits, { name: 'Ada' });
  assert.deepEqual([track.type, track.status, track.payload.event, track.payload.anonymousId], ['track', 'accepted', 'Signed Up', 'anon-1']);
  assert.deepEqual(ctx(track).library, { name: 'analytics-node', version: '6.2.0' });
  assert.equal(ctx(identify).ip, '127.0.0.1');
  assertSkewCorrected(track);
});
