/**
 * One resource record of a zone. Names are absolute, lowercase, without a trailing dot; TTLs are
 * seconds (0..2^31-1, RFC 2181 §8). Records of one name and type form an RRset whose TTL is the
 * smallest TTL given (RFC 2181 §5.2); identical records are served once (RFC 2181 §5).
 */
export type RecordSpec =
  | { readonly name: string; readonly type: 'A'; readonly ttlSeconds: number; readonly address: string }
  | { readonly name: string; readonly type: 'AAAA'; readonly ttlSeconds: number; readonly address: string }
  /** Only at the zone apex: this server answers for the whole zone and makes no referrals. */
  | { readonly name: string; readonly type: 'NS'; readonly ttlSeconds: number; readonly host: string }
  /** `value` over 255 bytes is split into several character-strings on the wire (RFC 1035 §3.3.14). */
  | { readonly name: string; readonly type: 'TXT'; readonly ttlSeconds: number; readonly value: string }
  /** RFC 8659 §4: `flags` 0..255 (128 = issuer critical). */
  | {
      readonly name: string;
      readonly type: 'CAA';
      readonly ttlSeconds: number;
      readonly flags: number;
      readonly tag: 'issue' | 'issuewild' | 'iodef';
      readonly value: string;
    };

/** The SOA record of a zone (RFC 1035 §3.3.13); all durations in seconds. */
export interface SoaSpec {
  /** Primary nameserver host name. */
  readonly mname: string;
  /** Mailbox of the person responsible, written as a name (`hostmaster.example.test`). */
  readonly rname: string;
  readonly refreshSeconds: number;
  readonly retrySeconds: number;
  readonly expireSeconds: number;
  /** Upper bound of negative caching (RFC 2308 §4). */
  readonly minimumSeconds: number;
  /** TTL of the SOA record itself. */
  readonly ttlSeconds: number;
}

/** A whole zone as served: apex, serial, SOA and every record (the apex NS records included). */
export interface ZoneSpec {
  readonly apex: string;
  /** SOA serial, uint32 (RFC 1982 arithmetic is the caller's concern). */
  readonly serial: number;
  readonly soa: SoaSpec;
  readonly records: readonly RecordSpec[];
}

/** Where a DNS server listens or where a query is sent: an IP literal and a port. */
export interface DnsListen {
  readonly host: string;
  readonly port: number;
}

/** The pino-like logger the DNS server writes to; `msg` follows the structured fields. */
export interface DnsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The transport a query arrived on; it decides the response size limit (RFC 1035 §4.2). */
export type DnsTransport = 'udp' | 'tcp';
