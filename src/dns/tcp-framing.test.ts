import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameReader, frame } from './tcp-framing.ts';

const messages = [Buffer.from('first message'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('x')];
const stream = Buffer.concat(messages.map(frame));

function collect(chunks: Buffer[]): { frames: Buffer[]; partial: boolean } {
  const reader = new FrameReader();
  const frames: Buffer[] = [];
  for (const c of chunks) reader.push(c, (f) => frames.push(Buffer.from(f)));
  return { frames, partial: reader.hasPartial };
}

test('frame prefixes a message with its two-byte length', () => {
  assert.deepEqual([...frame(Buffer.from([9, 8, 7]))], [0, 3, 9, 8, 7]);
});

test('reads several pipelined frames from one chunk in order', () => {
  assert.deepEqual(collect([stream]), { frames: messages, partial: false });
});

test('reassembles frames split at every possible byte position', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = collect([stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(r.frames, messages, `cut at ${cut}`);
  }
});

test('reassembles a stream fed one byte at a time and reports a partial frame', () => {
  const bytes = [...stream].map((b) => Buffer.from([b]));
  assert.deepEqual(collect(bytes).frames, messages);
  assert.equal(collect(bytes.slice(0, 1)).partial, true);
  assert.equal(collect(bytes.slice(0, 5)).partial, true);
});
