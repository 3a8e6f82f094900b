import { request } from 'node:https';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestCa, issueTestLeaf } from './pki.ts';
import { findBinary, freePort, makeTempDir, removeTempDir, spawnManaged, waitUntil, type ManagedProcess } from './process.ts';

/** A running Pebble ACME test CA. Its root and intermediate are regenerated at every start. */
export interface Pebble {
  /** RFC 8555 §7.1.1 directory URL, `https://127.0.0.1:<port>/dir`. */
  readonly directoryUrl: string;
  /** Base URL of the management interface (`/roots/0`, `/intermediates/0`, ...). */
  readonly managementUrl: string;
  /** PEM of the CA that signed Pebble's own HTTPS certificate (not the ACME issuing root). */
  readonly tlsCaPem: string;
  /** Path of {@link tlsCaPem} on disk, e.g. for `NODE_EXTRA_CA_CERTS` of a child process. */
  readonly tlsCaPath: string;
  /** PEM of the root that signs issued certificates (fetched from `/roots/0`). */
  fetchRootPem(): Promise<string>;
  /** PEM of the intermediate that signs issued certificates (fetched from `/intermediates/0`). */
  fetchIntermediatePem(): Promise<string>;
  /** Pebble's JSON status of an issued certificate (`/cert-status-by-serial/<hex>`), null when unknown (404). */
  certStatusBySerial(serialHex: string): Promise<unknown>;
  /** Stops Pebble by pid and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options of {@link startPebble}. */
export interface PebbleOptions {
  /** Where Pebble's validation authority resolves challenges, `"127.0.0.1:5300"`. */
  dnsServer: string;
  /** Lifetime of issued certificates in seconds (Pebble's `certificateValidityPeriod`); Pebble's default when unset. */
  validityPeriodSeconds?: number;
  /** Domains for which orders are refused with a policy error. */
  domainBlocklist?: string[];
  /** Extra environment, e.g. `{ PEBBLE_WFE_NONCEREJECT: '0' }`. `PEBBLE_VA_NOSLEEP=1` is always set. */
  env?: Record<string, string>;
}

/**
 * Starts Pebble on free loopback ports with a freshly generated HTTPS certificate for
 * `localhost`/`127.0.0.1`; resolves once the directory answers.
 */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const binary = findBinary('pebble');
  if (binary === null) throw new Error('pebble is not installed');
  const dir = await makeTempDir('pebble');
  let proc: ManagedProcess | null = null;
  try {
    const ca = await createTestCa('firstparty test Pebble HTTPS CA');
    const leaf = await issueTestLeaf(ca, ['localhost', '127.0.0.1']);
    const tlsCaPath = join(dir, 'https-ca.pem');
    await writeFile(tlsCaPath, ca.certPem);
    await writeFile(join(dir, 'cert.pem'), leaf.certPem);
    await writeFile(join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });
    const [listenPort, managementPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validityPeriodSeconds !== undefined ? { certificateValidityPeriod: opts.validityPeriodSeconds } : {}),
        ...(opts.domainBlocklist !== undefined ? { domainBlocklist: opts.domainBlocklist } : {}),
      },
    };
    await writeFile(join(dir, 'pebble.json'), JSON.stringify(config, null, 2));
    proc = spawnManaged('pebble', binary, ['-config', join(dir, 'pebble.json'), '-dnsserver', opts.dnsServer], {
      cwd: dir,
      env: { PEBBLE_VA_NOSLEEP: '1', ...opts.env },
    });
    const directoryUrl = `https://127.0.0.1:${listenPort}/dir`;
    const managementUrl = `https://127.0.0.1:${managementPort}`;
    const started = proc;
    await waitUntil('pebble directory', async () => (await httpsGet(directoryUrl, ca.certPem)).status === 200, { proc: started });
    await waitUntil('pebble management', async () => (await httpsGet(`${managementUrl}/roots/0`, ca.certPem)).status === 200, { proc: started });
    return pebbleHandle({ directoryUrl, managementUrl, tlsCaPem: ca.certPem, tlsCaPath, proc: started, dir });
  } catch (err) {
    await proc?.stop();
    await removeTempDir(dir);
    throw err;
  }
}

function pebbleHandle(p: { directoryUrl: string; managementUrl: string; tlsCaPem: string; tlsCaPath: string; proc: ManagedProcess; dir: string }): Pebble {
  const getOk = async (path: string): Promise<string> => {
    const res = await httpsGet(`${p.managementUrl}${path}`, p.tlsCaPem);
    if (res.status !== 200) throw new Error(`pebble ${path}: HTTP ${res.status} ${res.body}`);
    return res.body;
  };
  return {
    directoryUrl: p.directoryUrl,
    managementUrl: p.managementUrl,
    tlsCaPem: p.tlsCaPem,
    tlsCaPath: p.tlsCaPath,
    fetchRootPem: () => getOk('/roots/0'),
    fetchIntermediatePem: () => getOk('/intermediates/0'),
    certStatusBySerial: async (serialHex) => {
      const res = await httpsGet(`${p.managementUrl}/cert-status-by-serial/${serialHex.toLowerCase()}`, p.tlsCaPem);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`pebble cert-status-by-serial: HTTP ${res.status} ${res.body}`);
      return JSON.parse(res.body) as unknown;
    },
    stop: async () => {
      await p.proc.stop();
      await removeTempDir(p.dir);
    },
  };
}

/** A GET over HTTPS trusting only `caPem` (never the process-wide CA settings); 5 s timeout. */
export function httpsGet(url: string, caPem: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca: caPem, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
