/**
 * Runs firstparty from the environment (FIRSTPARTY_* settings) for tests that need a real process
 * to kill. Prints `READY` once every role listens. With `FP_TEST_ASSUME_DELEGATED=1`, every new
 * custom domain is marked delegated at once (no parent zone exists in these tests), so the worker
 * goes straight to issuance.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { startFirstparty, type Running } from '../../src/app/index.ts';
import { assumeDelegated } from './support.ts';

const fp: Running = await startFirstparty(loadConfig(process.env), { logger: pino({ level: 'warn' }) });
if (process.env['FP_TEST_ASSUME_DELEGATED'] === '1') assumeDelegated(fp);
process.stdout.write(`READY ${JSON.stringify({ edge: fp.edge, adminUrl: fp.adminUrl })}\n`);
process.once('SIGTERM', () => void fp.close().then(() => process.exit(0)));
