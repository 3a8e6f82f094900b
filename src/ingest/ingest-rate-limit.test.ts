import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { basic, send, startIngestServer, type IngestServer } from './test-server.ts';

const track = (messageId: string) => JSON.stringify({ userId: 'u', event: 'E', messageId });
const batch = (ids: string[]) => JSON.stringify({ batch: ids.map((messageId) => ({ type: 'track', userId: 'u', event: 'E', messageId })) });
const post = (srv: IngestServer, path: string, body: string, key = 'KEYA') =>
  send(srv.port, { path, headers: { authorization: basic(key), origin: 'https://www.shop.test' }, body });

describe('per-source rate limiting (3 events burst, 2 events/s)', () => {
  let srv: IngestServer;
  before(async () => { srv = await startIngestServer({ options: { rateLimitEventsPerSecond: 2, rateLimitBurstEvents: 3 } }); });
  after(async () => { await srv.close(); });

  test('answers 429 rate_limited with Retry-After and X-RateLimit-Reset once the burst is spent, and stores nothing of it', async () => {
    for (const id of ['rl-1', 'rl-2', 'rl-3']) assert.equal((await post(srv, '/v1/track', track(id))).status, 200);
    const r = await post(srv, '/v1/track', track('rl-4'));
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers['x-ratelimit-reset'], '1');
    assert.match(String(r.headers['access-control-expose-headers']), /Retry-After, X-RateLimit-Reset/);
    assert.deepEqual({ ...(r.json() as object), message: undefined }, { success: false, code: 'rate_limited', message: undefined });
    const ids = (await srv.events('src_a')).map((e) => e.messageId);
    assert.deepEqual(ids.filter((id) => id.startsWith('rl-')), ['rl-1', 'rl-2', 'rl-3']);
  });

  test('admits the retry once the clock has refilled the bucket, and another source is not affected', async () => {
    assert.equal((await post(srv, '/v1/track', track('rlb-1'), 'KEYB')).status, 200);
    srv.clock.advance(1_000);
    assert.equal((await post(srv, '/v1/track', track('rl-4'))).status, 200);
    assert.ok((await srv.events('src_a')).some((e) => e.messageId === 'rl-4'));
  });

  test('counts a batch by its events and tells how long a larger batch must wait', async () => {
    srv.clock.advance(10_000);
    assert.equal((await post(srv, '/v1/batch', batch(['rlx-1', 'rlx-2']))).status, 200);
    const r = await post(srv, '/v1/batch', batch(['rlx-3', 'rlx-4', 'rlx-5']));
    assert.equal(r.status, 429);
    // 1 token left, 3 needed at 2/s: 1 s.
    assert.equal(r.headers['retry-after'], '1');
    assert.equal((await srv.events('src_a')).some((e) => e.messageId === 'rlx-3'), false);
  });
});
