/** Settings of {@link createRateLimiter}. */
export interface RateLimitSettings {
  /** Sustained events per second allowed per source; 0 turns limiting off. */
  readonly eventsPerSecond: number;
  /** Bucket size: events a source may send at once after being idle. */
  readonly burstEvents: number;
}

/** The verdict on one request: admitted, or refused with the wait before a retry can pass. */
export type RateVerdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** Per-source token buckets, in memory (one process; limits are per node when scaled out). */
export interface RateLimiter {
  /**
   * Takes `events` tokens from the bucket of `sourceId` at time `nowMs`. A request is admitted
   * when the bucket holds `min(events, burstEvents)` tokens, so one batch larger than the burst
   * can still pass from a full bucket; it then leaves the bucket in debt and the source waits
   * longer. A refused request takes nothing. Always admits when limiting is off.
   */
  take(sourceId: string, events: number, nowMs: number): RateVerdict;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Buckets idle longer than this are forgotten (they would be full anyway). */
const IDLE_SWEEP_MS = 60_000;

/**
 * Creates a {@link RateLimiter}: a token bucket per source refilled continuously at
 * `eventsPerSecond` up to `burstEvents`. Memory is bounded by the number of sources with a valid
 * write key (the limiter is asked only after authentication); full buckets are swept.
 */
export function createRateLimiter(settings: RateLimitSettings): RateLimiter {
  const { eventsPerSecond: rate, burstEvents: burst } = settings;
  const buckets = new Map<string, Bucket>();
  let lastSweepMs = 0;
  const refill = (b: Bucket, nowMs: number) => {
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, nowMs - b.atMs) * rate) / 1000);
    b.atMs = nowMs;
  };
  const sweep = (nowMs: number) => {
    if (nowMs - lastSweepMs < IDLE_SWEEP_MS) return;
    lastSweepMs = nowMs;
    for (const [id, b] of buckets) if (nowMs - b.atMs > IDLE_SWEEP_MS && b.tokens >= 0) buckets.delete(id);
  };
  return {
    take(sourceId, events, nowMs) {
      if (rate <= 0) return { ok: true };
      sweep(nowMs);
      let b = buckets.get(sourceId);
      if (b === undefined) buckets.set(sourceId, (b = { tokens: burst, atMs: nowMs }));
      else refill(b, nowMs);
      const needed = Math.min(events, burst);
      if (b.tokens >= needed) {
        b.tokens -= events;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((needed - b.tokens) / rate)) };
    },
  };
}
