export { startFirstparty, type Running, type StartOptions } from './start.ts';
