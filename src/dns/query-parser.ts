import type { EdnsState } from './zone-compile.ts';

/** The fields of a parsed query the responder needs; reused between queries by one parser. */
export interface ParsedQuery {
  id: number;
  /** The 16-bit flags word of the query header (RFC 1035 §4.1.1). */
  flags: number;
  /** Offset just after QCLASS: `msg.subarray(12, questionEnd)` is the question, case kept. */
  questionEnd: number;
  /**
   * QNAME lowercased (ASCII only, RFC 4343 §3), labels joined by `.`; `''` for the root. A `.`
   * byte inside a label becomes 0xFF so label boundaries stay unambiguous; such a name cannot
   * match any zone name (which are LDH/underscore only).
   */
  name: string;
  qtype: number;
  qclass: number;
  edns: EdnsState;
  /** EDNS version of the OPT record (RFC 6891 §6.1.3); 0 without OPT. */
  ednsVersion: number;
  /** Requestor's advertised UDP payload size; 512 without OPT (RFC 6891 §6.2.3). */
  udpSize: number;
}

/** What the server does with a message: answer it, drop it silently, or send an error rcode. */
export type ParseOutcome = 'query' | 'drop' | 'formerr' | 'notimp';

const HEADER_BYTES = 12;
const MAX_NAME_WIRE = 255;
const OPT_TYPE = 41;

/**
 * A bounds-checked reader of DNS queries (header, one question, the OPT record), built for the
 * hot path: no allocation besides the QNAME string. Every read is checked against the message
 * length, names may not use compression pointers in the question (no loops possible), and RRs in
 * the other sections are skipped by their RDLENGTH. Not re-entrant: one parser per server.
 */
export class QueryParser {
  readonly query: ParsedQuery = { id: 0, flags: 0, questionEnd: 0, name: '', qtype: 0, qclass: 0, edns: 0, ednsVersion: 0, udpSize: 512 };
  readonly #scratch = Buffer.allocUnsafe(MAX_NAME_WIRE);

  /**
   * Parses `msg` into {@link QueryParser.query}. Drops messages shorter than a header and
   * responses (QR=1); NOTIMP for opcodes other than QUERY; FORMERR when QDCOUNT != 1 or the
   * question or additional section is malformed (RFC 1035 §4.1.1, RFC 6891 §6.1.1).
   */
  parse(msg: Buffer): ParseOutcome {
    if (msg.length < HEADER_BYTES) return 'drop';
    const q = this.query;
    q.id = msg.readUInt16BE(0);
    q.flags = msg.readUInt16BE(2);
    if (q.flags & 0x8000) return 'drop';
    if (((q.flags >> 11) & 0xf) !== 0) return 'notimp';
    if (msg.readUInt16BE(4) !== 1) return 'formerr';
    const nameEnd = this.#readName(msg);
    if (nameEnd < 0 || nameEnd + 4 > msg.length) return 'formerr';
    q.qtype = msg.readUInt16BE(nameEnd);
    q.qclass = msg.readUInt16BE(nameEnd + 2);
    q.questionEnd = nameEnd + 4;
    return this.#readAdditional(msg) ? 'query' : 'formerr';
  }

  /** Reads the QNAME at offset 12 into `query.name`; returns the offset after it, or -1. */
  #readName(msg: Buffer): number {
    const s = this.#scratch;
    let off = HEADER_BYTES;
    let out = 0;
    for (let wire = 1; ; ) {
      if (off >= msg.length) return -1;
      const len = msg[off++]!;
      if (len === 0) break;
      wire += len + 1;
      // RFC 1035 §4.1.4: pointers (0xC0) and the reserved 0x40/0x80 label types are refused here;
      // §3.1: names are at most 255 octets on the wire.
      if (len > 63 || off + len > msg.length || wire > MAX_NAME_WIRE) return -1;
      if (out > 0) s[out++] = 0x2e;
      for (let i = 0; i < len; i++) {
        let c = msg[off + i]!;
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        else if (c === 0x2e) c = 0xff;
        s[out++] = c;
      }
      off += len;
    }
    this.query.name = out === 0 ? '' : s.toString('latin1', 0, out);
    return off;
  }

  /** Skips answer/authority RRs and reads the OPT record from the additional section. */
  #readAdditional(msg: Buffer): boolean {
    const q = this.query;
    q.edns = 0;
    q.ednsVersion = 0;
    q.udpSize = 512;
    let off = q.questionEnd;
    const skip = msg.readUInt16BE(6) + msg.readUInt16BE(8);
    for (let i = 0; i < skip; i++) {
      off = skipRR(msg, off);
      if (off < 0) return false;
    }
    const arcount = msg.readUInt16BE(10);
    let sawOpt = false;
    for (let i = 0; i < arcount; i++) {
      const start = off;
      off = skipRR(msg, off);
      if (off < 0) return false;
      const nameBytes = rrNameBytes(msg, start);
      if (msg.readUInt16BE(start + nameBytes) !== OPT_TYPE) continue;
      // RFC 6891 §6.1.1: one OPT only, owned by the root.
      if (sawOpt || nameBytes !== 1) return false;
      sawOpt = true;
      this.#readOpt(msg, start + 1);
    }
    return true;
  }

  #readOpt(msg: Buffer, at: number): void {
    const q = this.query;
    q.udpSize = Math.max(512, msg.readUInt16BE(at + 2));
    q.ednsVersion = msg[at + 5]!;
    q.edns = msg[at + 6]! & 0x80 ? 2 : 1;
  }
}

/** Length in bytes of the (possibly compressed) owner name at `off`; assumes it was bounds-checked. */
function rrNameBytes(msg: Buffer, off: number): number {
  let n = 0;
  for (;;) {
    const len = msg[off + n]!;
    if (len === 0) return n + 1;
    if (len >= 0xc0) return n + 2;
    n += len + 1;
  }
}

/**
 * Skips one RR (RFC 1035 §4.1.3) starting at `off`; returns the offset after it, or -1 if it
 * runs past the message or uses a reserved label type. A compression pointer ends the name, so
 * no pointer is ever followed.
 */
export function skipRR(msg: Buffer, off: number): number {
  for (let total = 0; ;) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) { off += 1; break; }
    if (len >= 0xc0) { off += 2; break; }
    if (len > 63) return -1;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return -1;
    off += len + 1;
  }
  if (off + 10 > msg.length) return -1;
  const end = off + 10 + msg.readUInt16BE(off + 8);
  return end > msg.length ? -1 : end;
}
