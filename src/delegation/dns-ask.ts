import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import type { DnsEndpoint } from './types.ts';
import { normaliseName } from './ns-compare.ts';

/**
 * The DNS query function the checker uses: `queryDns` of `src/dns/` in production. It sends one
 * query and resolves with the response whatever its RCODE, or rejects when none comes.
 */
export type DnsQueryFn = (
  server: DnsEndpoint,
  name: string,
  type: string,
  opts?: { recursionDesired?: boolean; timeoutMs?: number },
) => Promise<Packet>;

/** RCODE values (RFC 1035 §4.1.1). */
export const Rcode = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** A response reduced to what the checks read, or why there was none. */
export type Asked =
  | { readonly ok: true; readonly rcode: number; readonly authoritative: boolean; readonly packet: Packet }
  | { readonly ok: false; readonly message: string };

/** What every query of one check shares. */
export interface AskContext {
  readonly query: DnsQueryFn;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Sends one query; a timeout, network error or undecodable answer becomes `{ ok: false }`.
 * Rejects only with `signal.reason` when the check is aborted.
 */
export async function ask(ctx: AskContext, server: DnsEndpoint, name: string, type: string, recursionDesired: boolean): Promise<Asked> {
  ctx.signal?.throwIfAborted();
  try {
    const packet = await raceAbort(ctx.query(server, name, type, { recursionDesired, timeoutMs: ctx.timeoutMs }), ctx.signal);
    const flags = packet.flags ?? 0;
    // RFC 1035 §4.1.1: RCODE is the low 4 bits of the header flags; AA is bit 10.
    return { ok: true, rcode: flags & 0xf, authoritative: (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0, packet };
  } catch (err) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The mnemonic of an RCODE, e.g. `SERVFAIL`. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** `host:port` for messages. */
export function endpointText(e: DnsEndpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** The normalised targets of the NS records owned by `owner` in `records`. */
export function nsTargets(records: readonly Answer[] | undefined, owner: string): string[] {
  const out = new Set<string>();
  for (const r of records ?? []) {
    if (r.type === 'NS' && normaliseName(r.name) === owner) out.add(normaliseName(r.data));
  }
  return [...out].sort();
}

/** The addresses in the A (or AAAA) records owned by `owner` in `records`. */
export function addressesOf(records: readonly Answer[] | undefined, owner: string): string[] {
  const out: string[] = [];
  for (const r of records ?? []) {
    if ((r.type === 'A' || r.type === 'AAAA') && normaliseName(r.name) === owner) out.push(r.data);
  }
  return out;
}

/** The owner names of the SOA records in `records`, normalised. */
export function soaOwners(records: readonly Answer[] | undefined): string[] {
  return (records ?? []).filter((r) => r.type === 'SOA').map((r) => normaliseName(r.name));
}
