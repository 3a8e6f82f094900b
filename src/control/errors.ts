import { defineErrors } from '../core/index.ts';

/** Errors of the control plane (admin API). `httpStatus` is what the admin API answers. */
export const ControlErrors = defineErrors({
  UNAUTHORIZED: { code: 'ERR_CONTROL_UNAUTHORIZED', message: 'a valid bearer token is required', httpStatus: 401 },
  NOT_FOUND: { code: 'ERR_CONTROL_NOT_FOUND', message: 'no such resource', httpStatus: 404 },
  METHOD_NOT_ALLOWED: { code: 'ERR_CONTROL_METHOD_NOT_ALLOWED', message: 'method not allowed on this resource', httpStatus: 405 },
  INVALID_JSON: { code: 'ERR_CONTROL_INVALID_JSON', message: 'request body is not valid JSON', httpStatus: 400 },
  BODY_TOO_LARGE: { code: 'ERR_CONTROL_BODY_TOO_LARGE', message: 'request body is too large', httpStatus: 413 },
  INVALID_INPUT: { code: 'ERR_CONTROL_INVALID_INPUT', message: 'request is invalid', httpStatus: 400 },
  INVALID_DOMAIN: { code: 'ERR_CONTROL_INVALID_DOMAIN', message: 'domain is not a valid hostname', httpStatus: 400 },
  PUBLIC_SUFFIX: { code: 'ERR_CONTROL_PUBLIC_SUFFIX', message: 'domain is a public suffix', httpStatus: 400 },
  REGISTRABLE_DOMAIN: { code: 'ERR_CONTROL_REGISTRABLE_DOMAIN', message: 'domain must be a subdomain of your registrable domain, not the registrable domain itself', httpStatus: 400 },
  RESERVED_DOMAIN: { code: 'ERR_CONTROL_RESERVED_DOMAIN', message: 'domain overlaps the operator\'s own names', httpStatus: 400 },
  DOMAIN_TAKEN: { code: 'ERR_CONTROL_DOMAIN_TAKEN', message: 'domain is already claimed', httpStatus: 409 },
  DOMAIN_OVERLAPS: { code: 'ERR_CONTROL_DOMAIN_OVERLAPS', message: 'domain contains, or lies inside, a custom domain already claimed', httpStatus: 409 },
  SOURCE_ALREADY_CONNECTED: { code: 'ERR_CONTROL_SOURCE_ALREADY_CONNECTED', message: 'a source is already connected to another custom domain', httpStatus: 409 },
  UNKNOWN_SOURCE: { code: 'ERR_CONTROL_UNKNOWN_SOURCE', message: 'source does not exist in this workspace', httpStatus: 404 },
  ANALYTICS_JS_REQUIRED: { code: 'ERR_CONTROL_ANALYTICS_JS_REQUIRED', message: 'the first custom domain of a workspace must include an analytics.js source', httpStatus: 422 },
  PLAN_EXCLUDES_FEATURE: { code: 'ERR_CONTROL_PLAN_EXCLUDES_FEATURE', message: 'custom domains are not included in this workspace\'s plan', httpStatus: 403 },
  FORBIDDEN_TRANSITION: { code: 'ERR_CONTROL_FORBIDDEN_TRANSITION', message: 'this change is not allowed in the domain\'s current state', httpStatus: 409 },
  FORBIDDEN: { code: 'ERR_CONTROL_FORBIDDEN', message: 'this token may not access this resource', httpStatus: 403 },
  RATE_LIMITED: { code: 'ERR_CONTROL_RATE_LIMITED', message: 'too many requests; retry later', httpStatus: 429, retryable: true },
  NOTHING_TO_CHECK: { code: 'ERR_CONTROL_NOTHING_TO_CHECK', message: 'the domain is not waiting for anything a check could advance', httpStatus: 409 },
  TAKEOVER_PROOF_REQUIRED: { code: 'ERR_CONTROL_TAKEOVER_PROOF_REQUIRED', message: 'prove control of the parent zone with the TXT record given, then retry', httpStatus: 409 },
  CHANGE_IN_PROGRESS: { code: 'ERR_CONTROL_CHANGE_IN_PROGRESS', message: 'a subdomain change of this domain is already in progress', httpStatus: 409 },
  DIAGNOSTICS_UNAVAILABLE: { code: 'ERR_CONTROL_DIAGNOSTICS_UNAVAILABLE', message: 'diagnostics are not configured on this server', httpStatus: 503 },
  INTERNAL: { code: 'ERR_CONTROL_INTERNAL', message: 'internal error', httpStatus: 500 },
});
