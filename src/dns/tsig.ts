import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import { skipRR } from './query-parser.ts';
import { RRType } from './rr-types.ts';
import { isZoneName } from './zone-compile.ts';

/**
 * A TSIG shared secret (RFC 8945 §6): the key's name (lowercase, no trailing dot) and its secret
 * bytes. The algorithm is always HMAC-SHA256 (`hmac-sha256.`, RFC 8945 §6 "MUST implement").
 */
export interface TsigKey {
  readonly name: string;
  readonly secret: Buffer;
}

/** The TSIG algorithm name we sign and verify with (RFC 8945 §6). */
export const TSIG_ALGORITHM = 'hmac-sha256';

/** TSIG error codes carried in the TSIG RR's Error field (RFC 8945 §3). */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** Default Fudge: how far apart the two clocks may be, in seconds (RFC 8945 §10: 300 recommended). */
export const TSIG_FUDGE_SECONDS = 300;
const MAC_BYTES = 32;
const TSIG_CLASS_ANY = 255;

/**
 * Parses `name:base64secret` (the `-y` form of dig, minus the algorithm) into a {@link TsigKey}.
 * A leading `hmac-sha256:` is accepted. Throws `ERR_DNS_BAD_TSIG_KEY` on a bad name or a secret
 * shorter than 16 bytes (RFC 8945 §6.1 advises at least the hash length; 16 is the floor here).
 */
export function parseTsigKey(text: string): TsigKey {
  const parts = text.split(':');
  if (parts.length === 3 && parts[0]!.toLowerCase() === TSIG_ALGORITHM) parts.shift();
  const name = (parts[0] ?? '').toLowerCase().replace(/\.$/, '');
  const secret = Buffer.from(parts[1] ?? '', 'base64');
  if (parts.length !== 2 || !isZoneName(name) || secret.length < 16) {
    throw new AppError(DnsErrors.BAD_TSIG_KEY, 'a TSIG key is written name:base64secret with a secret of at least 16 bytes', { details: { name } });
  }
  return { name, secret };
}

/** Encodes a name as uncompressed, lowercase wire labels (RFC 8945 §4.3.3 canonical form). */
export function nameWire(name: string): Buffer {
  const labels = name === '' ? [] : name.toLowerCase().split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * Reads a possibly compressed name at `off`: the lowercase dotted name and the offset after it
 * in the message, or undefined when it is malformed (out of bounds, reserved label type, a
 * pointer loop or over 255 octets).
 */
export function readName(msg: Buffer, off: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let end = -1;
  let wire = 1;
  for (let hops = 0; hops < 64; ) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) return { name: labels.join('.'), end: end < 0 ? off + 1 : end };
    if (len >= 0xc0) {
      if (off + 1 >= msg.length) return undefined;
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1]!;
      hops++;
      continue;
    }
    wire += len + 1;
    if (len > 63 || off + 1 + len > msg.length || wire > 255) return undefined;
    labels.push(msg.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  return undefined;
}

function uint48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(Math.max(0, Math.floor(seconds)), 0, 6);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** What {@link signMessage} and {@link verifyMessage} chain: the MAC of the previous message. */
export interface TsigChain {
  /** MAC of the request this message answers (RFC 8945 §4.3.1); digested with its length. */
  readonly requestMac?: Buffer;
  /** MAC of the previous message of a multi-message response: only the timers are digested (RFC 8945 §5.3.1). */
  readonly priorMac?: Buffer;
}

interface TsigFields {
  readonly timeSigned: number;
  readonly fudge: number;
  readonly error: number;
  readonly otherData: Buffer;
}

/** The digest input of RFC 8945 §4.3: chained MAC, the message without its TSIG, then the variables. */
function digest(key: TsigKey, unsigned: Buffer, f: TsigFields, chain: TsigChain): Buffer {
  const h = createHmac('sha256', key.secret);
  const prior = chain.priorMac ?? chain.requestMac;
  if (prior !== undefined) h.update(u16(prior.length)).update(prior);
  h.update(unsigned);
  if (chain.priorMac !== undefined) {
    h.update(uint48(f.timeSigned)).update(u16(f.fudge)); // §5.3.1: TSIG timers only
  } else {
    h.update(nameWire(key.name)).update(u16(TSIG_CLASS_ANY)).update(Buffer.alloc(4)).update(nameWire(TSIG_ALGORITHM));
    h.update(uint48(f.timeSigned)).update(u16(f.fudge)).update(u16(f.error)).update(u16(f.otherData.length)).update(f.otherData);
  }
  return h.digest();
}

/** The TSIG RR (RFC 8945 §4.2), owner and algorithm uncompressed. */
function tsigRecord(key: TsigKey, originalId: number, f: TsigFields, mac: Buffer): Buffer {
  const rdata = Buffer.concat([
    nameWire(TSIG_ALGORITHM), uint48(f.timeSigned), u16(f.fudge), u16(mac.length), mac,
    u16(originalId), u16(f.error), u16(f.otherData.length), f.otherData,
  ]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(RRType.TSIG, 0);
  head.writeUInt16BE(TSIG_CLASS_ANY, 2);
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameWire(key.name), head, rdata]);
}

/** Options of {@link signMessage}. */
export interface SignOptions extends TsigChain {
  /** Seconds since the epoch. */
  readonly nowSeconds: number;
  /** TSIG Error field (default 0); BADTIME responses carry the server time as other data (§5.2.3). */
  readonly error?: number;
  readonly otherData?: Buffer;
}

/**
 * Appends a TSIG RR to `msg` (a complete message without one) and increments ARCOUNT
 * (RFC 8945 §4.3). Returns the signed bytes and the MAC, which the caller chains into the next
 * message or uses to verify the response.
 */
export function signMessage(msg: Buffer, key: TsigKey, opts: SignOptions): { bytes: Buffer; mac: Buffer } {
  const f: TsigFields = { timeSigned: opts.nowSeconds, fudge: TSIG_FUDGE_SECONDS, error: opts.error ?? 0, otherData: opts.otherData ?? Buffer.alloc(0) };
  const mac = digest(key, msg, f, opts);
  const out = Buffer.concat([msg, tsigRecord(key, msg.readUInt16BE(0), f, mac)]);
  out.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  return { bytes: out, mac };
}

/** The TSIG RR of a message, located and decoded, and the message as it was before signing. */
export interface FoundTsig {
  readonly keyName: string;
  readonly algorithm: string;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly fields: TsigFields;
  /** The message without the TSIG RR, ARCOUNT decremented and the original ID restored (§4.3.2). */
  readonly unsigned: Buffer;
}

/**
 * Finds the TSIG RR of `msg`: undefined when there is none, `'formerr'` when the message or the
 * TSIG RR is malformed or a TSIG is not the last additional record (RFC 8945 §5.1).
 */
export function findTsig(msg: Buffer): FoundTsig | undefined | 'formerr' {
  if (msg.length < 12) return 'formerr';
  let off = 12;
  for (let i = msg.readUInt16BE(4); i > 0; i--) {
    const n = readName(msg, off);
    if (n === undefined || n.end + 4 > msg.length) return 'formerr';
    off = n.end + 4;
  }
  const total = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  let start = -1;
  for (let i = 0; i < total; i++) {
    const at = off;
    off = skipRR(msg, off);
    if (off < 0) return 'formerr';
    const owner = readName(msg, at);
    if (owner === undefined) return 'formerr';
    if (msg.readUInt16BE(owner.end) !== RRType.TSIG) continue;
    if (i !== total - 1 || msg.readUInt16BE(10) === 0) return 'formerr';
    start = at;
  }
  return start < 0 ? undefined : decodeTsig(msg, start);
}

function decodeTsig(msg: Buffer, start: number): FoundTsig | 'formerr' {
  const owner = readName(msg, start)!;
  const rdStart = owner.end + 10;
  const rdEnd = rdStart + msg.readUInt16BE(owner.end + 8);
  const alg = readName(msg, rdStart);
  if (alg === undefined || alg.end + 10 > rdEnd) return 'formerr';
  let p = alg.end;
  const timeSigned = msg.readUIntBE(p, 6);
  const fudge = msg.readUInt16BE(p + 6);
  const macLen = msg.readUInt16BE(p + 8);
  p += 10;
  if (p + macLen + 6 > rdEnd) return 'formerr';
  const mac = Buffer.from(msg.subarray(p, p + macLen));
  p += macLen;
  const originalId = msg.readUInt16BE(p);
  const error = msg.readUInt16BE(p + 2);
  const otherLen = msg.readUInt16BE(p + 4);
  if (p + 6 + otherLen !== rdEnd) return 'formerr';
  const otherData = Buffer.from(msg.subarray(p + 6, rdEnd));
  const unsigned = Buffer.from(msg.subarray(0, start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(msg.readUInt16BE(10) - 1, 10);
  return { keyName: owner.name, algorithm: alg.name, mac, originalId, error, fields: { timeSigned, fudge, error, otherData }, unsigned };
}

/** Outcome of {@link verifyMessage}. */
export type TsigVerdict =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'formerr' }
  | { readonly kind: 'valid'; readonly key: TsigKey; readonly mac: Buffer; readonly error: number }
  /** BADKEY / BADSIG: the answer is unsigned (§5.2.1, §5.2.2); BADTIME: signed, with `mac` (§5.2.3). */
  | { readonly kind: 'invalid'; readonly error: number; readonly keyName: string; readonly key?: TsigKey; readonly mac?: Buffer };

/**
 * Verifies the TSIG of `msg` against `keys` (RFC 8945 §5.2): key name and algorithm known
 * (else BADKEY), full-length MAC that matches in constant time (else BADSIG; truncated MACs are
 * not accepted), then Time Signed within Fudge of `nowSeconds` (else BADTIME). `chain` is empty
 * for a request, holds the request MAC for its response, and the prior MAC for later messages.
 */
export function verifyMessage(msg: Buffer, keys: readonly TsigKey[], nowSeconds: number, chain: TsigChain = {}): TsigVerdict {
  const found = findTsig(msg);
  if (found === undefined) return { kind: 'unsigned' };
  if (found === 'formerr') return { kind: 'formerr' };
  const key = keys.find((k) => k.name === found.keyName);
  if (key === undefined || found.algorithm !== TSIG_ALGORITHM) return { kind: 'invalid', error: TsigError.BADKEY, keyName: found.keyName };
  const expected = digest(key, found.unsigned, found.fields, chain);
  if (found.mac.length !== MAC_BYTES || !timingSafeEqual(found.mac, expected)) {
    return { kind: 'invalid', error: TsigError.BADSIG, keyName: found.keyName };
  }
  if (Math.abs(nowSeconds - found.fields.timeSigned) > found.fields.fudge) {
    return { kind: 'invalid', error: TsigError.BADTIME, keyName: found.keyName, key, mac: found.mac };
  }
  return { kind: 'valid', key, mac: found.mac, error: found.error };
}

/** The unsigned TSIG RR of a BADKEY/BADSIG answer: MAC size 0, the error set (RFC 8945 §5.2.1). */
export function unsignedTsigError(keyName: string, originalId: number, error: number, nowSeconds: number): Buffer {
  const f: TsigFields = { timeSigned: nowSeconds, fudge: TSIG_FUDGE_SECONDS, error, otherData: Buffer.alloc(0) };
  return tsigRecord({ name: keyName, secret: Buffer.alloc(0) }, originalId, f, Buffer.alloc(0));
}

/** 48-bit big-endian seconds, the BADTIME other data (RFC 8945 §5.2.3). */
export function timeOtherData(nowSeconds: number): Buffer {
  return uint48(nowSeconds);
}
