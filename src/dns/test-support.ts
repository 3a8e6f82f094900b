/**
 * Shared fixtures of the DNS tests: a sample custom zone, a started server, `dig` runs parsed
 * into sections, and raw UDP exchanges. Not part of the capability's surface.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { buildCustomDomainZone, type CustomZoneInput } from './custom-zone.ts';
import { DnsServer } from './dns-server.ts';
import type { DnsListen } from './types.ts';
import { ZoneTable } from './zone-table.ts';

/** The sample zone's apex. */
export const APEX = 'cdp.shop.test';

/** Input of the sample custom zone; override fields per test. */
export function sampleInput(over: Partial<CustomZoneInput> = {}): CustomZoneInput {
  return {
    apex: APEX,
    serial: 7,
    nameservers: ['ns1.firstparty.test', 'ns2.firstparty.test'],
    hosts: [`cdn.${APEX}`, `api.${APEX}`],
    edgeIPv4: ['192.0.2.10'],
    edgeIPv6: ['2001:db8::10'],
    caaIssuers: ['letsencrypt.org'],
    txt: [{ name: `_acme-challenge.cdn.${APEX}`, value: 'token-cdn' }],
    hostmaster: 'hostmaster.firstparty.test',
    ...over,
  };
}

/** A table holding the sample zone. */
export function sampleTable(over: Partial<CustomZoneInput> = {}): ZoneTable {
  const table = new ZoneTable();
  table.setZone(buildCustomDomainZone(sampleInput(over)));
  return table;
}

/** Starts a server on 127.0.0.1, ephemeral port; the caller closes it. */
export async function startServer(table: ZoneTable, opts: { tcpIdleTimeoutMs?: number; maxTcpConnections?: number } = {}): Promise<{ server: DnsServer; addr: DnsListen }> {
  const server = new DnsServer({ table, listen: [{ host: '127.0.0.1', port: 0 }], ...opts });
  await server.start();
  return { server, addr: server.addresses()[0]! };
}

/** Why a binary is unusable, or undefined when it is installed. */
export function missingBinary(name: string): string | undefined {
  return ['/usr/bin', '/usr/sbin', '/usr/local/bin'].some((d) => existsSync(`${d}/${name}`)) ? undefined : `${name} is not installed (apt-get install bind9-dnsutils knot-dnsutils)`;
}

/** One `dig` run, parsed. Sections hold the record lines with whitespace collapsed. */
export interface DigResult {
  readonly raw: string;
  readonly status: string;
  readonly opcode: string;
  readonly flags: readonly string[];
  readonly edns: string | undefined;
  readonly question: readonly string[];
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly retriedOverTcp: boolean;
}

const SECTIONS = { 'QUESTION SECTION:': 'question', 'ANSWER SECTION:': 'answer', 'AUTHORITY SECTION:': 'authority', 'ADDITIONAL SECTION:': 'additional' } as const;

/** Parses dig's default text output (last response printed wins). */
export function parseDig(raw: string): DigResult {
  const out = { question: [] as string[], answer: [] as string[], authority: [] as string[], additional: [] as string[] };
  let section: keyof typeof out | undefined;
  let status = '', opcode = '', flags: string[] = [], edns: string | undefined;
  for (const line of raw.split('\n')) {
    const header = /opcode: (\w+), status: (\w+)/.exec(line);
    if (header) [opcode, status] = [header[1]!, header[2]!];
    const f = /^;; flags:([^;]*);/.exec(line);
    if (f) flags = f[1]!.trim().split(/\s+/).filter(Boolean);
    if (line.startsWith('; EDNS:')) edns = line;
    const s = Object.entries(SECTIONS).find(([k]) => line.startsWith(`;; ${k}`));
    if (s) { section = s[1]; continue; }
    if (line.trim() === '') { section = undefined; continue; }
    if (section) out[section].push(line.replace(/^;/, '').replace(/\s+/g, ' ').trim());
  }
  return { raw, status, opcode, flags, edns, question: out.question, answer: out.answer, authority: out.authority, retriedOverTcp: raw.includes('retrying in TCP mode') };
}

/** Runs `dig @addr -p port args...` (one try, 2 s) and parses its output. */
export function dig(addr: DnsListen, ...args: string[]): Promise<DigResult> {
  const argv = [`@${addr.host}`, '-p', String(addr.port), '+time=2', '+tries=1', ...args];
  return new Promise((resolve, reject) => {
    execFile('dig', argv, { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) reject(err);
      else resolve(parseDig(stdout));
    });
  });
}

/** Sends one datagram and waits for one reply; null when none comes within `timeoutMs`. */
export function udpExchange(addr: DnsListen, msg: Buffer, timeoutMs = 500): Promise<Buffer | null> {
  const sock = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => { sock.close(); resolve(null); }, timeoutMs);
    sock.on('message', (reply) => { clearTimeout(timer); sock.close(); resolve(reply); });
    sock.send(msg, addr.port, addr.host);
  });
}
