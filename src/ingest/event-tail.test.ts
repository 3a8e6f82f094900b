import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError, type StoredEvent } from '../core/index.ts';
import { IngestErrors } from './errors.ts';
import { createEventTail } from './event-tail.ts';

const ev = (sourceId: string, messageId: string): StoredEvent => ({
  sourceId, messageId, type: 'track', status: 'accepted', reason: null, receivedAt: Date.UTC(2026, 0, 1), payload: { event: 'E' },
});

async function serve(handle: (res: import('node:http').ServerResponse, sourceId: string) => void) {
  const server = createServer((req, res) => {
    try {
      handle(res, req.url!.slice(1));
    } catch (err) {
      res.statusCode = isAppError(err, IngestErrors.TAIL_BUSY) ? 429 : 500;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const open = (sourceId: string) => new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/${sourceId}`, resolve));
  return { server, open, close: () => { server.closeAllConnections(); return new Promise<void>((r) => server.close(() => r())); } };
}

function readUntil(res: IncomingMessage, pattern: RegExp): Promise<string> {
  let text = '';
  return new Promise((resolve) => res.on('data', (c: Buffer) => {
    text += c.toString();
    if (pattern.test(text)) resolve(text);
  }));
}

test('streams only the events of the subscribed source, as SSE frames with status and reason', async (t) => {
  const tail = createEventTail();
  const srv = await serve((res, id) => tail.handleSse(res, id));
  t.after(async () => { tail.close(); await srv.close(); });
  const res = await srv.open('src_a');
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const got = readUntil(res, /a-2/);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(tail.subscribers('src_a'), 1);
  tail.publish([ev('src_a', 'a-1'), ev('src_b', 'b-1'), { ...ev('src_a', 'a-2'), status: 'rejected', reason: 'missing_event' }]);
  const text = await got;
  const frames = text.split('\n\n').filter((b) => b.startsWith('event: event')).map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)) as Record<string, unknown>);
  assert.deepEqual(frames.map((f) => [f.messageId, f.status, f.reason, f.receivedAt]), [
    ['a-1', 'accepted', null, '2026-01-01T00:00:00.000Z'], ['a-2', 'rejected', 'missing_event', '2026-01-01T00:00:00.000Z'],
  ]);
  res.destroy();
});

test('refuses a subscriber beyond the per-source cap and forgets subscribers that went away', async (t) => {
  const tail = createEventTail({ maxSubscribersPerSource: 1 });
  const srv = await serve((res, id) => tail.handleSse(res, id));
  t.after(async () => { tail.close(); await srv.close(); });
  const first = await srv.open('src_a');
  assert.equal((await srv.open('src_a')).statusCode, 429);
  assert.equal((await srv.open('src_b')).statusCode, 200);
  first.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(tail.subscribers('src_a'), 0);
  assert.equal((await srv.open('src_a')).statusCode, 200);
});

test('sends heartbeat comments and ends every stream on close', async (t) => {
  const tail = createEventTail({ heartbeatMs: 30 });
  const srv = await serve((res, id) => tail.handleSse(res, id));
  t.after(() => srv.close());
  const res = await srv.open('src_a');
  await readUntil(res, /: ping\n\n/);
  const ended = new Promise<void>((r) => res.on('end', () => r()));
  tail.close();
  await ended;
  assert.equal(tail.subscribers(), 0);
});
