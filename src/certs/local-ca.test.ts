import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AppError, hostnameUnchecked } from '../core/index.ts';
import { missingBinaries } from '../../test/peers/index.ts';
import { certificateInfo, createLocalCaIssuer } from './index.ts';

const execFileAsync = promisify(execFile);
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firstparty-local-ca-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const names = [hostnameUnchecked('cdn.cdp.shop.test'), hostnameUnchecked('api.cdp.shop.test')];

test('creates a P-256 CA root once, with a 0600 key, and reloads the same root later', async () => {
  const dataDir = await tempDir();
  const first = await createLocalCaIssuer({ dataDir });
  const second = await createLocalCaIssuer({ dataDir });
  assert.equal(second.rootPem, first.rootPem);
  assert.equal(first.rootPath, join(dataDir, 'local-ca', 'root.pem'));
  assert.equal((await stat(join(dataDir, 'local-ca', 'root.key'))).mode & 0o777, 0o600);
  const root = new X509Certificate(first.rootPem);
  assert.ok(root.ca);
  assert.match(root.subject, /CN=firstparty local CA [0-9a-f]{8}/);
  assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(root.verify(root.publicKey), 'root is self-signed');
  assert.deepEqual(first.caaIdentities(), []);
  assert.equal(first.kind, 'local');
});

test('issues a leaf for two names that verifies against the root, from a later start too', async () => {
  const dataDir = await tempDir();
  const { rootPem } = await createLocalCaIssuer({ dataDir });
  const issuer = await createLocalCaIssuer({ dataDir, validityDays: 30 });
  const cert = await issuer.issue(names);
  const leaf = new X509Certificate(cert.certPem);
  const root = new X509Certificate(rootPem);
  assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
  assert.equal(leaf.checkHost('api.cdp.shop.test'), 'api.cdp.shop.test');
  assert.equal(leaf.checkHost('cdn.cdp.shop.test'), 'cdn.cdp.shop.test');
  assert.equal(leaf.checkHost('other.shop.test'), undefined);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(cert.keyPem)));
  assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(cert.notAfter - cert.notBefore, 30 * 86_400_000);
  assert.equal(cert.chainPem, '');
  assert.deepEqual(cert.names, names);
  assert.equal(cert.issuer, certificateInfo(rootPem).issuer);
  assert.equal(cert.issuerKind, 'local');
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extendedKeyUsage is serverAuth only');
  const ku = new x509.X509Certificate(cert.certPem).getExtension(x509.KeyUsagesExtension);
  assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature);
});

test('issues leaves that openssl verifies as TLS server certificates for the root', async (t) => {
  const missing = missingBinaries(['openssl']);
  if (missing) return t.skip(missing);
  const dataDir = await tempDir();
  const issuer = await createLocalCaIssuer({ dataDir });
  const leafPath = join(dataDir, 'leaf.pem');
  await writeFile(leafPath, (await issuer.issue(names)).certPem);
  const { stdout } = await execFileAsync('openssl', ['verify', '-CAfile', issuer.rootPath, '-purpose', 'sslserver', '-verify_hostname', 'api.cdp.shop.test', leafPath]);
  assert.match(stdout, /: OK/);
  const wrongHost = execFileAsync('openssl', ['verify', '-CAfile', issuer.rootPath, '-verify_hostname', 'evil.test', leafPath]);
  await assert.rejects(wrongHost);
});

test('gives every leaf a distinct random serial', async () => {
  const issuer = await createLocalCaIssuer({ dataDir: await tempDir() });
  const serials = new Set<string>();
  for (let i = 0; i < 5; i++) serials.add((await issuer.issue(names)).serialHex);
  assert.equal(serials.size, 5);
  for (const s of serials) assert.ok(s.length >= 30, `serial ${s} has at least 120 bits`);
});

test('refuses a root key that does not belong to the stored root', async () => {
  const dataDir = await tempDir();
  const other = await tempDir();
  await createLocalCaIssuer({ dataDir });
  const stranger = await createLocalCaIssuer({ dataDir: other });
  const strangerKey = (await stranger.issue(names)).keyPem;
  await writeFile(join(dataDir, 'local-ca', 'root.key'), strangerKey);
  await assert.rejects(createLocalCaIssuer({ dataDir }), (err: unknown) => err instanceof AppError && err.code === 'ERR_CERTS_LOCAL_CA_INVALID');
});

test('two concurrent first starts end up with one shared root', async () => {
  const dataDir = await tempDir();
  const [a, b] = await Promise.all([createLocalCaIssuer({ dataDir }), createLocalCaIssuer({ dataDir })]);
  assert.equal(a.rootPem, b.rootPem);
  const leaf = new X509Certificate((await a.issue(names)).certPem);
  assert.ok(leaf.verify(new X509Certificate(b.rootPem).publicKey));
});

test('leaves a name longer than 64 characters out of the subject and marks the SAN critical', async () => {
  const issuer = await createLocalCaIssuer({ dataDir: await tempDir() });
  const long = hostnameUnchecked(`${'a'.repeat(60)}.cdp.shop.test`);
  const cert = new x509.X509Certificate((await issuer.issue([long])).certPem);
  assert.equal(cert.subject, '');
  assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
  assert.equal(new X509Certificate(cert.toString('pem')).checkHost(long), long);
});
