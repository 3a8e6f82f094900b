import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from './rate-limit.ts';

test('admits a burst, then refuses with the seconds until enough events are refilled', () => {
  const limiter = createRateLimiter({ eventsPerSecond: 10, burstEvents: 20 });
  assert.deepEqual(limiter.take('s', 20, 0), { ok: true });
  assert.deepEqual(limiter.take('s', 5, 0), { ok: false, retryAfterSeconds: 1 });
  assert.deepEqual(limiter.take('s', 15, 100), { ok: false, retryAfterSeconds: 2 });
  assert.deepEqual(limiter.take('s', 5, 500), { ok: true });
});

test('keeps one bucket per source', () => {
  const limiter = createRateLimiter({ eventsPerSecond: 1, burstEvents: 1 });
  assert.equal(limiter.take('a', 1, 0).ok, true);
  assert.equal(limiter.take('a', 1, 0).ok, false);
  assert.equal(limiter.take('b', 1, 0).ok, true);
});

test('admits a batch larger than the burst from a full bucket and makes the source wait off the debt', () => {
  const limiter = createRateLimiter({ eventsPerSecond: 100, burstEvents: 100 });
  assert.equal(limiter.take('s', 300, 0).ok, true);
  // 200 events of debt plus 1 needed: 2.01 s of refill.
  assert.deepEqual(limiter.take('s', 1, 0), { ok: false, retryAfterSeconds: 3 });
  assert.equal(limiter.take('s', 1, 2_010).ok, true);
});

test('a refused request takes nothing from the bucket', () => {
  const limiter = createRateLimiter({ eventsPerSecond: 10, burstEvents: 10 });
  assert.equal(limiter.take('s', 10, 0).ok, true);
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('s', 10, 0).ok, false);
  assert.equal(limiter.take('s', 10, 1_000).ok, true);
});

test('admits everything when the rate is 0', () => {
  const limiter = createRateLimiter({ eventsPerSecond: 0, burstEvents: 1 });
  for (let i = 0; i < 1000; i++) assert.equal(limiter.take('s', 2500, 0).ok, true);
});
