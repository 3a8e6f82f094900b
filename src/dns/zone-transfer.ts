import { BlockList, isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import type { DnsMetricsRecorder } from './metrics.ts';
import { QueryParser, type ParsedQuery } from './query-parser.ts';
import { Rcode, RRType } from './rr-types.ts';
import { signMessage, timeOtherData, TsigError, unsignedTsigError, verifyMessage, type TsigKey, type TsigVerdict } from './tsig.ts';
import { rrsetAnswers, type CompiledZone } from './zone-compile.ts';
import type { ZoneTable } from './zone-table.ts';

/** Who may transfer zones (RFC 5936 §6: transfers are restricted by local policy). */
export interface TransferPolicy {
  /** IP addresses or CIDR prefixes (`192.0.2.0/24`, `2001:db8::/48`) allowed; empty → nobody. */
  readonly allow: readonly string[];
  /** When non-empty, a transfer request must also be TSIG-signed with one of these keys (RFC 8945). */
  readonly tsigKeys: readonly TsigKey[];
  /** Largest transfer message in bytes before the next one starts (default 16 384; at most 65 535). */
  readonly maxMessageBytes?: number;
  /** Clock for TSIG, seconds since the epoch (default: the system clock). */
  readonly nowSeconds?: () => number;
}

/**
 * Answers zone transfer requests arriving over TCP: the response messages in order, or null when
 * `msg` is not a transfer request (the caller then answers it as an ordinary query).
 */
export type TransferResponder = (msg: Buffer, remoteAddress: string) => Buffer[] | null;

const NOTAUTH = 9; // RFC 2136 §2.2 / RFC 8945 §5.2
const QR = 0x8000;
const AA = 0x0400;
const TSIG_ROOM = 200; // key name (≤ 255 in theory; ours are short) plus the fixed TSIG fields and MAC

/**
 * Builds an address matcher from `allow`. Throws `ERR_DNS_BAD_TRANSFER_ACL` on an entry that is
 * neither an IP address nor a CIDR prefix.
 */
export function compileAllowList(allow: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of allow) {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= max))) {
      throw new AppError(DnsErrors.BAD_TRANSFER_ACL, `"${entry}" is not an IP address or CIDR prefix`, { details: { entry } });
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, prefix, type);
  }
  return (address) => {
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * Builds the AXFR responder (RFC 5936). Requests are AXFR, or IXFR answered with the whole zone
 * in AXFR form (RFC 1995 §4), in class IN for the apex of a zone we serve. Policy, checked in
 * this order: a malformed TSIG → FORMERR; an unknown key or a bad MAC → NOTAUTH with an unsigned
 * TSIG error (RFC 8945 §5.2.1-2); a stale time → NOTAUTH, signed, BADTIME (§5.2.3); an address
 * outside `allow`, or no valid TSIG while keys are configured → REFUSED (RFC 5936 §6); a name that
 * is not one of our apexes → NOTAUTH. A transfer is the SOA, every other RRset, then the SOA again
 * (RFC 5936 §2.2), split over messages of at most `maxMessageBytes`, the question only in the first
 * (§2.2.1); each message is signed when the request was, chaining MACs (RFC 8945 §5.3.1).
 */
export function createTransferResponder(table: ZoneTable, policy: TransferPolicy, metrics?: DnsMetricsRecorder): TransferResponder {
  const parser = new QueryParser();
  const allowed = compileAllowList(policy.allow);
  const now = policy.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const maxBytes = Math.min(policy.maxMessageBytes ?? 16_384, 65_535);
  return (msg, remoteAddress) => {
    if (parser.parse(msg) !== 'query') return null;
    const q = parser.query;
    if (q.qtype !== RRType.AXFR && q.qtype !== RRType.IXFR) return null;
    const out = answerTransfer(table, { msg, q, remoteAddress, allowed, keys: policy.tsigKeys, now: now(), maxBytes });
    metrics?.recordAnswer('tcp', q.qtype, out.rcode, false);
    return out.messages;
  };
}

interface TransferRequest {
  readonly msg: Buffer;
  readonly q: ParsedQuery;
  readonly remoteAddress: string;
  readonly allowed: (address: string) => boolean;
  readonly keys: readonly TsigKey[];
  readonly now: number;
  readonly maxBytes: number;
}

function answerTransfer(table: ZoneTable, r: TransferRequest): { messages: Buffer[]; rcode: number } {
  const verdict = verifyMessage(r.msg, r.keys, r.now);
  if (verdict.kind === 'formerr') return single(r, Rcode.FORMERR, verdict);
  if (verdict.kind === 'invalid') return single(r, NOTAUTH, verdict);
  const signedOk = verdict.kind === 'valid';
  if (!r.allowed(r.remoteAddress) || (r.keys.length > 0 && !signedOk)) return single(r, Rcode.REFUSED, verdict);
  const zone = r.q.qclass === 1 ? table.findZone(r.q.name) : undefined;
  if (zone === undefined || zone.spec.apex !== r.q.name) return single(r, NOTAUTH, verdict);
  const bodies = packRecords(zoneRecords(zone), r.maxBytes - r.q.questionEnd - TSIG_ROOM);
  let mac = signedOk ? verdict.mac : undefined;
  const messages = bodies.map((body, i) => {
    const plain = transferMessage(r, body, i === 0);
    if (!signedOk) return plain;
    const signed = signMessage(plain, verdict.key, i === 0 ? { nowSeconds: r.now, requestMac: mac } : { nowSeconds: r.now, priorMac: mac });
    mac = signed.mac;
    return signed.bytes;
  });
  return { messages, rcode: Rcode.NOERROR };
}

/** The SOA, every other RR of the zone, then the SOA again, each encoded on its own (RFC 5936 §2.2). */
function zoneRecords(zone: CompiledZone): Buffer[] {
  const encode = (answers: dnsPacket.Answer[]): Buffer[] => answers.map((a) => dnsPacket.encode({ answers: [a] }).subarray(12));
  let soa: Buffer | undefined;
  const rest: Buffer[] = [];
  for (const node of zone.nodes.values()) {
    for (const rrset of node) {
      if (rrset.type === RRType.SOA) soa = encode(rrsetAnswers(zone, rrset))[0];
      else rest.push(...encode(rrsetAnswers(zone, rrset)));
    }
  }
  return [soa!, ...rest, soa!];
}

/** Groups encoded RRs into message bodies of at most `budget` bytes (one RR per body at least). */
function packRecords(rrs: readonly Buffer[], budget: number): { count: number; bytes: Buffer }[] {
  const bodies: { count: number; bytes: Buffer }[] = [];
  let batch: Buffer[] = [];
  let size = 0;
  for (const rr of rrs) {
    if (batch.length > 0 && size + rr.length > budget) {
      bodies.push({ count: batch.length, bytes: Buffer.concat(batch) });
      batch = [];
      size = 0;
    }
    batch.push(rr);
    size += rr.length;
  }
  if (batch.length > 0) bodies.push({ count: batch.length, bytes: Buffer.concat(batch) });
  return bodies;
}

function header(r: TransferRequest, rcode: number, qdcount: number, ancount: number, arcount: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(r.q.id, 0);
  h.writeUInt16BE(QR | AA | (r.q.flags & 0x0100) | rcode, 2); // RD echoed (RFC 1035 §4.1.1)
  h.writeUInt16BE(qdcount, 4);
  h.writeUInt16BE(ancount, 6);
  h.writeUInt16BE(arcount, 10);
  return h;
}

function transferMessage(r: TransferRequest, body: { count: number; bytes: Buffer }, first: boolean): Buffer {
  const question = first ? r.msg.subarray(12, r.q.questionEnd) : Buffer.alloc(0);
  return Buffer.concat([header(r, Rcode.NOERROR, first ? 1 : 0, body.count, 0), question, body.bytes]);
}

/** One error message with the question, signed or carrying a TSIG error as RFC 8945 §5.2-5.4 say. */
function single(r: TransferRequest, rcode: number, verdict: TsigVerdict): { messages: Buffer[]; rcode: number } {
  const withQuestion = rcode !== Rcode.FORMERR;
  const plain = Buffer.concat([header(r, rcode, withQuestion ? 1 : 0, 0, 0), withQuestion ? r.msg.subarray(12, r.q.questionEnd) : Buffer.alloc(0)]);
  if (verdict.kind === 'valid') return { messages: [signMessage(plain, verdict.key, { nowSeconds: r.now, requestMac: verdict.mac }).bytes], rcode };
  if (verdict.kind !== 'invalid') return { messages: [plain], rcode };
  if (verdict.error === TsigError.BADTIME && verdict.key !== undefined) {
    const opts = { nowSeconds: r.now, requestMac: verdict.mac, error: TsigError.BADTIME, otherData: timeOtherData(r.now) };
    return { messages: [signMessage(plain, verdict.key, opts).bytes], rcode };
  }
  const tsig = unsignedTsigError(verdict.keyName, r.q.id, verdict.error, r.now);
  const out = Buffer.concat([plain, tsig]);
  out.writeUInt16BE(1, 10);
  return { messages: [out], rcode };
}
