import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { readBody, type BodySource } from './body-reader.ts';

const limits = { maxRequestBytes: 1000, maxDecompressedBytes: 4000 };

function source(headers: Record<string, string>): PassThrough & BodySource {
  return Object.assign(new PassThrough(), { headers });
}

function send(chunks: Buffer[], headers: Record<string, string> = {}, lim = limits) {
  const req = source(headers);
  const result = readBody(req, lim);
  for (const c of chunks) req.write(c);
  req.end();
  return result;
}

function split(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

test('reads a plain body that arrives in chunks', async () => {
  const r = await send([Buffer.from('{"a":'), Buffer.from('1}')]);
  assert.deepEqual(r, { ok: true, body: Buffer.from('{"a":1}') });
});

test('gunzips a gzip body fed one byte at a time', async () => {
  const json = JSON.stringify({ batch: Array.from({ length: 50 }, (_, i) => ({ i })) });
  const r = await send(split(gzipSync(json), 1), { 'content-encoding': 'gzip' });
  assert.ok(r.ok);
  assert.equal(r.body.toString(), json);
});

test('inflates deflate bodies in zlib and in raw format', async () => {
  for (const packed of [deflateSync('{"z":1}'), deflateRawSync('{"z":1}')]) {
    const r = await send(split(packed, 1), { 'content-encoding': 'Deflate' });
    assert.ok(r.ok);
    assert.equal(r.body.toString(), '{"z":1}');
  }
});

test('refuses a declared Content-Length over the limit without reading', async () => {
  const req = source({ 'content-length': '1001' });
  const r = await readBody(req, limits);
  assert.deepEqual(r, { ok: false, problem: 'too_large' });
  assert.equal(req.listenerCount('data'), 0);
});

test('stops reading once a streamed body passes the raw limit', async () => {
  const req = source({});
  const result = readBody(req, limits);
  req.write(Buffer.alloc(600));
  req.write(Buffer.alloc(600));
  assert.deepEqual(await result, { ok: false, problem: 'too_large' });
  assert.equal(req.listenerCount('data'), 0);
  assert.equal(req.isPaused(), true);
});

test('refuses a gzip bomb at the decompressed cap', async () => {
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
  assert.ok(bomb.length < limits.maxRequestBytes * 20);
  const r = await send([bomb.subarray(0, 900)], { 'content-encoding': 'gzip' });
  assert.deepEqual(r, { ok: false, problem: 'decompressed_too_large' });
});

test('reports a corrupt gzip body and an unknown coding', async () => {
  assert.deepEqual(await send([Buffer.from('not gzip at all')], { 'content-encoding': 'gzip' }), { ok: false, problem: 'bad_encoding' });
  assert.deepEqual(await send([Buffer.from('x')], { 'content-encoding': 'br' }), { ok: false, problem: 'unsupported_encoding' });
});

test('reports an aborted upload', async () => {
  const req = source({});
  const result = readBody(req, limits);
  req.write('{"a":');
  req.destroy();
  assert.deepEqual(await result, { ok: false, problem: 'aborted' });
});
