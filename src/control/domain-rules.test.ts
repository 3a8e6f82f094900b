import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, hostnameUnchecked } from '../core/index.ts';
import { hostsOf, normaliseCustomDomain } from './domain-rules.ts';

const reserved = {
  nameservers: [hostnameUnchecked('ns1.firstparty.test'), hostnameUnchecked('ns2.firstparty.test')],
  defaultHosts: [hostnameUnchecked('cdn.firstparty.test'), hostnameUnchecked('api.firstparty.test')],
};
const code = (input: unknown) => {
  try {
    normaliseCustomDomain(input, reserved);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.code;
  }
};

test('normalises case, a trailing dot and IDN labels', () => {
  assert.equal(normaliseCustomDomain(' CDP.Shop.COM. ', reserved), 'cdp.shop.com');
  assert.equal(normaliseCustomDomain('cdp.bücher.de', reserved), 'cdp.xn--bcher-kva.de');
  assert.equal(normaliseCustomDomain('cdp.shop.com\u3002', reserved), 'cdp.shop.com');
});

test('refuses malformed names with ERR_CONTROL_INVALID_DOMAIN', () => {
  for (const bad of ['127.0.0.1', '[::1]', '', 'cdp..shop.com', 'cdp shop.com', 'https://cdp.shop.com', '-cdp.shop.com', 'x'.repeat(64) + '.shop.com', 42, null]) {
    assert.equal(code(bad), 'ERR_CONTROL_INVALID_DOMAIN', String(bad));
  }
});

test('refuses public suffixes and bare registrable domains', () => {
  assert.equal(code('co.uk'), 'ERR_CONTROL_PUBLIC_SUFFIX');
  assert.equal(code('github.io'), 'ERR_CONTROL_PUBLIC_SUFFIX');
  assert.equal(code('shop.com'), 'ERR_CONTROL_REGISTRABLE_DOMAIN');
  assert.equal(code('shop.co.uk'), 'ERR_CONTROL_REGISTRABLE_DOMAIN');
  assert.equal(code('cdp.shop.co.uk'), 'ok');
});

test('refuses names overlapping the operator\'s nameservers and default hosts', () => {
  assert.equal(code('x.ns1.firstparty.test'), 'ERR_CONTROL_RESERVED_DOMAIN');
  assert.equal(code('dns.firstparty.test'), 'ok');
  assert.equal(code('ns1.firstparty.test'), 'ERR_CONTROL_RESERVED_DOMAIN');
});

test('derives the CDN and API hosts from the configured labels', () => {
  assert.deepEqual(hostsOf(hostnameUnchecked('cdp.shop.com'), { cdnLabel: 'cdn', apiLabel: 'api' }), { cdn: 'cdn.cdp.shop.com', api: 'api.cdp.shop.com' });
});
