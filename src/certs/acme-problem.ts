import { AppError, type ErrorSpec } from '../core/index.ts';
import { CertsErrors } from './errors.ts';

/**
 * An ACME problem document (RFC 8555 §6.7, RFC 7807), kept structured: `type` is the full URN
 * (`urn:ietf:params:acme:error:caa`), `subproblems` carry per-identifier problems of a compound
 * error (§6.7.1), `retryAfterMs` comes from the response's `Retry-After` header (RFC 9110 §10.2.3).
 */
export interface AcmeProblem {
  readonly type: string;
  readonly detail: string;
  /** HTTP status of the response that carried it (absent for a challenge's embedded `error`). */
  readonly status?: number;
  readonly identifier?: { readonly type: string; readonly value: string };
  readonly subproblems?: readonly AcmeProblem[];
  readonly retryAfterMs?: number;
}

/** The URN prefix of ACME error types (RFC 8555 §6.7). */
export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

/**
 * Reads a problem document from a response body (parsed JSON, or a JSON string). Returns null
 * when `body` has no string `type`. `status` and `retryAfter` (the raw header) come from the
 * response; `nowMs` resolves an HTTP-date `Retry-After`.
 */
export function parseAcmeProblem(body: unknown, meta: { status?: number; retryAfter?: string; nowMs?: number } = {}): AcmeProblem | null {
  const doc = typeof body === 'string' ? safeJson(body) : body;
  if (!isRecord(doc) || typeof doc['type'] !== 'string') return null;
  const subproblems = Array.isArray(doc['subproblems'])
    ? doc['subproblems'].map((sub) => parseAcmeProblem(sub)).filter((p): p is AcmeProblem => p !== null)
    : [];
  const retryAfterMs = meta.retryAfter === undefined ? null : parseRetryAfterMs(meta.retryAfter, meta.nowMs ?? Date.now());
  const identifier = doc['identifier'];
  const status = meta.status ?? (typeof doc['status'] === 'number' ? doc['status'] : undefined);
  return {
    type: doc['type'],
    detail: typeof doc['detail'] === 'string' ? doc['detail'] : '',
    ...(status === undefined ? {} : { status }),
    ...(isRecord(identifier) && typeof identifier['type'] === 'string' && typeof identifier['value'] === 'string'
      ? { identifier: { type: identifier['type'], value: identifier['value'] } }
      : {}),
    ...(subproblems.length > 0 ? { subproblems } : {}),
    ...(retryAfterMs === null ? {} : { retryAfterMs }),
  };
}

/**
 * `Retry-After` as milliseconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Null when unparseable; a date in the past gives 0.
 */
export function parseRetryAfterMs(header: string, nowMs: number): number | null {
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * Which catalogue entry a problem type maps to. Order matters for compound problems: the first
 * matching subproblem wins, and problems the customer must act on (CAA, refused names, wrong
 * records) rank before transient ones, so the stored reason says what to fix.
 */
const TYPE_TO_SPEC: ReadonlyArray<readonly [string, ErrorSpec]> = [
  ['caa', CertsErrors.ACME_CAA],
  ['rejectedIdentifier', CertsErrors.ACME_REJECTED_IDENTIFIER],
  ['unsupportedIdentifier', CertsErrors.ACME_REJECTED_IDENTIFIER],
  ['unauthorized', CertsErrors.ACME_UNAUTHORIZED],
  ['incorrectResponse', CertsErrors.ACME_UNAUTHORIZED],
  ['rateLimited', CertsErrors.ACME_RATE_LIMITED],
  ['dns', CertsErrors.ACME_DNS],
  ['connection', CertsErrors.ACME_CONNECTION],
  ['serverInternal', CertsErrors.ACME_SERVER],
  ['badNonce', CertsErrors.ACME_BAD_NONCE],
];

/** The catalogue entry for `problem`, looking into subproblems of a compound problem (RFC 8555 §6.7.1). */
export function problemSpec(problem: AcmeProblem): ErrorSpec {
  const types = [problem.type, ...(problem.subproblems ?? []).map((p) => p.type)].map((t) =>
    t.startsWith(ACME_ERROR_PREFIX) ? t.slice(ACME_ERROR_PREFIX.length) : t,
  );
  for (const [type, spec] of TYPE_TO_SPEC) {
    if (types.includes(type)) return spec;
  }
  if (problem.status !== undefined && problem.status >= 500) return CertsErrors.ACME_SERVER;
  return CertsErrors.ACME_FAILED;
}

/**
 * The `AppError` for a problem returned while doing `what` (e.g. `'create order'`): the code from
 * {@link problemSpec}, the CA's detail in the message, and details `{ problem, step,
 * retryAfterMs? }` (`retryAfterMs` copied up from the problem for schedulers).
 */
export function acmeProblemError(problem: AcmeProblem, what: string): AppError {
  const spec = problemSpec(problem);
  const detail = problem.detail === '' ? problem.type : problem.detail;
  const retry = problem.retryAfterMs === undefined ? {} : { retryAfterMs: problem.retryAfterMs };
  return new AppError(spec, `ACME ${what} failed: ${detail}`, { details: { problem, step: what, ...retry } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    // Not JSON: there is no problem document to read, which the caller treats as "none".
    return null;
  }
}
