import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { buildCustomDomainZone } from './custom-zone.ts';
import { Notifier } from './notifier.ts';
import { APEX, sampleInput } from './test-support.ts';
import { parseTsigKey, signMessage, verifyMessage } from './tsig.ts';
import type { DnsListen } from './types.ts';
import { ZoneTable, type ZoneChange } from './zone-table.ts';

const KEY = parseTsigKey(`n:${Buffer.alloc(32, 5).toString('base64')}`);

/** A fake secondary: records each NOTIFY (serial, whether signed) and acknowledges per `reply`. */
async function fakeSecondary(reply: (n: number, msg: Buffer) => Buffer | null): Promise<{ addr: DnsListen; seen: { serial: number; signed: boolean }[]; close: () => Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  const seen: { serial: number; signed: boolean }[] = [];
  sock.on('message', (msg, from) => {
    const p = dnsPacket.decode(msg);
    const soa = p.answers?.find((a) => a.type === 'SOA');
    seen.push({ serial: soa?.type === 'SOA' ? soa.data.serial ?? -1 : -1, signed: (p.additionals ?? []).some((a) => (a.type as string) === 'TSIG' || (a.type as string) === 'UNKNOWN_250') || msg.readUInt16BE(10) > 0 });
    const out = reply(seen.length, msg);
    if (out) sock.send(out, from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { addr: { host: '127.0.0.1', port: sock.address().port }, seen, close: () => new Promise((r) => sock.close(() => r())) };
}

/** The acknowledgement of a NOTIFY: same header and question, QR set, no other records. */
function ack(msg: Buffer): Buffer {
  let qEnd = 12;
  while (msg[qEnd] !== 0) qEnd += msg[qEnd]! + 1;
  qEnd += 5;
  const out = Buffer.from(msg.subarray(0, qEnd));
  out.writeUInt16BE(out.readUInt16BE(2) | 0x8000, 2);
  out.fill(0, 6, 12);
  return out;
}

const spec = (serial: number) => buildCustomDomainZone(sampleInput({ serial }));

test('the zone table reports sets with the previous serial, and deletions of existing zones', () => {
  const table = new ZoneTable();
  const changes: ZoneChange[] = [];
  const off = table.onChange((c) => changes.push(c));
  table.setZone(spec(1));
  table.setZone(spec(2));
  table.deleteZone(APEX);
  table.deleteZone(APEX);
  off();
  table.setZone(spec(3));
  assert.deepEqual(changes.map((c) => (c.kind === 'set' ? `set ${c.spec.serial} after ${c.previousSerial}` : `deleted ${c.apex}`)), ['set 1 after undefined', 'set 2 after 1', `deleted ${APEX}`]);
});

test('sends NOTIFY on a serial change and retries until the secondary acknowledges', async () => {
  const sec = await fakeSecondary((n, msg) => (n < 3 ? null : ack(msg)));
  const table = new ZoneTable();
  table.setZone(spec(1));
  const notifier = new Notifier({ table, secondaries: [sec.addr], ackTimeoutMs: 100, retryDelayMs: 20 });
  await notifier.start();
  try {
    table.setZone(spec(1)); // same serial: nothing to announce
    table.setZone(spec(2));
    await notifier.whenIdle();
    assert.deepEqual(sec.seen.map((s) => s.serial), [2, 2, 2]);
    assert.deepEqual(notifier.stats(), { sent: 3, acknowledged: 1, failed: 0 });
  } finally {
    await notifier.close();
    await sec.close();
  }
});

test('with a key, signs NOTIFY and accepts only a correctly signed acknowledgement', async () => {
  let signedAcks = false;
  const sec = await fakeSecondary((_n, msg) => {
    const v = verifyMessage(msg, [KEY], Math.floor(Date.now() / 1000));
    if (v.kind !== 'valid') return null;
    return signedAcks ? signMessage(ack(stripTsig(msg)), KEY, { nowSeconds: Math.floor(Date.now() / 1000), requestMac: v.mac }).bytes : ack(stripTsig(msg));
  });
  const table = new ZoneTable();
  const notifier = new Notifier({ table, secondaries: [sec.addr], tsigKey: KEY, ackTimeoutMs: 100, retryDelayMs: 10, maxAttempts: 2 });
  await notifier.start();
  try {
    table.setZone(spec(5));
    await notifier.whenIdle();
    assert.deepEqual(notifier.stats(), { sent: 2, acknowledged: 0, failed: 1 }, 'unsigned acks are not accepted');
    signedAcks = true;
    table.setZone(spec(6));
    await notifier.whenIdle();
    assert.deepEqual(notifier.stats(), { sent: 3, acknowledged: 1, failed: 1 });
    assert.ok(sec.seen.every((s) => s.signed));
  } finally {
    await notifier.close();
    await sec.close();
  }
});

/** The message without its trailing TSIG (the fake only needs the header and question). */
function stripTsig(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out.writeUInt16BE(0, 10);
  return out;
}
