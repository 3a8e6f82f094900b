/**
 * Test-only child process: starts every role of firstparty from `FIRSTPARTY_*` environment
 * variables and prints one line `READY <json>` with what the parent needs (edge port, admin URL
 * and token, local CA root), then runs until killed. Used by the crash and bad-input tests.
 */
import pino from 'pino';
import { startFirstparty } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';

const running = await startFirstparty(loadConfig(process.env), { logger: pino({ level: 'error' }) });
process.stdout.write(`READY ${JSON.stringify({
  edgePort: running.edge.port, adminUrl: running.adminUrl, adminToken: running.adminToken, caPem: running.localCaRootPem,
})}\n`);
process.on('SIGTERM', () => {
  running.close().then(() => process.exit(0), () => process.exit(1));
});
