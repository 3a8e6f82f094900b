import { defineErrors } from '../core/index.ts';

/**
 * Error catalogue of the CDN capability (the analytics.js bundle, its chunks, CDN settings and the
 * snippet). Request-level outcomes become wire responses in `cdn-handler.ts` only, as
 * `{"error":{"code","message"}}` with the status below.
 */
export const CdnErrors = defineErrors({
  BUNDLE_NOT_FOUND: {
    code: 'ERR_CDN_BUNDLE_NOT_FOUND',
    message: 'the @segment/analytics-next package or its dist/umd files could not be read',
  },
  BUNDLE_UNPATCHABLE: {
    code: 'ERR_CDN_BUNDLE_UNPATCHABLE',
    message: 'standalone.js no longer contains a literal the CDN must patch (write key or Segment hosts)',
  },
  INVALID_HOST: {
    code: 'ERR_CDN_INVALID_HOST',
    message: 'a CDN or API host is not a hostname with an optional port',
    httpStatus: 500,
  },
  INVALID_GLOBAL_NAME: {
    code: 'ERR_CDN_INVALID_GLOBAL_NAME',
    message: 'the global analytics name must be an ASCII JavaScript identifier and not a reserved word',
    httpStatus: 400,
  },
  INVALID_WRITE_KEY: {
    code: 'ERR_CDN_INVALID_WRITE_KEY',
    message: 'a write key may hold only letters, digits, "-" and "_" (1 to 100 characters)',
    httpStatus: 400,
  },
  INVALID_ALIAS_PATH: {
    code: 'ERR_CDN_INVALID_ALIAS_PATH',
    message: 'an alias script path is /<workspaceId>/<sourceId>.js with ids of the control plane\'s shape',
    httpStatus: 400,
  },
  UNKNOWN_WRITE_KEY: {
    code: 'ERR_CDN_UNKNOWN_WRITE_KEY',
    message: 'no enabled source on this host has this write key',
    httpStatus: 404,
  },
  NOT_FOUND: {
    code: 'ERR_CDN_NOT_FOUND',
    message: 'no such file on the CDN host',
    httpStatus: 404,
  },
  METHOD_NOT_ALLOWED: {
    code: 'ERR_CDN_METHOD_NOT_ALLOWED',
    message: 'the CDN host answers GET, HEAD and OPTIONS only',
    httpStatus: 405,
  },
  INTERNAL: {
    code: 'ERR_CDN_INTERNAL',
    message: 'internal error',
    httpStatus: 500,
  },
});
