import { defineErrors } from '../core/index.ts';

/** Errors of the configuration loader. */
export const ConfigErrors = defineErrors({
  INVALID: { code: 'ERR_CONFIG_INVALID', message: 'configuration is invalid' },
  FILE_UNREADABLE: { code: 'ERR_CONFIG_FILE_UNREADABLE', message: 'configuration file cannot be read' },
});
