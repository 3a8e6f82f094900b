/**
 * Certificates: issuers (ACME over DNS-01, a built-in local CA), ACME problem documents,
 * key encryption at rest, and reading certificate facts.
 */
export type { AcmeAccountStore, Dns01Publisher, IssuedCertificate, Issuer, IssueOptions, IssueStep, Logger, OrderJournal } from './types.ts';
export { CertsErrors } from './errors.ts';
export { createAcmeIssuer, defaultCaaIdentities, type AcmeIssuerDeps } from './acme-issuer.ts';
export { acmeProblemError, parseAcmeProblem, parseRetryAfterMs, problemSpec, type AcmeProblem } from './acme-problem.ts';
export { createLocalCaIssuer, type LocalCaDeps, type LocalCaIssuer } from './local-ca.ts';
export { loadKeyCipher, type KeyCipher, type KeyCipherOptions } from './key-cipher.ts';
export { certificateInfo, splitPemCertificates, type CertificateInfo } from './cert-info.ts';
export { ariCertId, parseRenewalInfo, type RenewalWindow } from './renewal-info.ts';
export { lifetimeRenewalTime, planRenewal, ARI_DEFAULT_RECHECK_MS, type RenewalBasis, type RenewalPlan } from './renewal-policy.ts';
export { classifyCertFailure, reasonInfo, type CertFailure, type ReasonActor, type ReasonInfo } from './reasons.ts';
export { CaBudget, LETS_ENCRYPT_LIMITS, namesKey, type CaBudgetLimits, type OrderLedger } from './ca-budget.ts';
export { resealSecrets, type ResealableStore } from './reseal.ts';
export { CertManager, REVOCATION_CESSATION_OF_OPERATION, type CertManagerDeps } from './cert-manager.ts';
