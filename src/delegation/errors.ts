import { defineErrors } from '../core/index.ts';

/**
 * Error catalogue of the delegation capability. Expected outcomes (not delegated, wrong NS set,
 * servers not answering) are verdicts, not errors; only a caller's mistake is thrown.
 */
export const DelegationErrors = defineErrors({
  INVALID_TARGET: {
    code: 'ERR_DELEGATION_INVALID_TARGET',
    message: 'a delegation check needs at least one nameserver and one of our servers',
  },
});
