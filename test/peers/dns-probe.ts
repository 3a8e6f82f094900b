import { createSocket } from 'node:dgram';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';
import { findBinary } from './process.ts';

const execFileAsync = promisify(execFile);

/** A decoded DNS response plus its RCODE (dns-packet decodes it but does not type it). */
export type ProbeResponse = DecodedPacket & { rcode: string };

/**
 * One UDP DNS query from the harness itself (readiness checks), independent of `src/dns/`.
 * Resolves with the decoded response, or null when nothing answered within `timeoutMs` (default 500).
 */
export function probeDns(
  host: string,
  port: number,
  name: string,
  type: RecordType,
  opts: { recursionDesired?: boolean; timeoutMs?: number } = {},
): Promise<ProbeResponse | null> {
  const id = Math.floor(Math.random() * 65_536);
  const query = dnsPacket.encode({
    type: 'query',
    id,
    flags: opts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name, class: 'IN' }],
  });
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let settled = false;
    const finish = (value: ProbeResponse | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => finish(null), opts.timeoutMs ?? 500);
    // Not listening yet (ECONNREFUSED) or unreachable: "no answer" is what the caller polls for.
    socket.on('error', () => finish(null));
    socket.on('message', (msg) => {
      try {
        const decoded = dnsPacket.decode(msg) as ProbeResponse;
        if (decoded.id === id) finish(decoded);
      } catch {
        // An undecodable datagram is not the answer: keep waiting until the timeout.
        return;
      }
    });
    // Connected, so a port nobody listens on fails at once (ICMP unreachable → ECONNREFUSED).
    socket.connect(port, host, () => socket.send(query));
  });
}

/** The serial of the SOA in a response's answer section, or null. */
export function soaSerial(response: ProbeResponse | null): number | null {
  const soa = response?.answers?.find((a) => a.type === 'SOA');
  return soa?.type === 'SOA' ? (soa.data.serial ?? null) : null;
}

/**
 * Runs `dig @host -p port name type +short` (RD cleared unless `recurse`) and returns the answer
 * lines, lowercased with trailing dots kept as dig prints them. Throws when dig fails.
 */
export async function digShort(host: string, port: number, name: string, type: string, opts: { recurse?: boolean } = {}): Promise<string[]> {
  const dig = findBinary('dig');
  if (dig === null) throw new Error('dig is not installed');
  const args = [`@${host}`, '-p', String(port), name, type, '+short', '+time=2', '+tries=1', opts.recurse ? '+recurse' : '+norecurse'];
  const { stdout } = await execFileAsync(dig, args, { timeout: 5_000 });
  return stdout.split('\n').map((l) => l.trim().toLowerCase()).filter((l) => l !== '' && !l.startsWith(';'));
}
