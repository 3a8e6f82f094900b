import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { signWebhook, verifyWebhookSignature, WebhookDispatcher } from './webhooks.ts';
import { startAdminFixture } from './test-fixture.ts';

test('signs <timestamp>.<body> with HMAC-SHA256 and verifies within the tolerance only', () => {
  const body = '{"a":1}';
  const h = signWebhook('s3cret', body, 1_700_000_000);
  // Reference value: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
  assert.equal(h, 't=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940');
  assert.equal(verifyWebhookSignature('s3cret', h, body, 1_700_000_100), true);
  assert.equal(verifyWebhookSignature('s3cret', h, body, 1_700_000_301), false, 'too old');
  assert.equal(verifyWebhookSignature('other', h, body, 1_700_000_000), false, 'wrong secret');
  assert.equal(verifyWebhookSignature('s3cret', h, '{"a":2}', 1_700_000_000), false, 'tampered body');
  assert.equal(verifyWebhookSignature('s3cret', h.replace('t=1700000000', 't=1700000001'), body, 1_700_000_000), false, 'tampered timestamp');
});

test('delivers signed state changes, retries failures with backoff from the persistent log, and gives up when bounded', async () => {
  const f = await startAdminFixture();
  const received: Array<{ status: number; body: string; sig: string; event: string }> = [];
  let answers = [500, 200];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const status = answers.shift() ?? 503;
      received.push({ status, body, sig: String(req.headers['firstparty-signature']), event: String(req.headers['firstparty-event']) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  const dispatcher = new WebhookDispatcher({ store: f.store, clock: f.clock, events: f.events, allowPrivateTargets: true, retryDelaysMs: [1000, 5000], tickMs: 60_000 });
  dispatcher.start();
  try {
    const ws = await f.workspace();
    const wh = await f.call('POST', `/api/v1/workspaces/${ws}/webhooks`, { url });
    assert.match(wh.json.secret, /^whsec_/);
    const d = await f.call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.hooks.com', sourceIds: [(await f.source(ws)).id] });
    await dispatcher.flush();
    await dispatcher.runDue();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.event, 'domain.created');
    assert.equal(verifyWebhookSignature(wh.json.secret, received[0]!.sig, received[0]!.body, f.clock.now() / 1000), true);
    await dispatcher.runDue();
    assert.equal(received.length, 1, 'not retried before its backoff');
    f.clock.advance(1000);
    await dispatcher.runDue();
    assert.equal(received.length, 2);
    assert.equal(JSON.parse(received[1]!.body).data.domain.id, d.json.id);

    answers = [];
    const cur = (await f.store.domains.get(d.json.id))!;
    await f.control.apply(cur, { type: 'delegation_confirmed' }, { nextCheckAt: null, checkAttempts: 0 });
    await dispatcher.flush();
    for (const step of [0, 1000, 5000, 60_000]) {
      f.clock.advance(step);
      await dispatcher.runDue();
    }
    assert.equal(received.length, 5, 'one attempt plus two retries, then no more');
    const log = await f.call('GET', `/api/v1/workspaces/${ws}/webhooks/${wh.json.id}/deliveries`);
    assert.deepEqual(log.json.deliveries.map((x: any) => [x.event, x.status, x.attempts]), [['domain.state_changed', 'failed', 3], ['domain.created', 'delivered', 2]]);
    assert.equal(log.json.deliveries[0].body.data.to, 'delegated');
    assert.equal(log.json.deliveries[0].lastStatusCode, 503);
  } finally {
    await dispatcher.close();
    await new Promise<void>((r) => hook.close(() => r()));
    await f.close();
  }
});

test('refuses webhook URLs that point at loopback, private or link-local addresses unless the operator allows them', async () => {
  const { assertPublicTarget, isPrivateAddress } = await import('./webhook-target.ts');
  for (const u of ['https://169.254.169.254/latest', 'https://127.0.0.1:4100/x', 'https://10.0.0.1/', 'http://[::1]/', 'https://[fd00::1]/', 'https://a.localhost/', 'https://192.168.1.1/']) {
    assert.throws(() => assertPublicTarget(new URL(u), false), /private or loopback/, u);
    assert.doesNotThrow(() => assertPublicTarget(new URL(u), true));
  }
  assert.doesNotThrow(() => assertPublicTarget(new URL('https://hooks.example.com/x'), false));
  assert.equal(isPrivateAddress('93.184.216.34'), false);
  assert.equal(isPrivateAddress('::ffff:127.0.0.1'), true);
});

test('records certificate renewed and revoked events for the domain\'s workspace webhooks', async () => {
  const f = await startAdminFixture();
  const dispatcher = new WebhookDispatcher({ store: f.store, clock: f.clock, events: f.events, allowPrivateTargets: true, tickMs: 60_000 });
  dispatcher.start();
  try {
    const ws = await f.workspace();
    const wh = await f.call('POST', `/api/v1/workspaces/${ws}/webhooks`, { url: 'https://hooks.example.test/x' });
    const d = await f.call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.certhooks.com', sourceIds: [(await f.source(ws)).id] });
    const domain = (await f.store.domains.get(d.json.id))!;
    const cert = (serial: string) => ({
      id: `crt_${serial}`, domainId: domain.id, names: [domain.hosts.cdn, domain.hosts.api], status: 'valid' as const, issuerKind: 'acme' as const,
      issuer: 'Test CA', directoryUrl: 'https://ca.test/dir', serialHex: serial, notBefore: 0, notAfter: 86_400_000, certPem: 'x', chainPem: '', keySealed: 'secret-key', createdAt: 0,
    });
    f.events.emit('cert.renewed', { domain, certificate: cert('02'), previous: cert('01') });
    f.events.emit('cert.revoked', { domainId: domain.id, certificate: cert('02'), reasonCode: 5 });
    await new Promise((r) => setTimeout(r, 50));
    await dispatcher.flush();
    const log = await f.call('GET', `/api/v1/workspaces/${ws}/webhooks/${wh.json.id}/deliveries`);
    const byEvent = new Map(log.json.deliveries.map((x: any) => [x.event, x.body.data]));
    assert.equal((byEvent.get('certificate.renewed') as any).previousSerial, '01');
    assert.equal((byEvent.get('certificate.revoked') as any).reasonCode, 5);
    assert.doesNotMatch(JSON.stringify(log.json.deliveries), /secret-key/, 'no key material in webhook bodies');
  } finally {
    await dispatcher.close();
    await f.close();
  }
});
