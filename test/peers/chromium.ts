import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser as PlaywrightBrowser } from 'playwright-core';
import { chromiumPath, findBinary, makeTempDir, removeTempDir } from './process.ts';

const execFileAsync = promisify(execFile);

/** A headless Chromium driven by playwright-core, with its own HOME and certificate trust. */
export interface Browser {
  readonly browser: PlaywrightBrowser;
  /** Closes the browser (Playwright stops the process it spawned, by pid) and removes the temp HOME. */
  close(): Promise<void>;
}

/** Options of {@link launchChromium}. */
export interface ChromiumOptions {
  /** Where every hostname goes, `"127.0.0.1:8443"` (host and port are both rewritten; `localhost` is excluded). */
  mapAllHostsTo: string;
  /** PEM roots added as trusted TLS anchors to the fresh NSS database (real chain validation). */
  trustRootPems: string[];
  /**
   * The whole `--host-resolver-rules` value, replacing the rule built from `mapAllHostsTo`
   * (e.g. `MAP www.shop.test 127.0.0.1:8443, MAP *.cdp.shop.test 127.0.0.1:9443, EXCLUDE localhost`).
   */
  hostResolverRules?: string;
}

/** Flags from testbed.md: no network beyond loopback, nothing in the background. */
const BASE_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches headless Chromium with a fresh `HOME` whose NSS database (`$HOME/.pki/nssdb`) trusts
 * each of `trustRootPems` for TLS servers, and every host but `localhost` mapped to
 * `mapAllHostsTo` (unless `hostResolverRules` says otherwise). Playwright
 * gives the browser a fresh temporary user-data-dir of its own.
 */
export async function launchChromium(opts: ChromiumOptions): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === null) throw new Error('chromium is not installed');
  const home = await makeTempDir('chromium-home');
  try {
    await createNssDb(home, opts.trustRootPems);
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      chromiumSandbox: false,
      timeout: 20_000,
      args: [...BASE_ARGS, `--host-resolver-rules=${opts.hostResolverRules ?? `MAP * ${opts.mapAllHostsTo}, EXCLUDE localhost`}`],
      env: { ...process.env, HOME: home },
    });
    return {
      browser,
      close: async () => {
        await browser.close();
        await removeTempDir(home);
      },
    };
  } catch (err) {
    await removeTempDir(home);
    throw err;
  }
}

async function createNssDb(home: string, rootPems: string[]): Promise<void> {
  const certutil = findBinary('certutil');
  if (certutil === null) throw new Error('certutil is not installed (package libnss3-tools)');
  const db = `sql:${join(home, '.pki', 'nssdb')}`;
  await mkdir(join(home, '.pki', 'nssdb'), { recursive: true });
  await execFileAsync(certutil, ['-d', db, '-N', '--empty-password'], { timeout: 10_000 });
  for (const [i, pem] of rootPems.entries()) {
    const file = join(home, `root-${i}.pem`);
    await writeFile(file, pem);
    // "C,," = trusted CA for TLS servers only.
    await execFileAsync(certutil, ['-d', db, '-A', '-t', 'C,,', '-n', `firstparty-test-root-${i}`, '-i', file], { timeout: 10_000 });
  }
}
