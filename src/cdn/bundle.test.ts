import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadAnalyticsBundle } from './bundle.ts';

const umd = join(dirname(createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')), 'dist', 'umd');

test('loads the pinned analytics-next 1.84.3 standalone build and its eight lazy chunks', async () => {
  const bundle = await loadAnalyticsBundle();
  assert.equal(bundle.version, '1.84.3');
  assert.equal(bundle.standalone, await readFile(join(umd, 'standalone.js'), 'utf8'));
  const names = bundle.chunkNames();
  assert.equal(names.length, 8);
  assert.ok(names.includes('queryString.bundle.34b193ada8fe288d1bd1.js'));
  assert.ok(names.every((n) => /^[\w-]+\.bundle\.[0-9a-f]{20}\.js$/.test(n)));
});

test('holds every chunk byte for byte and nothing else', async () => {
  const bundle = await loadAnalyticsBundle();
  for (const name of bundle.chunkNames()) assert.deepEqual(bundle.chunk(name), await readFile(join(umd, name)));
  for (const other of ['standalone.js', 'index.js', '../../package.json', 'queryString.bundle.34b193ada8fe288d1bd1.js.map']) {
    assert.equal(bundle.chunk(other), undefined, other);
  }
});

test('every chunk the webpack runtime can request is present', async () => {
  // The runtime maps chunk ids to "<name>.bundle.<hash>.js"; each hash it names must be served.
  const bundle = await loadAnalyticsBundle();
  const hashes = [...bundle.standalone.matchAll(/"([0-9a-f]{20})"/g)].map((m) => m[1]!);
  assert.ok(hashes.length >= 8);
  const served = bundle.chunkNames().map((n) => n.split('.')[2]);
  for (const h of hashes) assert.ok(served.includes(h), `chunk hash ${h} referenced by standalone.js is not served`);
});
