import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClientIpResolver } from './client-ip.ts';

test('uses the socket address when no proxy is trusted, ignoring X-Forwarded-For', () => {
  const r = createClientIpResolver([]);
  assert.equal(r.resolve('198.51.100.9', '203.0.113.1'), '198.51.100.9');
});

test('reports an IPv4-mapped IPv6 peer as IPv4', () => {
  assert.equal(createClientIpResolver([]).resolve('::ffff:127.0.0.1', undefined), '127.0.0.1');
});

test('ignores X-Forwarded-For from a peer that is not trusted', () => {
  const r = createClientIpResolver(['10.0.0.1']);
  assert.equal(r.resolve('10.0.0.2', '203.0.113.1'), '10.0.0.2');
});

test('takes the rightmost untrusted X-Forwarded-For address behind trusted proxies', () => {
  const r = createClientIpResolver(['10.0.0.1', '10.1.0.0/16', '2001:db8::1']);
  assert.equal(r.resolve('10.0.0.1', '1.2.3.4, 203.0.113.5, 10.1.2.3'), '203.0.113.5');
  assert.equal(r.resolve('::ffff:10.0.0.1', ['1.2.3.4', '203.0.113.6']), '203.0.113.6');
  assert.equal(r.resolve('2001:db8:0:0::1', '2001:db8::42'), '2001:db8::42');
});

test('stops at the last trusted hop when an entry is malformed or all hops are trusted', () => {
  const r = createClientIpResolver(['10.0.0.1', '10.0.0.2']);
  assert.equal(r.resolve('10.0.0.1', 'evil, 10.0.0.2'), '10.0.0.2');
  assert.equal(r.resolve('10.0.0.1', '10.0.0.2'), '10.0.0.2');
});
