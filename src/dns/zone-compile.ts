import { isIPv4, isIPv6 } from 'node:net';
import type { Answer } from 'dns-packet';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import { RRType } from './rr-types.ts';
import type { RecordSpec, ZoneSpec } from './types.ts';

/** Encoded response sections of one answer, per EDNS state; filled lazily by the responder. */
export interface WireBody {
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  /** The RRs after the question section, the OPT record (if any) last. */
  readonly bytes: Buffer;
}

/** Index into the lazily filled wire caches: no OPT, OPT, OPT with the DO bit (RFC 3225 §3). */
export type EdnsState = 0 | 1 | 2;

/**
 * One RRset: records of one owner and type sharing the smallest TTL given (RFC 2181 §5.2), kept
 * as references into the zone spec and encoded lazily into `wire` (per EDNS state) on first use.
 */
export interface CompiledRRset {
  readonly owner: string;
  readonly type: number;
  readonly ttl: number;
  /** Distinct records (RFC 2181 §5); empty for the SOA, which is built from `ZoneSpec.soa`. */
  readonly records: readonly RecordSpec[];
  wire: WireBody[] | undefined;
}

/** The RRsets of one owner name (few, so an array); empty for an empty non-terminal (RFC 8020 §2). */
export type ZoneNode = readonly CompiledRRset[];

/** A validated zone turned into lookup maps; immutable apart from the lazy wire caches. */
export interface CompiledZone {
  readonly spec: ZoneSpec;
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Encoded negative (NXDOMAIN / NODATA) bodies per EDNS state: both carry the same SOA. */
  negativeWire: WireBody[] | undefined;
}

const EMPTY_NODE: ZoneNode = Object.freeze([]);
const ZONE_NAME = /^(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/;
const MAX_TTL = 0x7fffffff;
const MAX_TXT_BYTES = 16_000;

function invalid(apex: string, why: string): AppError {
  return new AppError(DnsErrors.INVALID_ZONE, `zone ${apex}: ${why}`, { details: { apex, why } });
}

/** Whether `name` is lowercase, dot-separated labels of `[a-z0-9_-]` and at most 253 octets. */
export function isZoneName(name: string): boolean {
  return name.length <= 253 && ZONE_NAME.test(name);
}

function checkTtl(apex: string, what: string, ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) throw invalid(apex, `${what}: TTL ${ttl} is not 0..2^31-1 (RFC 2181 §8)`);
}

function checkRecord(apex: string, r: RecordSpec): void {
  const where = `${r.type} ${r.name}`;
  if (!isZoneName(r.name)) throw invalid(apex, `${where}: bad owner name`);
  if (r.name !== apex && !r.name.endsWith(`.${apex}`)) throw invalid(apex, `${where}: not in the zone`);
  checkTtl(apex, where, r.ttlSeconds);
  switch (r.type) {
    case 'A': if (!isIPv4(r.address)) throw invalid(apex, `${where}: ${r.address} is not IPv4`); break;
    // A zone index (`fe80::1%eth0`) passes isIPv6 but has no wire form.
    case 'AAAA': if (!isIPv6(r.address) || r.address.includes('%')) throw invalid(apex, `${where}: ${r.address} is not IPv6`); break;
    case 'NS':
      if (r.name !== apex) throw invalid(apex, `${where}: NS only at the apex (no delegations are served)`);
      if (!isZoneName(r.host)) throw invalid(apex, `${where}: bad host ${r.host}`);
      break;
    case 'TXT': if (Buffer.byteLength(r.value) > MAX_TXT_BYTES) throw invalid(apex, `${where}: value over ${MAX_TXT_BYTES} bytes`); break;
    case 'CAA':
      if (!Number.isInteger(r.flags) || r.flags < 0 || r.flags > 255) throw invalid(apex, `${where}: flags not 0..255`);
      if (!['issue', 'issuewild', 'iodef'].includes(r.tag)) throw invalid(apex, `${where}: unknown tag`);
      if (Buffer.byteLength(r.value) > 1000) throw invalid(apex, `${where}: value too long`);
      break;
    default: { const never: never = r; throw invalid(apex, `unsupported record ${JSON.stringify(never)}`); }
  }
}

/** Splits a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value);
  if (bytes.length === 0) return [bytes];
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts;
}

/** The dns-packet form of one RRset, for encoding. */
export function rrsetAnswers(zone: CompiledZone, rrset: CompiledRRset): Answer[] {
  if (rrset.type === RRType.SOA) return [soaAnswer(zone.spec, rrset.ttl)];
  const base = { name: rrset.owner, ttl: rrset.ttl, class: 'IN' as const };
  return rrset.records.map((r): Answer => {
    switch (r.type) {
      case 'A': return { ...base, type: 'A', data: r.address };
      case 'AAAA': return { ...base, type: 'AAAA', data: r.address };
      case 'NS': return { ...base, type: 'NS', data: r.host };
      case 'TXT': return { ...base, type: 'TXT', data: txtStrings(r.value) };
      case 'CAA': return { ...base, type: 'CAA', data: { flags: r.flags, tag: r.tag, value: r.value } };
    }
  });
}

/** The apex SOA with TTL = min(SOA TTL, SOA minimum), for negative answers (RFC 2308 §3). */
export function negativeSoaAnswer(zone: CompiledZone): Answer {
  const soa = zone.spec.soa;
  return soaAnswer(zone.spec, Math.min(soa.ttlSeconds, soa.minimumSeconds));
}

function soaAnswer(spec: ZoneSpec, ttl: number): Answer {
  const s = spec.soa;
  return {
    name: spec.apex, type: 'SOA', class: 'IN', ttl,
    data: { mname: s.mname, rname: s.rname, serial: spec.serial, refresh: s.refreshSeconds, retry: s.retrySeconds, expire: s.expireSeconds, minimum: s.minimumSeconds },
  };
}

function checkSoa(spec: ZoneSpec): void {
  const { apex, soa } = spec;
  if (!Number.isInteger(spec.serial) || spec.serial < 0 || spec.serial > 0xffffffff) throw invalid(apex, 'serial is not a uint32');
  if (!isZoneName(soa.mname) || !isZoneName(soa.rname)) throw invalid(apex, 'SOA mname/rname is not a valid name');
  checkTtl(apex, 'SOA TTL', soa.ttlSeconds);
  checkTtl(apex, 'SOA refresh', soa.refreshSeconds);
  checkTtl(apex, 'SOA retry', soa.retrySeconds);
  checkTtl(apex, 'SOA expire', soa.expireSeconds);
  checkTtl(apex, 'SOA minimum', soa.minimumSeconds);
}

/** The RDATA identity of a record, for dropping duplicates (RFC 2181 §5). */
function rdataKey(r: RecordSpec): string {
  switch (r.type) {
    case 'A': case 'AAAA': return r.address;
    case 'NS': return r.host;
    case 'TXT': return r.value;
    case 'CAA': return `${r.flags} ${r.tag} ${r.value}`;
  }
}

interface MutableRRset { owner: string; type: number; ttl: number; records: RecordSpec[]; keys: string[] }

/** Validates records and groups them by owner, then type, without duplicates. */
function groupRecords(spec: ZoneSpec): Map<string, MutableRRset[]> {
  const byName = new Map<string, MutableRRset[]>();
  for (const r of spec.records) {
    checkRecord(spec.apex, r);
    let node = byName.get(r.name);
    if (!node) byName.set(r.name, (node = []));
    const type = RRType[r.type];
    let set = node.find((s) => s.type === type);
    if (!set) node.push((set = { owner: r.name, type, ttl: r.ttlSeconds, records: [], keys: [] }));
    const key = rdataKey(r);
    if (set.keys.includes(key)) continue;
    set.keys.push(key);
    set.records.push(r);
    set.ttl = Math.min(set.ttl, r.ttlSeconds);
  }
  return byName;
}

const compileNode = (sets: MutableRRset[]): ZoneNode =>
  sets.map((s) => ({ owner: s.owner, type: s.type, ttl: s.ttl, records: s.records, wire: undefined }));

/**
 * Validates a zone and builds its lookup map: one node per owner name (the SOA first at the apex),
 * plus an empty node for every empty non-terminal between a record and the apex.
 * Throws `ERR_DNS_INVALID_ZONE` on a bad name, address, TTL, an NS record below the apex, or
 * an apex without NS records (RFC 1034 §4.2.1). Names are plain labels: a `*` label is refused,
 * as wildcards (RFC 4592) are not served. Keeps references into `spec`, which must not change.
 */
export function compileZone(spec: ZoneSpec): CompiledZone {
  const apex = spec.apex;
  if (!isZoneName(apex)) throw invalid(String(apex), 'bad apex name');
  checkSoa(spec);
  const grouped = groupRecords(spec);
  const apexSets = grouped.get(apex) ?? [];
  if (!apexSets.some((s) => s.type === RRType.NS)) throw invalid(apex, 'the apex has no NS records');
  apexSets.unshift({ owner: apex, type: RRType.SOA, ttl: spec.soa.ttlSeconds, records: [], keys: [] });

  const nodes = new Map<string, ZoneNode>();
  for (const [name, sets] of grouped) {
    nodes.set(name, compileNode(sets));
    for (let n = parentName(name); n !== undefined && n.length > apex.length; n = parentName(n)) {
      if (!nodes.has(n) && !grouped.has(n)) nodes.set(n, EMPTY_NODE);
    }
  }
  return { spec, nodes, negativeWire: undefined };
}

function parentName(name: string): string | undefined {
  const i = name.indexOf('.');
  return i < 0 ? undefined : name.slice(i + 1);
}
