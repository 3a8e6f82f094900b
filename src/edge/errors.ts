import { defineErrors } from '../core/index.ts';

/** Errors of the HTTPS edge. */
export const EdgeErrors = defineErrors({
  UNKNOWN_HOST: { code: 'ERR_EDGE_UNKNOWN_HOST', message: 'not found', httpStatus: 404 },
  MISDIRECTED: { code: 'ERR_EDGE_MISDIRECTED', message: 'this host is not served on this TLS connection', httpStatus: 421 },
  LISTEN_FAILED: { code: 'ERR_EDGE_LISTEN_FAILED', message: 'cannot listen for HTTPS' },
  BAD_CERTIFICATE: { code: 'ERR_EDGE_BAD_CERTIFICATE', message: 'certificate or key cannot be loaded' },
});
