import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupHeader, parseGroupHeader, type GroupHeader } from './group-header.ts';

/** The JSON text of a header line (without `#` and the newline). */
const textOf = (h: GroupHeader) => {
  const line = groupHeader(h).toString('utf8');
  assert.equal(line[0], '#');
  assert.equal(line.at(-1), '\n');
  assert.ok(!line.slice(0, -1).includes('\n'));
  return line.slice(1, -1);
};

function header(n: number, vary: (i: number) => Partial<Record<keyof GroupHeader, unknown>>): GroupHeader {
  const h = { count: n, sourceIds: [] as string[], messageIds: [] as string[], types: [] as string[], reasons: [] as Array<string | null>, receivedAts: [] as number[], payloadLengths: [] as number[] };
  for (let i = 0; i < n; i++) {
    const v = vary(i);
    h.sourceIds.push((v.sourceIds as string | undefined) ?? 'src_a');
    h.messageIds.push((v.messageIds as string | undefined) ?? `m${i}`);
    h.types.push((v.types as string | undefined) ?? 'track');
    h.reasons.push(v.reasons === undefined ? null : (v.reasons as string | null));
    h.receivedAts.push((v.receivedAts as number | undefined) ?? 1_700_000_000_000);
    h.payloadLengths.push((v.payloadLengths as number | undefined) ?? 100 + i);
  }
  return h;
}

test('a header reads back as the columns it was written from, runs and rejections included', () => {
  const cases: GroupHeader[] = [
    header(1, () => ({})),
    header(500, () => ({})),
    header(7, (i) => ({ sourceIds: i < 3 ? 'src_a' : 'src_b', types: i % 2 === 0 ? 'track' : 'page', receivedAts: 1_700_000_000_000 + (i >> 1) })),
    header(6, (i) => ({ reasons: i === 0 || i === 4 ? 'missing "event"' : null })),
    header(3, (i) => ({ reasons: 'too deep', sourceIds: `s${i}`, messageIds: i === 1 ? 'lone \ud800 surrogate, "quotes", \\ and \u2028' : `m${i}` })),
  ];
  for (const h of cases) assert.deepEqual(parseGroupHeader(textOf(h)), h);
});

test('runs make a batch header smaller than one value per event', () => {
  const h = header(100, () => ({}));
  const text = textOf(h);
  assert.ok(text.includes('"sourceIds":{"runs":["src_a",100]}'), text.slice(0, 120));
  assert.ok(text.includes('"reasons":{"at":[]}'));
  assert.ok(text.length < JSON.stringify(h).length * 0.7);
});

test('headers of the earlier form (a plain array per column) still read', () => {
  const h = header(4, (i) => ({ reasons: i === 2 ? 'bad' : null, sourceIds: `s${i % 2}` }));
  assert.deepEqual(parseGroupHeader(JSON.stringify(h)), h);
});

test('a header that does not add up is refused, never half read', () => {
  const good = JSON.parse(textOf(header(3, () => ({})))) as Record<string, unknown>;
  const bad: Array<Record<string, unknown>> = [
    { ...good, count: 0 },
    { ...good, count: 2.5 },
    { ...good, count: '3' },
    { ...good, sourceIds: { runs: ['src_a', 2] } },
    { ...good, sourceIds: { runs: ['src_a', 4] } },
    { ...good, sourceIds: { runs: ['src_a', 1, 'src_b'] } },
    { ...good, sourceIds: { runs: ['src_a', 0, 'src_b', 3] } },
    { ...good, sourceIds: { runs: [1, 3] } },
    { ...good, sourceIds: { runs: ['src_a', 3], extra: 1 } },
    { ...good, types: { at: ['track', 3] } },
    { ...good, receivedAts: { runs: [-1, 3] } },
    { ...good, reasons: { at: [3, 'x'] } },
    { ...good, reasons: { at: [1, 'x', 1, 'y'] } },
    { ...good, reasons: { at: [1, 2] } },
    { ...good, reasons: { at: [1] } },
    { ...good, messageIds: { runs: ['m', 3] } },
    { ...good, messageIds: ['m0', 'm1'] },
    { ...good, payloadLengths: [1, 2, -3] },
    { ...good, payloadLengths: undefined },
  ];
  for (const b of bad) assert.equal(parseGroupHeader(JSON.stringify(b)), undefined, JSON.stringify(b));
  for (const text of ['', '[]', 'null', '{"count":1', '"x"']) assert.equal(parseGroupHeader(text), undefined, text);
});
