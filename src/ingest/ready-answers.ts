import type { OutgoingHttpHeaders } from 'node:http';
import type { AppError, ReadyAnswer } from '../core/index.ts';
import { corsFields } from './cors.ts';
import { errorBody } from './errors.ts';

/** The body of every successful Tracking API call. */
export const SUCCESS = Buffer.from('{"success":true}');
export const JSON_TYPE = 'application/json';
/** Distinct `Origin` values whose success answer is kept; beyond it the cache starts over. */
const MAX_ORIGINS = 1_000;

/**
 * Tracking API responses as {@link ReadyAnswer}s, with the headers the request-object path sets
 * (CORS as {@link corsFields}, `Content-Type`, `Content-Length`). The success answer of each
 * `Origin` is built once and frozen, so a server writing HTTP itself renders its head once.
 */
export class ReadyAnswers {
  private readonly successes = new Map<string, ReadyAnswer>();

  /** `200 {"success":true}` for a request from `origin`. */
  success(origin: string | undefined): ReadyAnswer {
    const key = origin ?? '';
    let answer = this.successes.get(key);
    if (answer === undefined) {
      if (this.successes.size >= MAX_ORIGINS) this.successes.clear();
      answer = Object.freeze({ status: 200, headers: Object.freeze(jsonHeaders(origin, SUCCESS.length)), body: SUCCESS });
      this.successes.set(key, answer);
    }
    return answer;
  }

  /** The error response of `err` (a catalogue error), with `extra` headers (a 429's retry times). */
  error(err: AppError, origin: string | undefined, extra?: Readonly<Record<string, string>>): ReadyAnswer {
    const body = Buffer.from(errorBody(err));
    return { status: err.httpStatus, headers: { ...extra, ...jsonHeaders(origin, body.length) }, body };
  }
}

/**
 * A 429's retry headers. Both carry delta-seconds: `Retry-After` (RFC 9110 §10.2.3) is what
 * analytics-next ≥1.84 and the server libraries read, `X-RateLimit-Reset` what analytics-next
 * ≤1.83 reads (segment-compat §3.4).
 */
export function retryFields(retryAfterSeconds: number): Record<string, string> {
  return { 'Retry-After': String(retryAfterSeconds), 'X-RateLimit-Reset': String(retryAfterSeconds) };
}

function jsonHeaders(origin: string | undefined, length: number): OutgoingHttpHeaders {
  return { ...corsFields(origin), 'Content-Type': JSON_TYPE, 'Content-Length': length };
}
