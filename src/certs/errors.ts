import { defineErrors } from '../core/index.ts';

/**
 * Error catalogue of the certificate capability (issuers, ACME orders, local CA, key encryption).
 * ACME failures carry the CA's problem document (`AcmeProblem`) in `details.problem`.
 */
export const CertsErrors = defineErrors({
  ACME_RATE_LIMITED: {
    code: 'ERR_CERTS_ACME_RATE_LIMITED',
    message: 'the ACME CA rate-limited this request; retry after the advertised delay',
    retryable: true,
  },
  ACME_CAA: {
    code: 'ERR_CERTS_ACME_CAA',
    message: 'a CAA record forbids the ACME CA to issue for this name',
  },
  ACME_DNS: {
    code: 'ERR_CERTS_ACME_DNS',
    message: 'the ACME CA could not resolve the DNS-01 challenge record',
    retryable: true,
  },
  ACME_UNAUTHORIZED: {
    code: 'ERR_CERTS_ACME_UNAUTHORIZED',
    message: 'the ACME CA found the DNS-01 challenge response wrong or refused the authorization',
  },
  ACME_REJECTED_IDENTIFIER: {
    code: 'ERR_CERTS_ACME_REJECTED_IDENTIFIER',
    message: 'the ACME CA will not issue for this name (policy or unsupported identifier)',
  },
  ACME_CONNECTION: {
    code: 'ERR_CERTS_ACME_CONNECTION',
    message: 'the ACME CA could not be reached, or could not reach our DNS servers',
    retryable: true,
  },
  ACME_SERVER: {
    code: 'ERR_CERTS_ACME_SERVER',
    message: 'the ACME CA reported an internal error',
    retryable: true,
  },
  ACME_BAD_NONCE: {
    code: 'ERR_CERTS_ACME_BAD_NONCE',
    message: 'the ACME CA kept rejecting our anti-replay nonces',
    retryable: true,
  },
  ACME_TIMEOUT: {
    code: 'ERR_CERTS_ACME_TIMEOUT',
    message: 'the ACME order did not reach a final state in time',
    retryable: true,
  },
  ACME_FAILED: {
    code: 'ERR_CERTS_ACME_FAILED',
    message: 'the ACME order failed',
  },
  BUDGET_EXHAUSTED: {
    code: 'ERR_CERTS_BUDGET_EXHAUSTED',
    message: 'our own CA budget (new orders per account per window, or duplicate certificates per name set) is spent',
    retryable: true,
  },
  ISSUE_ABORTED: {
    code: 'ERR_CERTS_ISSUE_ABORTED',
    message: 'certificate issuance was cancelled',
    retryable: true,
  },
  LOCAL_CA_INVALID: {
    code: 'ERR_CERTS_LOCAL_CA_INVALID',
    message: 'the stored local CA root certificate or key is unreadable or does not match',
  },
  MASTER_KEY_INVALID: {
    code: 'ERR_CERTS_MASTER_KEY_INVALID',
    message: 'the key-encryption master key must be 32 bytes, base64-encoded',
  },
  KEY_DECRYPT: {
    code: 'ERR_CERTS_KEY_DECRYPT',
    message: 'a sealed private key could not be decrypted (unknown key, wrong key or tampered data)',
  },
});
