import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostnameUnchecked } from '../core/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { ariCertId, createLocalCaIssuer, lifetimeRenewalTime, loadKeyCipher, parseRenewalInfo, planRenewal, resealSecrets } from './index.ts';

const DAY = 86_400_000;

test('the lifetime rule renews at a third remaining, or half for certificates under 10 days', () => {
  assert.equal(lifetimeRenewalTime(0, 90 * DAY), 60 * DAY);
  assert.equal(lifetimeRenewalTime(0, 300_000), 150_000);
  const plan = planRenewal({ notBefore: 0, notAfter: 90 * DAY }, null, 0, () => 0.5);
  assert.equal(plan.basis, 'lifetime');
  assert.equal(plan.renewAt, 60 * DAY - Math.round(90 * DAY * 0.025));
});

test('an ARI window is honoured inside the certificate\'s own limits and rechecked', () => {
  const cert = { notBefore: 0, notAfter: 90 * DAY };
  const inside = planRenewal(cert, { start: 40 * DAY, end: 42 * DAY }, 0, () => 0.5);
  assert.deepEqual([inside.basis, inside.renewAt], ['ari', 41 * DAY]);
  assert.equal(inside.ariNextCheckAt, 6 * 3_600_000);
  // A window around "now" for a fresh certificate (Pebble-style ±24 h on a 5-minute certificate) never renews at once.
  const short = { notBefore: 0, notAfter: 300_000 };
  const wide = planRenewal(short, { start: -DAY, end: DAY }, 1_000, () => 0);
  assert.equal(wide.renewAt, 30_000);
  assert.ok(planRenewal(short, { start: -DAY, end: DAY }, 1_000, () => 0.999).renewAt <= 150_000, 'never later than the backstop');
  // A window already over (the CA wants it replaced now, e.g. after a revocation) renews now.
  assert.equal(planRenewal(cert, { start: -2 * DAY, end: -DAY }, 5 * DAY, () => 0.5).renewAt, 5 * DAY);
});

test('reads a RenewalInfo document and rejects unusable windows', () => {
  assert.deepEqual(parseRenewalInfo({ suggestedWindow: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }, explanationURL: 'https://ca/why' }, 60_000), {
    start: Date.parse('2026-01-01T00:00:00Z'), end: Date.parse('2026-01-02T00:00:00Z'), explanationUrl: 'https://ca/why', retryAfterMs: 60_000,
  });
  assert.equal(parseRenewalInfo({ suggestedWindow: { start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' } }, null), null);
  assert.equal(parseRenewalInfo({ suggestedWindow: {} }, null), null);
});

test('the ARI certificate ID is the authority key identifier and the DER serial, base64url (RFC 9773 §4.1)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-ari-'));
  try {
    const ca = await createLocalCaIssuer({ dataDir: dir });
    const cert = await ca.issue([hostnameUnchecked('cdn.cdp.shop.test')]);
    const id = ariCertId(cert.certPem);
    assert.match(id ?? '', /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const [aki, serial] = id!.split('.');
    const serialBytes = Buffer.from(serial!, 'base64url');
    assert.equal(BigInt(`0x${serialBytes.toString('hex')}`), BigInt(`0x${cert.serialHex}`));
    assert.ok((serialBytes[0]! & 0x80) === 0, 'positive DER integer');
    assert.equal(Buffer.from(aki!, 'base64url').length, 20, 'SHA-1 key identifier of the issuing CA');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rotating the master key re-seals every stored secret so the old key can be dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-rotate-'));
  const store = openSqliteStore(join(dir, 'db.sqlite'));
  try {
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');
    const before = loadKeyCipher({ dataDir: dir, masterKey: oldKey });
    await store.acmeAccounts.put('https://ca/dir', { accountUrl: 'https://ca/acct/1', keySealed: before.encrypt('account-key-pem') });
    const rotating = loadKeyCipher({ dataDir: dir, masterKey: newKey, previousKeys: [oldKey] });
    assert.equal(await resealSecrets(store.certRecords, rotating), 1);
    assert.equal(await resealSecrets(store.certRecords, rotating), 0, 'idempotent');
    const after = loadKeyCipher({ dataDir: join(dir, 'no-file'), masterKey: newKey });
    const sealed = (await store.acmeAccounts.get('https://ca/dir'))!.keySealed;
    assert.equal(after.decrypt(sealed), 'account-key-pem');
    assert.throws(() => loadKeyCipher({ dataDir: join(dir, 'no-file2'), masterKey: oldKey }).decrypt(sealed), /ERR_CERTS_KEY_DECRYPT|cannot decrypt/);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
