import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CertCache } from './cert-cache.ts';
import { createTestPki, type TestPki } from './test-support.ts';

let pki: TestPki;
before(async () => { pki = await createTestPki(); });
after(() => pki.close());

test('creates secure contexts lazily, one per certificate, and keeps at most maxContexts', async () => {
  const certs = new CertCache({ maxContexts: 3 });
  const leaf = await pki.issue('x', ['cdn.x.test', 'api.x.test']);
  // 50 certificates sharing one key pair's PEMs: enough to exercise the LRU without 50 issuances.
  for (let i = 0; i < 50; i++) certs.install({ ...leaf, id: `c${i}`, names: [`cdn.s${i}.test`, `api.s${i}.test`] });
  assert.equal(certs.contextCount(), 0, 'nothing is built at install');
  const a = certs.contextFor('cdn.s1.test');
  assert.ok(a);
  assert.equal(certs.contextFor('api.s1.test'), a, 'both hosts of a certificate share its context');
  for (const i of [2, 3, 4]) certs.contextFor(`cdn.s${i}.test`);
  assert.equal(certs.contextCount(), 3);
  assert.notEqual(certs.contextFor('cdn.s1.test'), a, 'the least recently used context was evicted and rebuilt');
  assert.equal(certs.contextFor('cdn.unknown.test'), undefined);
  assert.equal([...certs.certificates()].length, 50);
});

test('a lookup keeps its context: the least recently used one is evicted, not the first built', async () => {
  const certs = new CertCache({ maxContexts: 3 });
  const leaf = await pki.issue('y', ['cdn.y.test']);
  for (let i = 0; i < 4; i++) certs.install({ ...leaf, id: `c${i}`, names: [`cdn.s${i}.test`] });
  const first = certs.contextFor('cdn.s0.test');
  const second = certs.contextFor('cdn.s1.test');
  certs.contextFor('cdn.s2.test');
  assert.equal(certs.contextFor('cdn.s0.test'), first, 'a hit returns the same context');
  certs.contextFor('cdn.s3.test');
  assert.equal(certs.contextCount(), 3);
  assert.equal(certs.contextFor('cdn.s0.test'), first, 'the recently used context survived');
  assert.notEqual(certs.contextFor('cdn.s1.test'), second, 'the least recently used context was evicted');
});

test('a renewal replaces the context at the next lookup and notifies subscribers; removal stops serving', async () => {
  const certs = new CertCache();
  const seen: string[][] = [];
  certs.subscribe((names) => seen.push([...names]));
  certs.install(await pki.issue('old', ['cdn.r.test', 'api.r.test']));
  const before = certs.contextFor('cdn.r.test');
  certs.install(await pki.issue('new', ['cdn.r.test', 'api.r.test']));
  assert.notEqual(certs.contextFor('cdn.r.test'), before);
  assert.equal(certs.get('api.r.test')?.id, 'new');
  assert.equal([...certs.certificates()].length, 1);
  certs.remove(['cdn.r.test', 'api.r.test']);
  assert.equal(certs.contextFor('cdn.r.test'), undefined);
  assert.deepEqual(seen.at(-1), ['cdn.r.test', 'api.r.test']);
  assert.equal(seen.length, 3);
});
