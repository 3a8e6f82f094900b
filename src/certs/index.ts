/**
 * Certificates: issuers (ACME over DNS-01, a built-in local CA), ACME problem documents,
 * key encryption at rest, and reading certificate facts.
 */
export type { AcmeAccountStore, Dns01Publisher, IssuedCertificate, Issuer, IssueOptions, IssueStep, Logger } from './types.ts';
export { CertsErrors } from './errors.ts';
export { createAcmeIssuer, defaultCaaIdentities, type AcmeIssuerDeps } from './acme-issuer.ts';
export { acmeProblemError, parseAcmeProblem, parseRetryAfterMs, problemSpec, type AcmeProblem } from './acme-problem.ts';
export { createLocalCaIssuer, type LocalCaDeps, type LocalCaIssuer } from './local-ca.ts';
export { loadKeyCipher, type KeyCipher, type KeyCipherOptions } from './key-cipher.ts';
export { certificateInfo, splitPemCertificates, type CertificateInfo } from './cert-info.ts';
