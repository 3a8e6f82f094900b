import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { crypto as acmeCrypto } from 'acme-client';
import { missingBinaries } from '../../test/peers/index.ts';
import { createAcmeIssuer, defaultCaaIdentities, splitPemCertificates, type AcmeProblem, type Issuer, type IssueStep } from './index.ts';
import { host, MemoryAccountStore, pebbleFixture, rejection, RecordingPublisher, type PebbleFixture } from './test-support.ts';

const PEBBLE_MISSING = missingBinaries(['pebble']);

function issuerFor(fx: PebbleFixture, accounts = new MemoryAccountStore()): Issuer {
  const pebble = fx.pebble!;
  return createAcmeIssuer({ directoryUrl: pebble.directoryUrl, caBundlePem: pebble.tlsCaPem, accounts, dns01: fx.publisher, requestTimeoutMs: 10_000, orderTimeoutMs: 20_000 });
}

test('names the CAA identity of well-known CAs and none for other directories unless configured', () => {
  assert.deepEqual(defaultCaaIdentities('https://acme-staging-v02.api.letsencrypt.org/directory'), ['letsencrypt.org']);
  assert.deepEqual(defaultCaaIdentities('https://dv.acme-v02.api.pki.goog/directory'), ['pki.goog']);
  assert.deepEqual(defaultCaaIdentities('https://127.0.0.1:14000/dir'), []);
  const dns01 = new RecordingPublisher();
  const accounts = new MemoryAccountStore();
  assert.deepEqual(createAcmeIssuer({ directoryUrl: 'https://127.0.0.1:14000/dir', accounts, dns01, caaIdentities: ['pebble.test'] }).caaIdentities(), ['pebble.test']);
  assert.deepEqual(createAcmeIssuer({ directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory', accounts, dns01 }).caaIdentities(), ['letsencrypt.org']);
});

describe('ACME issuer against Pebble', { skip: PEBBLE_MISSING ?? false }, () => {
  const fx = pebbleFixture({ skip: PEBBLE_MISSING !== null, domainBlocklist: ['blocked.test'] });

  test('issues one certificate for two names whose chain verifies up to Pebble\'s root', async () => {
    const names = [host('cdn.cdp.shop.test'), host('api.cdp.shop.test')];
    const steps: IssueStep['kind'][] = [];
    const cert = await issuerFor(fx).issue(names, { onProgress: (s) => steps.push(s.kind) });

    const leaf = new X509Certificate(cert.certPem);
    assert.equal(leaf.checkHost('cdn.cdp.shop.test'), 'cdn.cdp.shop.test');
    assert.equal(leaf.checkHost('api.cdp.shop.test'), 'api.cdp.shop.test');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(cert.keyPem)));
    const root = new X509Certificate(await fx.pebble!.fetchRootPem());
    const chain = splitPemCertificates(cert.chainPem).map((p) => new X509Certificate(p));
    assert.ok(chain.length >= 1, 'Pebble signs leaves with an intermediate');
    let child = leaf;
    for (const parent of [...chain, root]) {
      assert.ok(child.checkIssued(parent) && child.verify(parent.publicKey), `${child.subject} is not signed by ${parent.subject}`);
      child = parent;
    }
    assert.equal(cert.serialHex, leaf.serialNumber.toLowerCase());
    assert.equal(cert.issuerKind, 'acme');
    assert.equal(cert.directoryUrl, fx.pebble!.directoryUrl);
    assert.match(cert.acmeCertUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.ok(cert.notAfter > Date.now() && cert.notBefore <= Date.now());
    assert.deepEqual(steps, ['order_created', 'challenge_published', 'challenge_published', 'validated', 'finalized', 'downloaded']);
    assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });

  test('withdraws every TXT record it published once the certificate is issued', async () => {
    const before = fx.publisher.published.length;
    await issuerFor(fx).issue([host('a.withdraw.test'), host('b.withdraw.test')]);
    assert.deepEqual(fx.publisher.published.slice(before).sort(), ['_acme-challenge.a.withdraw.test', '_acme-challenge.b.withdraw.test']);
    assert.equal(fx.publisher.live.size, 0);
  });

  test('fails with a typed unauthorized problem when the CA sees a wrong TXT value, and withdraws the records', async () => {
    fx.publisher.corrupt.add('_acme-challenge.bad.fail.test');
    try {
      const err = await rejection(issuerFor(fx).issue([host('good.fail.test'), host('bad.fail.test')]));
      assert.equal(err.code, 'ERR_CERTS_ACME_UNAUTHORIZED');
      assert.equal(err.retryable, false);
      const problem = err.details?.['problem'] as AcmeProblem;
      assert.equal(problem.type, 'urn:ietf:params:acme:error:unauthorized');
      assert.deepEqual(problem.identifier, { type: 'dns', value: 'bad.fail.test' });
      assert.ok(problem.detail.length > 0);
    } finally {
      fx.publisher.corrupt.clear();
    }
    assert.equal(fx.publisher.live.size, 0);
  });

  test('reuses one account across issuances and issuer instances sharing the store', async () => {
    const accounts = new MemoryAccountStore();
    const first = issuerFor(fx, accounts);
    await Promise.all([first.issue([host('one.account.test')]), first.issue([host('two.account.test')])]);
    await first.issue([host('four.account.test')]);
    await issuerFor(fx, accounts).issue([host('three.account.test')]);
    assert.equal(accounts.saved.length, 1);
    assert.match(accounts.saved[0]!.accountUrl, /^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
  });

  test('registers a new account when the stored one is unknown to the CA', async () => {
    const accounts = new MemoryAccountStore();
    const staleUrl = `${new URL(fx.pebble!.directoryUrl).origin}/my-account/deadbeef`;
    await accounts.save(fx.pebble!.directoryUrl, { accountKeyPem: (await acmeCrypto.createPrivateEcdsaKey()).toString(), accountUrl: staleUrl });
    await issuerFor(fx, accounts).issue([host('stale.account.test')]);
    assert.equal(accounts.saved.length, 2);
    assert.notEqual(accounts.saved[1]!.accountUrl, staleUrl);
  });

  test('refuses a blocklisted name with a typed rejectedIdentifier problem and publishes nothing', async () => {
    const before = fx.publisher.published.length;
    const err = await rejection(issuerFor(fx).issue([host('www.blocked.test')]));
    assert.equal(err.code, 'ERR_CERTS_ACME_REJECTED_IDENTIFIER');
    const problem = err.details?.['problem'] as AcmeProblem;
    assert.equal(problem.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.equal(problem.status, 400);
    assert.equal(fx.publisher.published.length, before);
  });

  test('stops when its signal aborts after publishing, and withdraws what it published', async () => {
    const controller = new AbortController();
    const err = await rejection(
      issuerFor(fx).issue([host('abort.test')], {
        signal: controller.signal,
        onProgress: (s) => {
          if (s.kind === 'challenge_published') controller.abort();
        },
      }),
    );
    assert.equal(err.code, 'ERR_CERTS_ISSUE_ABORTED');
    assert.equal(fx.publisher.live.size, 0);
  });

  test('cannot reach the directory without the extra CA bundle (no process-wide trust is changed)', async () => {
    const issuer = createAcmeIssuer({ directoryUrl: fx.pebble!.directoryUrl, accounts: new MemoryAccountStore(), dns01: fx.publisher });
    const err = await rejection(issuer.issue([host('untrusted.test')]));
    assert.equal(err.code, 'ERR_CERTS_ACME_CONNECTION');
    assert.equal(err.retryable, true);
    assert.match(String(err.details?.['transport']), /CERT|SIGNATURE|ISSUER/);
  });
});

describe('ACME issuer against a Pebble rejecting half of all nonces', { skip: PEBBLE_MISSING ?? false }, () => {
  const fx = pebbleFixture({ skip: PEBBLE_MISSING !== null, env: { PEBBLE_WFE_NONCEREJECT: '50' } });

  test('still issues, retrying badNonce rejections', async () => {
    const cert = await issuerFor(fx).issue([host('cdn.nonce.test'), host('api.nonce.test')]);
    assert.equal(new X509Certificate(cert.certPem).checkHost('api.nonce.test'), 'api.nonce.test');
    assert.equal(fx.publisher.live.size, 0);
  });
});
