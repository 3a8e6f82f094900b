import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AppError } from '../core/index.ts';
import { loadConfig } from './config.ts';

const resolvConf = join(mkdtempSync(join(tmpdir(), 'fp-cfg-')), 'resolv.conf');
writeFileSync(resolvConf, 'search example\nnameserver 192.0.2.53\n');
const load = (env: Record<string, string>, file?: string) => loadConfig(env, { cwd: '/srv/fp', resolvConf, ...(file ? { file } : {}) });
const errorOf = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail('expected an error');
};

test('embedded defaults: loopback listeners, ./data, local CA, system resolver', () => {
  const c = load({});
  assert.equal(c.dataDir, '/srv/fp/data');
  assert.deepEqual(c.admin.listen, { host: '127.0.0.1', port: 4100 });
  assert.deepEqual(c.dns.listen, [{ host: '127.0.0.1', port: 5300 }]);
  assert.deepEqual(c.edge.listen, { host: '127.0.0.1', port: 8443 });
  assert.equal(c.acme.directoryUrl, null);
  assert.deepEqual(c.acme.caaIdentities, []);
  assert.deepEqual(c.delegation.resolver, { host: '192.0.2.53', port: 53 });
  assert.equal(c.dns.hostmaster, 'hostmaster.firstparty.localhost');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.edge) && Object.isFrozen(c.dns.listen));
});

test('the environment overrides the JSON file, which overrides the defaults', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fp-cfg-')), 'c.json');
  writeFileSync(file, JSON.stringify({ FIRSTPARTY_EDGE_LISTEN: '0.0.0.0:443', FIRSTPARTY_NAMESERVERS: ['ns1.a.test', 'ns2.a.test'], FIRSTPARTY_PLANS: 'Business,Enterprise' }));
  const c = load({ FIRSTPARTY_EDGE_LISTEN: '[::1]:9443', FIRSTPARTY_ACME_DIRECTORY: 'https://acme.test/dir' }, file);
  assert.deepEqual(c.edge.listen, { host: '::1', port: 9443 });
  assert.deepEqual(c.dns.nameservers, ['ns1.a.test', 'ns2.a.test']);
  assert.deepEqual(c.customDomainPlans, ['business', 'enterprise']);
  assert.deepEqual(c.acme.caaIdentities, ['letsencrypt.org']);
});

test('refuses invalid values naming the setting', () => {
  for (const [key, value] of [
    ['FIRSTPARTY_EDGE_LISTEN', '127.0.0.1:99999'], ['FIRSTPARTY_EDGE_IPV4', '::1'], ['FIRSTPARTY_NAMESERVERS', 'not a host'],
    ['FIRSTPARTY_RESOLVER', 'nonsense'], ['FIRSTPARTY_DNS_LISTEN', 'localhost:5300'], ['FIRSTPARTY_LOG_LEVEL', 'loud'],
    ['FIRSTPARTY_ADMIN_TOKEN', 'x'], ['FIRSTPARTY_DELEGATION_POLL_MS', '-5'], ['FIRSTPARTY_ACME_DIRECTORY', 'ftp://x'],
    ['FIRSTPARTY_EDGE_PLAIN_HTTP_API', 'maybe'], ['FIRSTPARTY_CDN_LABEL', 'Bad_Label'],
  ] as const) {
    const err = errorOf(() => load({ [key]: value }));
    assert.equal(err.code, 'ERR_CONFIG_INVALID', `${key}=${value}`);
    assert.match(err.message, new RegExp(key), `${key}=${value}: ${err.message}`);
  }
});

test('refuses unknown settings in the environment and in the file', () => {
  assert.equal(errorOf(() => load({ FIRSTPARTY_EDGE_LISTN: '1.2.3.4:1' })).code, 'ERR_CONFIG_INVALID');
  const file = join(mkdtempSync(join(tmpdir(), 'fp-cfg-')), 'c.json');
  writeFileSync(file, JSON.stringify({ FIRSTPARTY_NOPE: 1 }));
  assert.equal(errorOf(() => load({}, file)).code, 'ERR_CONFIG_INVALID');
  assert.equal(errorOf(() => load({}, '/nonexistent/c.json')).code, 'ERR_CONFIG_FILE_UNREADABLE');
});

test('the deduplication window: 2,000,000 events unless set, at least 1', () => {
  assert.equal(load({}).ingest.dedupWindowEvents, 2_000_000);
  assert.equal(load({ FIRSTPARTY_DEDUP_WINDOW: '50000' }).ingest.dedupWindowEvents, 50_000);
  for (const bad of ['0', '-5', 'lots']) assert.match(errorOf(() => load({ FIRSTPARTY_DEDUP_WINDOW: bad })).message, /FIRSTPARTY_DEDUP_WINDOW/);
});
