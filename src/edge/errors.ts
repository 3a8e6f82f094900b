import { defineErrors } from '../core/index.ts';

/** Errors of the HTTPS edge and its plain-HTTP listener; each maps to the status it answers with. */
export const EdgeErrors = defineErrors({
  UNKNOWN_HOST: { code: 'ERR_EDGE_UNKNOWN_HOST', message: 'not found', httpStatus: 404 },
  MISDIRECTED: { code: 'ERR_EDGE_MISDIRECTED', message: 'this host is not served on this TLS connection', httpStatus: 421 },
  BODY_TOO_LARGE: { code: 'ERR_EDGE_BODY_TOO_LARGE', message: 'request body too large', httpStatus: 413 },
  HEADERS_TOO_LARGE: { code: 'ERR_EDGE_HEADERS_TOO_LARGE', message: 'request header fields too large', httpStatus: 431 },
  INCOMPLETE_REQUEST: { code: 'ERR_EDGE_INCOMPLETE_REQUEST', message: 'the client ended the connection before its request was complete', httpStatus: 400 },
  REQUEST_TIMEOUT: { code: 'ERR_EDGE_REQUEST_TIMEOUT', message: 'request not received in time', httpStatus: 408, retryable: true },
  TOO_MANY_CONNECTIONS: { code: 'ERR_EDGE_TOO_MANY_CONNECTIONS', message: 'too many connections from this address', httpStatus: 429, retryable: true },
  HTTPS_REQUIRED: { code: 'ERR_EDGE_HTTPS_REQUIRED', message: 'use https', httpStatus: 403 },
  INTERNAL: { code: 'ERR_EDGE_INTERNAL', message: 'internal error', httpStatus: 500, retryable: true },
  LISTEN_FAILED: { code: 'ERR_EDGE_LISTEN_FAILED', message: 'cannot listen for HTTPS' },
  BAD_CERTIFICATE: { code: 'ERR_EDGE_BAD_CERTIFICATE', message: 'certificate or key cannot be loaded' },
});
