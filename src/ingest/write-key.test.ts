import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError, type HostScope, type Source } from '../core/index.ts';
import { IngestErrors } from './errors.ts';
import { authorise, basicWriteKey } from './write-key.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('reads the write key from Basic credentials with or without the trailing colon', () => {
  assert.equal(basicWriteKey(`Basic ${b64('WK123:')}`), 'WK123');
  assert.equal(basicWriteKey(`Basic ${b64('WK123')}`), 'WK123');
  assert.equal(basicWriteKey(`basic   ${b64('WK123:ignored')}`), 'WK123');
});

test('ignores other schemes, blank users and malformed headers', () => {
  assert.equal(basicWriteKey('Bearer abc.def'), undefined);
  assert.equal(basicWriteKey(`Basic ${b64(':pw')}`), undefined);
  assert.equal(basicWriteKey('Basic not base64!'), undefined);
  assert.equal(basicWriteKey(undefined), undefined);
});

const source: Source = { id: 'src_a', workspaceId: 'ws', name: 'A', type: 'node', writeKey: 'KEYA', enabled: true, createdAt: 0 };
const disabled: Source = { ...source, id: 'src_d', writeKey: 'KEYD', enabled: false };
const sources = { byWriteKey: (k: string) => [source, disabled].find((s) => s.writeKey === k) };
const def: HostScope = { kind: 'default', cdnHost: 'cdn.op.test', apiHost: 'api.op.test' };

test('authorises with the first non-empty candidate key', () => {
  assert.equal(authorise(sources, def, [undefined, '', 'KEYA', 'OTHER']).id, 'src_a');
});

test('refuses a missing, unknown or disabled key as invalid_write_key', () => {
  for (const keys of [[], [undefined], ['NOPE'], ['KEYD'], [42]]) {
    assert.throws(() => authorise(sources, def, keys), (e) => isAppError(e, IngestErrors.INVALID_WRITE_KEY));
  }
});

test('refuses a source that is not connected to the custom domain', () => {
  const custom: HostScope = { kind: 'custom', domainId: 'd', cdnHost: 'cdn.x.test', apiHost: 'api.x.test', sourceIds: new Set(['src_other']) };
  assert.throws(() => authorise(sources, custom, ['KEYA']), (e) => isAppError(e, IngestErrors.SOURCE_NOT_ON_DOMAIN));
  assert.equal(authorise(sources, { ...custom, sourceIds: new Set(['src_a']) }, ['KEYA']).id, 'src_a');
});
