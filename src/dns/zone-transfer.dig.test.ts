import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test, type TestContext } from 'node:test';
import { buildCustomDomainZone } from './custom-zone.ts';
import { DnsServer } from './dns-server.ts';
import dnsPacket from 'dns-packet';
import { APEX, missingBinary, sampleInput, udpExchange } from './test-support.ts';
import type { TransferPolicy } from './zone-transfer.ts';
import { parseTsigKey } from './tsig.ts';
import type { DnsListen } from './types.ts';
import { ZoneTable } from './zone-table.ts';

const SECRET = Buffer.alloc(32, 7).toString('base64');
const KEY = parseTsigKey(`xfr-key:${SECRET}`);
const BIG_APEX = 'big.shop.test';
const BIG_TXT_COUNT = 400;

/** Runs dig and returns its stdout (dig exits non-zero on a failed transfer but still prints). */
function digRaw(addr: DnsListen, ...args: string[]): Promise<string> {
  const argv = [`@${addr.host}`, '-p', String(addr.port), '+time=3', '+tries=1', ...args];
  return new Promise((resolve) => execFile('dig', argv, { timeout: 10_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`)));
}

/** The RR lines of a dig AXFR output, whitespace collapsed. */
function rrLines(out: string): string[] {
  return out.split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => !/ ANY TSIG /.test(l));
}

function bigZoneTable(): ZoneTable {
  const table = new ZoneTable();
  table.setZone(buildCustomDomainZone(sampleInput()));
  const txt = Array.from({ length: BIG_TXT_COUNT }, (_, i) => ({ name: `t${i}.${BIG_APEX}`, value: `${i}-${'x'.repeat(200)}` }));
  table.setZone(buildCustomDomainZone(sampleInput({ apex: BIG_APEX, hosts: [`cdn.${BIG_APEX}`], txt })));
  return table;
}

async function withServer(policy: TransferPolicy, host = '127.0.0.1'): Promise<{ server: DnsServer; addr: DnsListen }> {
  const server = new DnsServer({ table: bigZoneTable(), listen: [{ host, port: 0 }], transfer: policy });
  await server.start();
  return { server, addr: server.addresses()[0]! };
}

describe('AXFR (RFC 5936) with dig', () => {
  const skip = missingBinary('dig');
  const servers: DnsServer[] = [];
  let open: DnsListen;
  let signed: DnsListen;
  let closed: DnsListen;

  before(async () => {
    const a = await withServer({ allow: ['127.0.0.0/8'], tsigKeys: [] });
    const b = await withServer({ allow: ['127.0.0.1'], tsigKeys: [KEY] });
    const c = await withServer({ allow: ['127.0.0.9'], tsigKeys: [] });
    servers.push(a.server, b.server, c.server);
    [open, signed, closed] = [a.addr, b.addr, c.addr];
  });
  after(async () => {
    for (const s of servers) await s.close();
  });

  const needDig = (t: TestContext): boolean => (skip ? (t.skip(skip), true) : false);

  test('transfers the whole zone with the SOA first and last to an allowed address', async (t) => {
    if (needDig(t)) return;
    const rrs = rrLines(await digRaw(open, APEX, 'AXFR'));
    assert.match(rrs[0]!, new RegExp(`^${APEX}\\. 300 IN SOA ns1\\.firstparty\\.test\\. hostmaster\\.firstparty\\.test\\. 7 `));
    assert.equal(rrs.at(-1), rrs[0]);
    const body = rrs.slice(1, -1).sort();
    assert.deepEqual(body, [
      `${APEX}. 300 IN CAA 0 issue "letsencrypt.org"`,
      `${APEX}. 300 IN NS ns1.firstparty.test.`,
      `${APEX}. 300 IN NS ns2.firstparty.test.`,
      `_acme-challenge.cdn.${APEX}. 30 IN TXT "token-cdn"`,
      `api.${APEX}. 300 IN A 192.0.2.10`,
      `api.${APEX}. 300 IN AAAA 2001:db8::10`,
      `cdn.${APEX}. 300 IN A 192.0.2.10`,
      `cdn.${APEX}. 300 IN AAAA 2001:db8::10`,
    ].sort());
  });

  test('splits a large zone over several messages', async (t) => {
    if (needDig(t)) return;
    const out = await digRaw(open, BIG_APEX, 'AXFR');
    const m = /XFR size: (\d+) records \(messages (\d+)/.exec(out);
    assert.ok(m, out.slice(-500));
    assert.equal(Number(m[1]), BIG_TXT_COUNT + 2 + 2 + 1 + 1 + 1); // TXT, NS×2, A+AAAA, CAA, SOA×2
    assert.ok(Number(m[2]) > 1, `one message only: ${m[0]}`);
    assert.equal(rrLines(out).filter((l) => / TXT /.test(l)).length, BIG_TXT_COUNT);
  });

  test('signs every message of a TSIG transfer so that dig verifies the chain', async (t) => {
    if (needDig(t)) return;
    const out = await digRaw(signed, '-y', `hmac-sha256:xfr-key:${SECRET}`, BIG_APEX, 'AXFR');
    assert.doesNotMatch(out, /fail|verify|BADSIG|BADKEY|BADTIME/i, out.slice(-800));
    assert.match(out, /xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
    const m = /XFR size: (\d+) records \(messages (\d+)/.exec(out);
    assert.ok(m && Number(m[2]) > 1, out.slice(-500));
    assert.equal(rrLines(out).filter((l) => / TXT /.test(l)).length, BIG_TXT_COUNT);
  });

  test('refuses an unsigned transfer when a key is required', async (t) => {
    if (needDig(t)) return;
    const out = await digRaw(signed, APEX, 'AXFR');
    assert.match(out, /Transfer failed/, out);
    assert.equal(rrLines(out).length, 0);
  });

  test('answers NOTAUTH with BADSIG to a transfer signed with the wrong secret', async (t) => {
    if (needDig(t)) return;
    const wrong = Buffer.alloc(32, 8).toString('base64');
    const out = await digRaw(signed, '-y', `hmac-sha256:xfr-key:${wrong}`, APEX, 'AXFR');
    assert.equal(rrLines(out).length, 0, out);
    assert.match(out, /TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/, out);
    assert.match(out, /Transfer failed/, out);
  });

  test('refuses addresses outside the allow list and over UDP', async (t) => {
    if (needDig(t)) return;
    const out = await digRaw(closed, APEX, 'AXFR');
    assert.match(out, /Transfer failed/, out);
    assert.equal(rrLines(out).length, 0);
    const reply = await udpExchange(open, dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: APEX, type: 'AXFR', class: 'IN' }] }));
    assert.ok(reply);
    assert.equal((dnsPacket.decode(reply) as { rcode?: string }).rcode, 'REFUSED');
  });

  test('answers NOTAUTH for a name that is not the apex of a served zone', async (t) => {
    if (needDig(t)) return;
    for (const name of [`cdn.${APEX}`, 'other.test']) {
      const out = await digRaw(open, '+tcp', name, 'AXFR');
      assert.equal(rrLines(out).length, 0, out);
      assert.match(out, /Transfer failed/, out);
    }
  });
});
