import { AppError } from '../core/index.ts';
import { ENV_VARS, loadConfig } from '../config/index.ts';
import pino from 'pino';
import { handOver, receiveHandover, removePidFile, restartRunning, startFirstparty, writePidFile, type Running } from '../app/index.ts';
import { runApiCommand, API_COMMANDS_HELP } from './api-commands.ts';

const HELP = `firstparty — custom domains for first-party event collection

Usage:
  firstparty start [--config <file>]     run every role (DNS, HTTPS edge, admin API, workers);
                                         SIGUSR2 restarts it without downtime, SIGTERM/SIGINT stop it
  firstparty restart [--config <file>]   zero-downtime restart of the process serving the data folder
${API_COMMANDS_HELP}
  firstparty help                        this text

Settings (environment, or keys of the JSON file given with --config / FIRSTPARTY_CONFIG):
${Object.entries(ENV_VARS).map(([k, v]) => `  ${k.padEnd(34)} ${v}`).join('\n')}
`;

/** Runs the `firstparty` command with `argv` (without node and script). */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'start') return start(rest);
  if (command === 'restart') return restart(rest);
  const code = await runApiCommand(command, rest, process.env);
  if (code !== null) return code;
  process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
  return 2;
}

function configOf(args: string[]) {
  const i = args.indexOf('--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  return loadConfig(process.env, file ? { file } : {});
}

async function start(args: string[]): Promise<number> {
  const config = configOf(args);
  const logger = pino({ level: config.logLevel });
  // `--successor` is internal: the process is spawned by a running one that hands it its sockets.
  const successor = args.includes('--successor') ? await receiveHandover() : undefined;
  const running = await startFirstparty(config, { logger, ...(successor ? { successor: successor.start } : {}) });
  writePidFile(config.dataDir);
  successor?.ready();
  const lines = [
    'firstparty is running',
    `  admin API      ${running.adminUrl}   (token: ${config.adminToken ? 'from configuration' : `${config.dataDir}/admin-token`})`,
    `  DNS            ${running.dns.map((d) => `${d.host}:${d.port}`).join(', ')} (UDP+TCP), nameservers ${config.dns.nameservers.join(', ')}`,
    `  HTTPS edge     ${running.edge.host}:${running.edge.port}, default hosts ${config.edge.defaultCdnHost} / ${config.edge.defaultApiHost}`,
    `  certificates   ${config.acme.directoryUrl ? `ACME ${config.acme.directoryUrl}` : 'local CA (no ACME directory configured)'}`,
    `  local CA root  ${running.localCaRootPath}`,
    `  data           ${config.dataDir}`,
    `  resolver       ${config.delegation.resolver.host}:${config.delegation.resolver.port} (delegation checks)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = async (signal: string) => {
    process.stdout.write(`received ${signal}, stopping\n`);
    await running.close();
    removePidFile(config.dataDir);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  onRestartSignal(running, logger);
  return -1;
}

/** On SIGUSR2: hands the listeners to a successor, drains and exits; serves on if the successor fails. */
function onRestartSignal(running: Running, logger: pino.Logger): void {
  let restarting = false;
  const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1).filter((a) => a !== '--successor'), '--successor'];
  process.on('SIGUSR2', () => {
    if (restarting) return;
    restarting = true;
    void handOver(running.handover, { command, logger }).then(async (outcome) => {
      if (outcome.kind === 'failed') {
        restarting = false;
        return;
      }
      await outcome.drained;
      await running.close();
      process.exit(0);
    });
  });
}

async function restart(args: string[]): Promise<number> {
  const { from, to } = await restartRunning(configOf(args).dataDir);
  process.stdout.write(`restarted: pid ${from} handed over to pid ${to}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const msg = err instanceof AppError ? `${err.code}: ${err.message}` : err instanceof Error ? err.stack ?? err.message : String(err);
    process.stderr.write(`firstparty: ${msg}\n`);
    process.exitCode = 1;
  },
);
