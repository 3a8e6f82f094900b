import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { JsonScanner, MAX_SCAN_DEPTH, ScanAbort } from './json-scan.ts';

/** A small seeded generator (mulberry32): the cases are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['a', 'é', '注', '😀', '\\n', '\\"', '\\\\', '\\u00e9', '\\ud83d\\ude00', '\\ud800', '/', ' ', '\t'];

function text(r: () => number, depth: number, ws: boolean): string {
  const pad = () => (ws && r() < 0.2 ? [' ', '\n', '\t', '\r\n  '][Math.floor(r() * 4)]! : '');
  const k = r();
  if (depth > 6 || k < 0.35) {
    const s = r();
    if (s < 0.3) return `"${Array.from({ length: Math.floor(r() * 6) }, () => PIECES[Math.floor(r() * PIECES.length)]!.replace('\t', ' ')).join('')}"`;
    if (s < 0.6) return JSON.stringify((r() - 0.5) * 10 ** Math.floor(r() * 30 - 10));
    if (s < 0.7) return String(Math.floor(r() * 1000) - 500);
    return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
  }
  const n = Math.floor(r() * 4);
  if (k < 0.7) return `{${pad()}${Array.from({ length: n }, (_, i) => `"k${i}"${pad()}:${pad()}${text(r, depth + 1, ws)}${pad()}`).join(`,${pad()}`)}}`;
  return `[${pad()}${Array.from({ length: n }, () => `${text(r, depth + 1, ws)}${pad()}`).join(`,${pad()}`)}]`;
}

/** Whether the scanner takes all of `buf` as one JSON value (leading whitespace allowed). */
function scans(buf: Buffer): boolean {
  const scan = new JsonScanner(buf);
  try {
    return scan.ws(scan.value(scan.ws(0), 0)) === buf.length;
  } catch (err) {
    if (err instanceof ScanAbort) return false;
    throw err;
  }
}

function parses(buf: Buffer): boolean {
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

test('takes exactly what JSON.parse takes: generated documents and their byte-level mutations', () => {
  const r = random(20261204);
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < 4000; i++) {
    const doc = Buffer.from(text(r, 0, r() < 0.5));
    assert.equal(scans(doc), true, doc.toString());
    valid += 1;
    for (let m = 0; m < 5; m++) {
      const bytes = [...doc];
      const at = Math.floor(r() * (bytes.length + 1));
      const op = r();
      const byte = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x00, 0x1f, 0x30, 0x2d, 0x2e, 0x65, 0x74, 0x75, 0x6e][Math.floor(r() * 18)]!;
      if (op < 0.4) bytes.splice(at, 1);
      else if (op < 0.7) bytes.splice(at, 0, byte);
      else bytes[Math.min(at, bytes.length - 1)] = byte;
      const mutated = Buffer.from(bytes);
      if (!isUtf8(mutated)) continue;
      const expected = parses(mutated);
      assert.equal(scans(mutated), expected, `${JSON.stringify(mutated.toString())} JSON.parse says ${expected}`);
      if (!expected) invalid += 1;
    }
  }
  assert.ok(valid === 4000 && invalid > 5000, `${invalid} invalid mutations`);
});

test('nesting: up to the limit scanned, one level more refused (the general path decides those)', () => {
  const nest = (n: number) => Buffer.from(`${'[{"a":'.repeat(n / 2)}1${'}]'.repeat(n / 2)}`);
  assert.equal(scans(nest(MAX_SCAN_DEPTH)), true);
  assert.equal(scans(nest(MAX_SCAN_DEPTH + 2)), false);
  assert.equal(parses(nest(MAX_SCAN_DEPTH + 2)), true);
});
