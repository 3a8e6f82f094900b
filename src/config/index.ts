export { loadConfig, hostPort, ENV_VARS, type Config, type HostPort } from './config.ts';
export { ConfigErrors } from './errors.ts';
