import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import { AppError, isAppError } from '../core/index.ts';
import { queryDns } from './client.ts';
import { DnsServer } from './dns-server.ts';
import { DnsErrors } from './errors.ts';
import { APEX, sampleTable } from './test-support.ts';
import type { DnsLogger } from './types.ts';

function recordingLogger(): DnsLogger & { lines: { level: string; msg?: string }[] } {
  const lines: { level: string; msg?: string }[] = [];
  const at = (level: string) => (_obj: object, msg?: string) => void lines.push({ level, msg });
  return { lines, info: at('info'), warn: at('warn'), debug: at('debug'), error: at('error') };
}

test('listens on several addresses with ephemeral ports and answers on each', async () => {
  const logger = recordingLogger();
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.2', port: 0 }], logger });
  try {
    await server.start();
    const addrs = server.addresses();
    assert.deepEqual(addrs.map((a) => a.host), ['127.0.0.1', '127.0.0.2']);
    for (const a of addrs) {
      assert.ok(a.port > 0);
      assert.equal((await queryDns(a, `cdn.${APEX}`, 'A')).rcode, 'NOERROR');
      assert.equal((await queryDns(a, `cdn.${APEX}`, 'A', { tcp: true })).rcode, 'NOERROR');
    }
    assert.ok(logger.lines.some((l) => l.level === 'info' && l.msg === 'dns server listening'));
  } finally {
    await server.close();
  }
});

test('rejects start with ERR_DNS_BIND_FAILED when the UDP port is taken, leaving nothing bound', async () => {
  const blocker = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
  const port = blocker.address().port;
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port }] });
  try {
    await assert.rejects(server.start(), (e) => {
      assert.ok(isAppError(e, DnsErrors.BIND_FAILED));
      assert.deepEqual((e as AppError).details, { host: '127.0.0.1', port, transport: 'udp', code: 'EADDRINUSE' });
      return true;
    });
    assert.deepEqual(server.addresses(), []);
  } finally {
    blocker.close();
    await server.close();
  }
});

test('rejects start when the TCP port of a fixed address is taken', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '127.0.0.1', port }] });
  try {
    await assert.rejects(server.start(), (e) => isAppError(e, DnsErrors.BIND_FAILED) && (e as AppError).details?.['transport'] === 'tcp');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
    await server.close();
  }
});

test('close ends open TCP connections and stops answering', async () => {
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '127.0.0.1', port: 0 }] });
  await server.start();
  const addr = server.addresses()[0]!;
  const sock = net.connect(addr.port, addr.host);
  await new Promise((resolve) => sock.once('connect', resolve));
  const closed = new Promise((resolve) => sock.once('close', resolve));
  sock.on('error', () => {}); // a reset on close is expected
  await server.close();
  await closed;
  await assert.rejects(queryDns(addr, APEX, 'SOA', { timeoutMs: 300 }), (e) => isAppError(e) && e.retryable);
  assert.equal(server.metrics().tcp.open, 0);
});

test('serves over IPv6 loopback when the host has it', async (t) => {
  const probe = dgram.createSocket('udp6');
  const hasV6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.bind(0, '::1', () => resolve(true));
  });
  probe.close();
  if (!hasV6) return t.skip('no ::1 on this host');
  const server = new DnsServer({ table: sampleTable(), listen: [{ host: '::1', port: 0 }] });
  try {
    await server.start();
    const addr = server.addresses()[0]!;
    assert.equal(addr.host, '::1');
    assert.deepEqual((await queryDns(addr, `api.${APEX}`, 'AAAA')).answers?.map((a) => ('data' in a ? a.data : '')), ['2001:db8::10']);
    assert.equal((await queryDns(addr, `api.${APEX}`, 'AAAA', { tcp: true })).rcode, 'NOERROR');
  } finally {
    await server.close();
  }
});
