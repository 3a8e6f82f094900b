import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostnameUnchecked } from '../core/index.ts';
import { certificateInfo, createLocalCaIssuer, splitPemCertificates } from './index.ts';

let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('reads serial, issuer CN, validity and SAN names of a certificate', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'firstparty-cert-info-'));
  const ca = await createLocalCaIssuer({ dataDir, validityDays: 7 });
  const cert = await ca.issue([hostnameUnchecked('cdn.cdp.shop.test'), hostnameUnchecked('api.cdp.shop.test')]);
  const info = certificateInfo(cert.certPem);
  const x = new X509Certificate(cert.certPem);
  assert.equal(info.serialHex, x.serialNumber.toLowerCase());
  assert.match(info.serialHex, /^[0-9a-f]+$/);
  assert.match(info.issuer, /^firstparty local CA [0-9a-f]{8}$/);
  assert.deepEqual(info.names, ['cdn.cdp.shop.test', 'api.cdp.shop.test']);
  assert.equal(info.notBefore, Date.parse(x.validFrom));
  assert.equal(info.notAfter - info.notBefore, 7 * 86_400_000);
});

test('splits a PEM bundle into its certificates and ignores other blocks', async () => {
  const ca = await createLocalCaIssuer({ dataDir: dataDir || (dataDir = await mkdtemp(join(tmpdir(), 'firstparty-cert-info-'))) });
  const leaf = await ca.issue([hostnameUnchecked('a.shop.test')]);
  const bundle = `${leaf.certPem}\n${leaf.keyPem}${ca.rootPem.trimEnd()}`;
  const parts = splitPemCertificates(bundle);
  assert.equal(parts.length, 2);
  assert.equal(new X509Certificate(parts[0]!).serialNumber, new X509Certificate(leaf.certPem).serialNumber);
  assert.equal(parts[1], ca.rootPem.trimEnd() + '\n');
  assert.deepEqual(splitPemCertificates('no pem here'), []);
});
