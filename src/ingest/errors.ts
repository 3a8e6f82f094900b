import { AppError, defineErrors, type ErrorSpec } from '../core/index.ts';

/**
 * Error catalogue of the Tracking API. Each code has one wire `code` string (see
 * {@link wireCode}) that the Python and Ruby libraries read from `{"success":false,"code","message"}`.
 * Per-event problems inside an accepted request are not errors: they are stored as rejected
 * events with a {@link RejectReason}.
 */
export const IngestErrors = defineErrors({
  INVALID_WRITE_KEY: { code: 'ERR_INGEST_INVALID_WRITE_KEY', message: 'missing, unknown or disabled write key', httpStatus: 401 },
  SOURCE_NOT_ON_DOMAIN: {
    code: 'ERR_INGEST_SOURCE_NOT_ON_DOMAIN',
    message: 'this write key belongs to a source that is not connected to this domain',
    httpStatus: 403,
  },
  REQUEST_TOO_LARGE: { code: 'ERR_INGEST_REQUEST_TOO_LARGE', message: 'request body is too large', httpStatus: 400 },
  EVENT_TOO_LARGE: { code: 'ERR_INGEST_EVENT_TOO_LARGE', message: 'event is larger than 32 KB', httpStatus: 400 },
  EVENT_TOO_DEEP: { code: 'ERR_INGEST_EVENT_TOO_DEEP', message: 'event nests objects or arrays too deeply to be stored', httpStatus: 400 },
  INVALID_JSON: { code: 'ERR_INGEST_INVALID_JSON', message: 'body is not valid UTF-8 JSON', httpStatus: 400 },
  INVALID_REQUEST: {
    code: 'ERR_INGEST_INVALID_REQUEST',
    message: 'body must be a JSON object (with a "batch" array for batch calls)',
    httpStatus: 400,
  },
  INVALID_ENCODING: { code: 'ERR_INGEST_INVALID_ENCODING', message: 'compressed body cannot be decoded', httpStatus: 400 },
  UNSUPPORTED_ENCODING: {
    code: 'ERR_INGEST_UNSUPPORTED_ENCODING',
    message: 'Content-Encoding must be gzip, deflate or identity',
    httpStatus: 415,
  },
  NOT_FOUND: { code: 'ERR_INGEST_NOT_FOUND', message: 'no such Tracking API endpoint', httpStatus: 404 },
  METHOD_NOT_ALLOWED: { code: 'ERR_INGEST_METHOD_NOT_ALLOWED', message: 'method not allowed on this endpoint', httpStatus: 405 },
  STORAGE_UNAVAILABLE: {
    code: 'ERR_INGEST_STORAGE_UNAVAILABLE',
    message: 'events could not be stored; retry later',
    httpStatus: 503,
    retryable: true,
  },
  RATE_LIMITED: {
    code: 'ERR_INGEST_RATE_LIMITED',
    message: 'too many events for this source; retry after the time in Retry-After',
    httpStatus: 429,
    retryable: true,
  },
  TAIL_BUSY: {
    code: 'ERR_INGEST_TAIL_BUSY',
    message: 'too many live tails are open for this source; close one and retry',
    httpStatus: 429,
    retryable: true,
  },
  INVALID_OPTIONS: { code: 'ERR_INGEST_INVALID_OPTIONS', message: 'ingest options are not valid' },
  INTERNAL: { code: 'ERR_INGEST_INTERNAL', message: 'internal error', httpStatus: 500 },
});

const WIRE_CODES = new Map<string, string>([
  [IngestErrors.INVALID_WRITE_KEY.code, 'invalid_write_key'],
  [IngestErrors.SOURCE_NOT_ON_DOMAIN.code, 'source_not_on_domain'],
  [IngestErrors.REQUEST_TOO_LARGE.code, 'request_too_large'],
  [IngestErrors.EVENT_TOO_LARGE.code, 'event_too_large'],
  [IngestErrors.EVENT_TOO_DEEP.code, 'event_too_deep'],
  [IngestErrors.INVALID_JSON.code, 'invalid_json'],
  [IngestErrors.INVALID_REQUEST.code, 'invalid_request'],
  [IngestErrors.INVALID_ENCODING.code, 'invalid_encoding'],
  [IngestErrors.UNSUPPORTED_ENCODING.code, 'unsupported_encoding'],
  [IngestErrors.NOT_FOUND.code, 'not_found'],
  [IngestErrors.METHOD_NOT_ALLOWED.code, 'method_not_allowed'],
  [IngestErrors.STORAGE_UNAVAILABLE.code, 'storage_unavailable'],
  [IngestErrors.RATE_LIMITED.code, 'rate_limited'],
  [IngestErrors.TAIL_BUSY.code, 'tail_busy'],
  [IngestErrors.INTERNAL.code, 'internal_error'],
]);

/** The wire `code` string of an ingest error (`internal_error` for anything not in the catalogue). */
export function wireCode(spec: Pick<ErrorSpec, 'code'>): string {
  return WIRE_CODES.get(spec.code) ?? 'internal_error';
}

/** Whether `err` is an error of this catalogue (its message is safe to send to the client). */
export function isIngestError(err: unknown): err is AppError {
  return err instanceof AppError && WIRE_CODES.has(err.code);
}

/** The wire body of an error: `{"success":false,"code":"…","message":"…"}` (segment-compat §4.5). */
export function errorBody(err: AppError): string {
  return JSON.stringify({ success: false, code: wireCode(err), message: err.message });
}

/**
 * Why an individual event was stored `rejected` (Segment accepts the request with 200 and drops
 * such events asynchronously; segment-compat §4.5).
 */
export type RejectReason =
  | 'no_user_anon_id'
  | 'missing_event'
  | 'missing_group_id'
  | 'missing_previous_id'
  | 'missing_user_id'
  | 'missing_type'
  | 'event_too_deep'
  | 'invalid_type'
  | 'invalid_event'
  | 'invalid_message_id'
  | 'event_too_large'
  | 'too_many_events';
