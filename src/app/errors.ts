import { defineErrors } from '../core/index.ts';

/** Errors of process start-up and restart. */
export const AppErrors = defineErrors({
  ADMIN_LISTEN_FAILED: { code: 'ERR_APP_ADMIN_LISTEN_FAILED', message: 'cannot listen for the admin API' },
  RESTARTING: { code: 'ERR_APP_RESTARTING', message: 'firstparty is restarting; retry this change in a moment', httpStatus: 503, retryable: true },
  NOT_RUNNING: { code: 'ERR_APP_NOT_RUNNING', message: 'no running firstparty serves this data folder' },
  RESTART_FAILED: { code: 'ERR_APP_RESTART_FAILED', message: 'the running firstparty was not replaced in time', retryable: true },
});
