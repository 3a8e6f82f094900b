import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import { rcodeName, typeCode } from './rr-types.ts';
import { FrameReader, frame } from './tcp-framing.ts';
import type { DnsListen } from './types.ts';

/** Options of {@link queryDns}. */
export interface QueryDnsOptions {
  /** Use TCP from the start (default false: UDP). */
  readonly tcp?: boolean;
  /** Set RD (default false: we ask authoritative servers). */
  readonly recursionDesired?: boolean;
  /** Give up after this long (default 2 000 ms), over both transports together. */
  readonly timeoutMs?: number;
  /** Add an OPT record (RFC 6891); default none. */
  readonly edns?: { readonly udpPayloadSize?: number; readonly version?: number; readonly dnssecOk?: boolean };
  /** Repeat over TCP when the UDP answer is truncated (default true, RFC 7766 §5). */
  readonly tcpFallback?: boolean;
}

/** A decoded response; `rcode` is the full mnemonic, the EDNS extended bits included (`BADVERS`). */
export type DnsResponse = DecodedPacket & { readonly rcode: string; readonly opcode: string };

function queryError(spec: typeof DnsErrors.QUERY_TIMEOUT, server: DnsListen, why: string, cause?: unknown): AppError {
  return new AppError(spec, `${server.host}:${server.port}: ${why}`, { cause, details: { server } });
}

function buildQuery(id: number, name: string, type: string, opts: QueryDnsOptions): Buffer {
  const code = typeCode(type);
  const clean = name === '.' ? '' : name.replace(/\.$/, '');
  const labels = clean === '' ? [] : clean.split('.');
  if (code === undefined || labels.some((l) => l.length === 0 || Buffer.byteLength(l) > 63) || Buffer.byteLength(clean) > 253) {
    throw new AppError(DnsErrors.BAD_QUERY, `cannot query ${type} ${name}`, { details: { name, type } });
  }
  // dns-packet maps `UNKNOWN_<n>` to n, which covers types missing from its own table (HTTPS...).
  const question = { name: clean === '' ? '.' : clean, type: `UNKNOWN_${code}` as Question['type'], class: 'IN' } as const;
  const packet: Packet = { type: 'query', id, flags: opts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0, questions: [question] };
  if (opts.edns) {
    const e = opts.edns;
    packet.additionals = [{
      type: 'OPT', name: '.', udpPayloadSize: e.udpPayloadSize ?? 1232, extendedRcode: 0,
      ednsVersion: e.version ?? 0, flags: e.dnssecOk ? dnsPacket.DNSSEC_OK : 0, flag_do: e.dnssecOk ?? false, options: [],
    }];
  }
  return dnsPacket.encode(packet);
}

/**
 * Decodes a response and checks it answers `query`: same ID and question (RFC 5452 §9.1); an
 * error response may omit the question (FORMERR, NOTIMP... carry only a header).
 */
function decodeResponse(bytes: Buffer, query: Buffer): DnsResponse | undefined {
  if (bytes.length < 12 || bytes.readUInt16BE(0) !== query.readUInt16BE(0)) return undefined;
  const p = dnsPacket.decode(bytes) as DnsResponse & { rcode: string };
  const q = dnsPacket.decode(query).questions?.[0];
  const a = p.questions?.[0];
  const headerRcode = bytes.readUInt16BE(2) & 0xf;
  const sameQuestion = a === undefined ? headerRcode !== 0 : a.name.toLowerCase() === q?.name.toLowerCase() && a.type === q.type;
  if (!p.flag_qr || !sameQuestion) return undefined;
  const opt = p.additionals?.find((r) => r.type === 'OPT');
  const ext = opt && 'extendedRcode' in opt ? opt.extendedRcode : 0;
  p.rcode = rcodeName((ext << 4) | headerRcode);
  return p;
}

/**
 * Sends one query to one server and resolves with the decoded response (whatever its rcode).
 * Rejects with `ERR_DNS_BAD_QUERY` for an unknown type or bad name, `ERR_DNS_QUERY_TIMEOUT` or
 * `ERR_DNS_QUERY_NETWORK` (both retryable) when no answer comes, and `ERR_DNS_BAD_RESPONSE`
 * (retryable) for an answer that does not decode. Truncated UDP answers are retried over TCP
 * unless `tcpFallback` is false. Datagrams with another ID or question are ignored (RFC 5452 §9.1).
 */
export async function queryDns(server: DnsListen, name: string, type: string, opts: QueryDnsOptions = {}): Promise<DnsResponse> {
  const query = buildQuery(randomInt(0, 0x10000), name, type, opts);
  const deadline = Date.now() + (opts.timeoutMs ?? 2000);
  if (!opts.tcp) {
    const res = await exchangeUdp(server, query, deadline);
    if (!res.flag_tc || opts.tcpFallback === false) return res;
  }
  return exchangeTcp(server, query, deadline);
}

function accept(server: DnsListen, bytes: Buffer, query: Buffer): DnsResponse | undefined {
  try {
    return decodeResponse(bytes, query);
  } catch (err) {
    throw queryError(DnsErrors.BAD_RESPONSE, server, 'undecodable response', err);
  }
}

function exchangeUdp(server: DnsListen, query: Buffer, deadline: number): Promise<DnsResponse> {
  return new Promise<DnsResponse>((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (err: unknown, res?: DnsResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (res) resolve(res);
      else reject(err);
    };
    const timer = setTimeout(() => finish(queryError(DnsErrors.QUERY_TIMEOUT, server, 'no answer over UDP')), Math.max(0, deadline - Date.now()));
    sock.on('error', (err) => finish(queryError(DnsErrors.QUERY_NETWORK, server, err.message, err)));
    sock.on('message', (bytes) => {
      try {
        const res = accept(server, bytes, query);
        if (res) finish(undefined, res);
      } catch (err) {
        finish(err);
      }
    });
    // A connected socket only hears the server and gets ICMP "port unreachable" as ECONNREFUSED.
    sock.once('connect', () => sock.send(query));
    sock.connect(server.port, server.host);
  });
}

function exchangeTcp(server: DnsListen, query: Buffer, deadline: number): Promise<DnsResponse> {
  return new Promise<DnsResponse>((resolve, reject) => {
    const sock = net.connect({ host: server.host, port: server.port, noDelay: true });
    const reader = new FrameReader();
    const timer = setTimeout(() => finish(queryError(DnsErrors.QUERY_TIMEOUT, server, 'no answer over TCP')), Math.max(0, deadline - Date.now()));
    let settled = false;
    const finish = (err: unknown, res?: DnsResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (res) resolve(res);
      else reject(err);
    };
    sock.on('connect', () => sock.write(frame(query)));
    sock.on('error', (err) => finish(queryError(DnsErrors.QUERY_NETWORK, server, err.message, err)));
    sock.on('close', () => finish(queryError(DnsErrors.QUERY_NETWORK, server, 'connection closed before an answer')));
    sock.on('data', (chunk: Buffer) => reader.push(chunk, (msg) => {
      try {
        const res = accept(server, msg, query);
        if (res) finish(undefined, res);
      } catch (err) {
        finish(err);
      }
    }));
  });
}
