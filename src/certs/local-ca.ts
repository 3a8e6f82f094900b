import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs the Reflect metadata
// API installed before the library loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AppError, type Hostname } from '../core/index.ts';
import { certificateInfo } from './cert-info.ts';
import { CertsErrors } from './errors.ts';
import { silentLogger, type IssuedCertificate, type Issuer, type IssueOptions, type Logger } from './types.ts';

/** Dependencies and options of {@link createLocalCaIssuer}. */
export interface LocalCaDeps {
  /** The root lives in `<dataDir>/local-ca/` (`root.pem`, `root.key` mode 0600). */
  readonly dataDir: string;
  /** Validity of each leaf in days (default 90). */
  readonly validityDays?: number;
  readonly logger?: Logger;
}

/** The local CA issuer plus where its root is, for operators to trust it (browsers, curl). */
export type LocalCaIssuer = Issuer & { readonly rootPem: string; readonly rootPath: string };

const ALG: EcKeyImportParams & EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const ROOT_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;
const MAX_CN_LENGTH = 64;
/** Leaves start a minute in the past so that clients with a slightly slow clock accept them. */
const BACKDATE_MS = 60_000;
const subtle = webcrypto.subtle;

interface RootCa {
  readonly pem: string;
  /** The root's subject, copied verbatim into each leaf's issuer field (RFC 5280 §4.1.2.4). */
  readonly name: x509.Name;
  readonly keys: CryptoKeyPair;
}

/**
 * A built-in certificate authority for installs without an ACME CA (the embedded default). On
 * first use it creates `<dataDir>/local-ca/root.pem` and `root.key` (0600): a self-signed ECDSA
 * P-256 root, CN `firstparty local CA <random>`, basicConstraints CA (RFC 5280 §4.2.1.9),
 * keyUsage keyCertSign+cRLSign (§4.2.1.3), valid 10 years; later calls reload the same root.
 * Leaves are ECDSA P-256 with the names as SAN dNSNames, serverAuth EKU, digitalSignature KU,
 * a random 128-bit serial, signed directly by the root (so `chainPem` is empty). `issue`
 * reports the `validated`, `finalized` and `downloaded` steps (there is no order to create).
 * Throws `ERR_CERTS_LOCAL_CA_INVALID` when stored files are unreadable or do not belong together.
 */
export async function createLocalCaIssuer(deps: LocalCaDeps): Promise<LocalCaIssuer> {
  const logger = deps.logger ?? silentLogger;
  const validityDays = deps.validityDays ?? 90;
  const dir = join(deps.dataDir, 'local-ca');
  const root = (await loadRoot(dir)) ?? (await createRoot(deps.dataDir, dir, logger));
  return {
    kind: 'local',
    id: 'local',
    rootPem: root.pem,
    rootPath: join(dir, 'root.pem'),
    caaIdentities: () => [],
    issue: (names, opts) => issueLeaf(root, names, validityDays, opts),
  };
}

async function issueLeaf(root: RootCa, names: readonly Hostname[], validityDays: number, opts: IssueOptions = {}): Promise<IssuedCertificate> {
  if (names.length === 0) throw new TypeError('issue() needs at least one name');
  if (opts.signal?.aborted) throw new AppError(CertsErrors.ISSUE_ABORTED, undefined, { cause: opts.signal.reason });
  const leafKeys = await generateKeys();
  // RFC 5280 ub-common-name: a CN holds at most 64 characters; longer names live in the SAN only.
  const cnFits = names[0]!.length <= MAX_CN_LENGTH;
  const notBefore = new Date(Date.now() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: cnFits ? [{ CN: [names[0]!] }] : [],
      issuer: root.name,
      notBefore,
      notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS),
      publicKey: leafKeys.publicKey,
      signingKey: root.keys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        // RFC 5280 §4.2.1.6: with an empty subject the SAN extension must be critical.
        new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })), !cnFits),
        await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, webcrypto as Crypto),
        await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey, false, webcrypto as Crypto),
      ],
    },
    webcrypto as Crypto,
  );
  for (const step of ['validated', 'finalized', 'downloaded'] as const) opts.onProgress?.({ kind: step });
  const certPem = cert.toString('pem') + '\n';
  const { serialHex, issuer, notBefore: from, notAfter: until } = certificateInfo(certPem);
  const keyPem = await exportPkcs8Pem(leafKeys.privateKey);
  return { certPem, chainPem: '', keyPem, names: [...names], serialHex, issuer, notBefore: from, notAfter: until, issuerKind: 'local' };
}

async function createRoot(dataDir: string, dir: string, logger: Logger): Promise<RootCa> {
  const keys = await generateKeys();
  const cn = `firstparty local CA ${randomBytes(4).toString('hex')}`;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: [{ O: ['firstparty'] }, { CN: [cn] }],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ROOT_VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto as Crypto),
      ],
    },
    webcrypto as Crypto,
  );
  const pem = cert.toString('pem') + '\n';
  if (!(await publishRootFiles(dataDir, dir, pem, await exportPkcs8Pem(keys.privateKey)))) {
    // Another process created the root first: use theirs so every node signs with one root.
    const theirs = await loadRoot(dir);
    if (theirs === null) throw new AppError(CertsErrors.LOCAL_CA_INVALID, `${dir} exists but holds no root`);
    return theirs;
  }
  logger.info({ rootPath: join(dir, 'root.pem'), cn }, 'created local CA root');
  return { pem, name: cert.subjectName, keys };
}

/**
 * Writes both files into a fresh temporary folder, then renames it into place: the rename fails
 * when `dir` already holds files, so a root appears whole or not at all. False when `dir` was
 * taken.
 */
async function publishRootFiles(dataDir: string, dir: string, pem: string, keyPem: string): Promise<boolean> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(dataDir, '.local-ca-'));
  try {
    await writeFile(join(tmp, 'root.key'), keyPem, { mode: 0o600 });
    await writeFile(join(tmp, 'root.pem'), pem, { mode: 0o644 });
    await rename(tmp, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function loadRoot(dir: string): Promise<RootCa | null> {
  const pem = await readOptional(join(dir, 'root.pem'));
  const keyPem = await readOptional(join(dir, 'root.key'));
  if (pem === null && keyPem === null) return null;
  if (pem === null || keyPem === null) throw new AppError(CertsErrors.LOCAL_CA_INVALID, `${dir} holds only one of root.pem and root.key`);
  try {
    const cert = new NodeX509(pem);
    if (!cert.ca || !cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('root.pem is not a CA or does not match root.key');
    const privateKey = await subtle.importKey('pkcs8', pemToDer(keyPem, 'pkcs8'), ALG, false, ['sign']);
    const publicKey = await subtle.importKey('spki', cert.publicKey.export({ type: 'spki', format: 'der' }), ALG, true, ['verify']);
    return { pem, name: new x509.X509Certificate(pem).subjectName, keys: { privateKey, publicKey } };
  } catch (err) {
    throw new AppError(CertsErrors.LOCAL_CA_INVALID, `cannot use the local CA in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function generateKeys(): Promise<CryptoKeyPair> {
  return subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function exportPkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function pemToDer(keyPem: string, type: 'pkcs8'): Buffer {
  return createPrivateKey(keyPem).export({ type, format: 'der' });
}

/** A positive, non-zero 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, CAB BR: ≥ 64 random bits). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
