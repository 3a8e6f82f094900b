import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../core/index.ts';
import { errorBody, IngestErrors, wireCode } from './errors.ts';

test('every ingest error code is unique, well-formed and documented by a message', () => {
  const codes = Object.values(IngestErrors).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const e of Object.values(IngestErrors)) {
    assert.match(e.code, /^ERR_INGEST_[A-Z_]+$/);
    assert.ok(e.message.length > 0);
  }
});

test('maps every error that reaches a client to its own snake_case wire code', () => {
  const reaching = Object.values(IngestErrors).filter((e) => e.httpStatus !== undefined);
  const wires = reaching.map((e) => wireCode(e));
  assert.equal(new Set(wires).size, wires.length);
  for (const w of wires) assert.match(w, /^[a-z_]+$/);
  assert.equal(wireCode(IngestErrors.INVALID_WRITE_KEY), 'invalid_write_key');
  assert.equal(wireCode({ code: 'ERR_OTHER_THING' }), 'internal_error');
});

test('writes error bodies as {success:false, code, message}', () => {
  const body = JSON.parse(errorBody(new AppError(IngestErrors.INVALID_JSON))) as unknown;
  assert.deepEqual(body, { success: false, code: 'invalid_json', message: IngestErrors.INVALID_JSON.message });
});
