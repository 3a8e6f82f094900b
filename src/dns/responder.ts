import dnsPacket, { type Answer } from 'dns-packet';
import { DnsMetricsRecorder } from './metrics.ts';
import { QueryParser, type ParsedQuery } from './query-parser.ts';
import { Rcode, RRType } from './rr-types.ts';
import type { DnsTransport } from './types.ts';
import { negativeSoaAnswer, rrsetAnswers, type CompiledRRset, type CompiledZone, type EdnsState, type WireBody, type ZoneNode } from './zone-compile.ts';
import type { ZoneTable } from './zone-table.ts';

/** Our EDNS UDP payload size (the DNS Flag Day 2020 value), advertised in every OPT we send. */
export const EDNS_UDP_SIZE = 1232;
const PLAIN_UDP_LIMIT = 512; // RFC 1035 §4.2.1
const TCP_LIMIT = 65535; // RFC 1035 §4.2.2: 16-bit length prefix
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const COPIED_FLAGS = 0x7800 | 0x0100 | 0x0010; // opcode, RD (RFC 1035 §4.1.1), CD (RFC 4035 §3.1.6)

/** The OPT pseudo-RR we send (RFC 6891 §6.1.2), with the DO bit echoed (RFC 3225 §3). */
function optRecord(state: EdnsState, extendedRcode = 0): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(EDNS_UDP_SIZE, 3);
  b[5] = extendedRcode;
  if (state === 2) b[7] = 0x80;
  return b;
}
const OPT_BY_STATE: readonly Buffer[] = [Buffer.alloc(0), optRecord(1), optRecord(2)];

/** Encodes RRs with dns-packet, drops its header, and appends our OPT for `edns`. */
function encodeBody(answers: readonly Answer[], authorities: readonly Answer[], edns: EdnsState): WireBody {
  const packet = dnsPacket.encode({ answers: [...answers], authorities: [...authorities] });
  const opt = OPT_BY_STATE[edns]!;
  return {
    ancount: answers.length,
    nscount: authorities.length,
    arcount: edns === 0 ? 0 : 1,
    bytes: Buffer.concat([packet.subarray(12), opt]),
  };
}

function positiveBody(zone: CompiledZone, rrset: CompiledRRset, edns: EdnsState): WireBody {
  const wire = (rrset.wire ??= []);
  return (wire[edns] ??= encodeBody(rrsetAnswers(zone, rrset), [], edns));
}

/** NXDOMAIN and NODATA share one body: the SOA in the authority section (RFC 2308 §2.1, §2.2). */
function negativeBody(zone: CompiledZone, edns: EdnsState): WireBody {
  const wire = (zone.negativeWire ??= []);
  return (wire[edns] ??= encodeBody([], [negativeSoaAnswer(zone)], edns));
}

/** The RRset of `qtype`; for ANY the first one, the SOA at the apex (RFC 8482 §4.2). */
function findRRset(node: ZoneNode, qtype: number): CompiledRRset | undefined {
  if (qtype === RRType.ANY) return node[0];
  for (let i = 0; i < node.length; i++) if (node[i]!.type === qtype) return node[i];
  return undefined;
}

function udpLimit(q: ParsedQuery): number {
  return q.edns === 0 ? PLAIN_UDP_LIMIT : Math.min(q.udpSize, EDNS_UDP_SIZE); // RFC 6891 §6.2.5
}

function writeHeader(out: Buffer, q: ParsedQuery, flags: number, an: number, ns: number, ar: number): void {
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(QR | (q.flags & COPIED_FLAGS) | flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(an, 6);
  out.writeUInt16BE(ns, 8);
  out.writeUInt16BE(ar, 10);
}

/** Header, the question exactly as received (0x20 case kept), then `body`. */
function assemble(msg: Buffer, q: ParsedQuery, flags: number, body: WireBody): Buffer {
  const out = Buffer.allocUnsafe(q.questionEnd + body.bytes.length);
  writeHeader(out, q, flags, body.ancount, body.nscount, body.arcount);
  msg.copy(out, 12, 12, q.questionEnd);
  body.bytes.copy(out, q.questionEnd);
  return out;
}

/** Header and question only (plus OPT), for errors and for truncation (RFC 2181 §9, RFC 6891 §7). */
function bare(msg: Buffer, q: ParsedQuery, flags: number, extendedRcode = 0): Buffer {
  const opt = extendedRcode === 0 ? OPT_BY_STATE[q.edns]! : optRecord(q.edns, extendedRcode);
  const out = Buffer.allocUnsafe(q.questionEnd + opt.length);
  writeHeader(out, q, flags, 0, 0, opt.length === 0 ? 0 : 1);
  msg.copy(out, 12, 12, q.questionEnd);
  opt.copy(out, q.questionEnd);
  return out;
}

/** Header-only error response (counts zero) for messages whose question cannot be trusted. */
function headerOnly(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out.writeUInt16BE(QR | (msg.readUInt16BE(2) & COPIED_FLAGS) | rcode, 2);
  return out;
}

/**
 * A function answering one DNS message from the zone table: returns the response bytes, or null
 * when the message must be dropped. Never throws for any input bytes.
 */
export type Responder = (msg: Buffer, transport: DnsTransport) => Buffer | null;

/**
 * Builds the authoritative query answerer. Behaviour (RFC 1034 §4.3.2, RFC 1035 §4.1.1):
 * AA set, RA clear, RD/CD and the question (original case) echoed; positive answers carry only the
 * RRset — minimal responses: the apex NS RRset in the authority section is optional (RFC 1034
 * §4.3.2 step 3a; RFC 2181 §6.1 only requires it on referrals, which we never make) and no glue
 * is needed since our nameserver names are outside the zones served; NXDOMAIN and NODATA (empty non-terminals included, RFC 8020) carry the SOA with
 * TTL = min(SOA TTL, minimum) (RFC 2308 §3); REFUSED outside our zones and for other classes and
 * zone transfers (AXFR over TCP is answered by `createTransferResponder` when the server allows it); ANY gets one RRset (RFC 8482 §4.2); NOTIMP for opcodes other than QUERY; FORMERR
 * for malformed queries; BADVERS for EDNS versions other than 0 (RFC 6891 §6.1.3). Answers larger
 * than 512 bytes (no OPT) or min(advertised, 1232) bytes (OPT) over UDP are sent as header and
 * question with TC set (RFC 2181 §9, RFC 7766 §5). Encoded answers are cached per RRset and EDNS
 * state inside the compiled zone, so a `setZone` invalidates them by replacement. An unexpected
 * failure becomes SERVFAIL and is passed to `onError`.
 */
export function createResponder(
  table: ZoneTable,
  metrics: DnsMetricsRecorder = new DnsMetricsRecorder(),
  onError: (err: unknown) => void = () => {}, // by default the SERVFAIL answer is the only trace
): Responder {
  const parser = new QueryParser();
  return (msg, transport) => {
    let res: Answered | null;
    try {
      res = respond(table, parser, msg, transport);
    } catch (err) {
      // Errors become wire responses here and nowhere else (RFC 1035 §4.1.1 SERVFAIL).
      onError(err);
      res = msg.length < 12 ? null : { bytes: headerOnly(msg, Rcode.SERVFAIL), qtype: -1, rcode: Rcode.SERVFAIL, truncated: false };
    }
    if (res === null) metrics.dropped++;
    else metrics.recordAnswer(transport, res.qtype, res.rcode, res.truncated);
    return res?.bytes ?? null;
  };
}

/** A response and what the metrics need to know about it; `qtype` is -1 when unknown. */
interface Answered { bytes: Buffer; qtype: number; rcode: number; truncated: boolean }

function respond(table: ZoneTable, parser: QueryParser, msg: Buffer, transport: DnsTransport): Answered | null {
  const outcome = parser.parse(msg);
  if (outcome === 'drop') return null;
  if (outcome !== 'query') {
    const rcode = outcome === 'notimp' ? Rcode.NOTIMP : Rcode.FORMERR;
    return { bytes: headerOnly(msg, rcode), qtype: -1, rcode, truncated: false };
  }
  return answerParsed(table, msg, parser.query, transport);
}

function answerParsed(table: ZoneTable, msg: Buffer, q: ParsedQuery, transport: DnsTransport): Answered {
  if (q.edns !== 0 && q.ednsVersion !== 0) return { bytes: bare(msg, q, 0, 1), qtype: q.qtype, rcode: Rcode.BADVERS, truncated: false };
  const zone = q.qclass === 1 || q.qclass === 255 ? table.findZone(q.name) : undefined;
  if (zone === undefined || q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
    return { bytes: bare(msg, q, Rcode.REFUSED), qtype: q.qtype, rcode: Rcode.REFUSED, truncated: false };
  }
  const node = zone.nodes.get(q.name);
  const rrset = node === undefined ? undefined : findRRset(node, q.qtype);
  const rcode = node === undefined ? Rcode.NXDOMAIN : Rcode.NOERROR;
  const body = rrset !== undefined ? positiveBody(zone, rrset, q.edns) : negativeBody(zone, q.edns);
  const limit = transport === 'tcp' ? TCP_LIMIT : udpLimit(q);
  if (q.questionEnd + body.bytes.length > limit) {
    return { bytes: bare(msg, q, AA | TC | rcode), qtype: q.qtype, rcode, truncated: true };
  }
  return { bytes: assemble(msg, q, AA | rcode, body), qtype: q.qtype, rcode, truncated: false };
}

/**
 * Answers one DNS message against `table` (a convenience over {@link createResponder} for tests
 * and one-off use): the response bytes, or null when the message is dropped.
 */
export function answerQuery(table: ZoneTable, msg: Buffer, transport: DnsTransport): Buffer | null {
  return createResponder(table)(msg, transport);
}
