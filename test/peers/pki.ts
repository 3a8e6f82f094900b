import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, makeTempDir, removeTempDir } from './process.ts';

const execFileAsync = promisify(execFile);
const VALIDITY_DAYS = '30';

/** A test certificate authority: its PEM certificate and PEM (PKCS#8) private key. */
export interface TestCa {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A leaf certificate and its PEM (PKCS#8) private key. */
export interface TestLeaf {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Creates a self-signed ECDSA P-256 root CA named `commonName`, valid 30 days, with openssl. */
export async function createTestCa(commonName: string): Promise<TestCa> {
  return withScratchDir(async (dir, openssl) => {
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', VALIDITY_DAYS,
      '-set_serial', randomSerial(), '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
    ]);
    return { certPem: await readFile(join(dir, 'ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'ca.key'), 'utf8') };
  });
}

/** Issues a TLS server certificate from `ca` for `names` (DNS names or IP addresses), valid 30 days. */
export async function issueTestLeaf(ca: TestCa, names: string[]): Promise<TestLeaf> {
  if (names.length === 0) throw new Error('issueTestLeaf needs at least one name');
  return withScratchDir(async (dir, openssl) => {
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    await writeFile(
      join(dir, 'ext.cnf'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${san}`,
        'authorityKeyIdentifier=keyid',
        '',
      ].join('\n'),
    );
    await openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.csr'), '-subj', `/CN=${names[0]}`,
    ]);
    await openssl([
      'x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
      '-set_serial', randomSerial(), '-days', VALIDITY_DAYS, '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'leaf.pem'),
    ]);
    return { certPem: await readFile(join(dir, 'leaf.pem'), 'utf8'), keyPem: await readFile(join(dir, 'leaf.key'), 'utf8') };
  });
}

type Openssl = (args: string[]) => Promise<void>;

async function withScratchDir<T>(work: (dir: string, openssl: Openssl) => Promise<T>): Promise<T> {
  const binary = findBinary('openssl');
  if (binary === null) throw new Error('openssl is not installed');
  const dir = await makeTempDir('pki');
  const openssl: Openssl = async (args) => {
    await execFileAsync(binary, args, { cwd: dir, timeout: 10_000 });
  };
  try {
    return await work(dir, openssl);
  } finally {
    await removeTempDir(dir);
  }
}

/** A positive 16-byte serial (RFC 5280 §4.1.2.2: positive, at most 20 octets), as openssl's `0x` hex. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}
