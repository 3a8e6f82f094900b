/**
 * The delegation capability: decides, from real DNS answers only, whether a workspace's subdomain
 * is delegated to our nameservers (parent referral NS set equals ours) and whether our servers
 * answer for it authoritatively.
 */
export { createDelegationChecker, type DelegationCheckerDeps } from './checker.ts';
export { compareNameservers, type NsComparison } from './ns-compare.ts';
export { DelegationErrors } from './errors.ts';
export type { DnsQueryFn } from './dns-ask.ts';
export type { DelegationChecker, DelegationReason, DelegationTarget, DelegationVerdict, DnsEndpoint } from './types.ts';
