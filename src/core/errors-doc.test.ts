import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorRegistry } from './errors.ts';
import { renderErrorsDoc } from './errors-doc.ts';
import '../app/index.ts';

test('docs/errors.md lists exactly the error codes the code declares, as generated', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), [...errorRegistry.keys()].sort(), 'run `npm run docs:errors`');
  assert.equal(doc, renderErrorsDoc(), 'docs/errors.md is stale: run `npm run docs:errors`');
});

test('every error code is unique and follows ERR_<CAPABILITY>_<WHAT>', () => {
  assert.ok(errorRegistry.size > 20);
  for (const code of errorRegistry.keys()) assert.match(code, /^ERR_[A-Z0-9]+_[A-Z0-9_]+$/);
});
