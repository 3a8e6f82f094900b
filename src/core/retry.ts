import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from './errors.ts';

/** Options of {@link retry}. All durations in milliseconds. */
export interface RetryOptions {
  /** First delay (default 500). */
  initialDelayMs?: number;
  /** Upper bound of one delay (default 60 000). */
  maxDelayMs?: number;
  /** Growth factor between delays (default 2). */
  factor?: number;
  /** Maximum number of attempts, the first included (default 10). */
  maxAttempts?: number;
  /** Give up once this much time has passed since the first attempt (default: no deadline). */
  deadlineMs?: number;
  /** Random spread applied to each delay, 0..1 (default 0.1). */
  jitter?: number;
  signal?: AbortSignal;
  /** Called before each wait; for progress and logs. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it resolves, waiting with capped exponential backoff between attempts.
 * Stops at once on an {@link AppError} that is not `retryable`, on abort, after `maxAttempts`,
 * or when the next wait would pass the deadline; then rethrows the last error.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const start = Date.now();
  const maxAttempts = opts.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof AppError && !err.retryable) throw err;
      const delayMs = backoffDelayMs(attempt, opts);
      const pastDeadline = opts.deadlineMs !== undefined && Date.now() - start + delayMs > opts.deadlineMs;
      if (attempt >= maxAttempts || pastDeadline || opts.signal?.aborted) throw err;
      opts.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, { signal: opts.signal });
    }
  }
}

/** The delay before attempt `attempt + 1` under `opts` (exponential, capped, jittered). */
export function backoffDelayMs(attempt: number, opts: RetryOptions = {}): number {
  const base = Math.min(opts.maxDelayMs ?? 60_000, (opts.initialDelayMs ?? 500) * (opts.factor ?? 2) ** (attempt - 1));
  const jitter = opts.jitter ?? 0.1;
  return Math.round(base * (1 - jitter + Math.random() * 2 * jitter));
}
