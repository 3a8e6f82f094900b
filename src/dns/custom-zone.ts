import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '../core/index.ts';
import { DnsErrors } from './errors.ts';
import type { RecordSpec, ZoneSpec } from './types.ts';
import { isZoneName } from './zone-compile.ts';

/** What a workspace's delegated zone is made of; names lowercase, without a trailing dot. */
export interface CustomZoneInput {
  /** The delegated subdomain, e.g. `cdp.shop.test`. */
  readonly apex: string;
  /** SOA serial (uint32); bump it on every change. */
  readonly serial: number;
  /** Our nameserver host names, in order; the first is the SOA MNAME. At least one. */
  readonly nameservers: readonly string[];
  /** Hosts at or below the apex that get A/AAAA to the edge, e.g. `cdn.cdp.shop.test`. */
  readonly hosts: readonly string[];
  readonly edgeIPv4: readonly string[];
  readonly edgeIPv6: readonly string[];
  /** CAA `0 issue "<issuer>"` at the apex per entry (RFC 8659 §4.2); empty → no CAA records. */
  readonly caaIssuers: readonly string[];
  /** Open DNS-01 challenges (`_acme-challenge.<host>`, RFC 8555 §8.4). */
  readonly txt: readonly { readonly name: string; readonly value: string }[];
  /** SOA RNAME, e.g. `hostmaster.firstparty.test`. */
  readonly hostmaster: string;
  /** TTL of NS, A, AAAA, CAA and SOA records (default 300 s). */
  readonly ttlSeconds?: number;
  /** TTL of challenge TXT records (default 30 s; keep it within 0..60). */
  readonly txtTtlSeconds?: number;
  /** SOA MINIMUM, the negative-caching TTL (default 60 s, RFC 2308 §4). */
  readonly negativeTtlSeconds?: number;
}

/** SOA timers of custom zones (RFC 1912 §2.2 ranges); no secondaries transfer them. */
const SOA_TIMERS = { refreshSeconds: 3600, retrySeconds: 600, expireSeconds: 1_209_600 } as const;

function invalid(apex: string, why: string): AppError {
  return new AppError(DnsErrors.INVALID_ZONE, `custom zone ${apex}: ${why}`, { details: { apex, why } });
}

function checkInput(input: CustomZoneInput): void {
  const { apex } = input;
  const inZone = (n: string): boolean => isZoneName(n) && (n === apex || n.endsWith(`.${apex}`));
  if (!isZoneName(apex)) throw invalid(apex, 'bad apex');
  if (input.nameservers.length === 0) throw invalid(apex, 'no nameservers');
  for (const h of input.hosts) if (!inZone(h)) throw invalid(apex, `host ${h} is not in the zone`);
  for (const t of input.txt) if (!inZone(t.name)) throw invalid(apex, `TXT ${t.name} is not in the zone`);
  for (const ip of input.edgeIPv4) if (!isIPv4(ip)) throw invalid(apex, `${ip} is not IPv4`);
  for (const ip of input.edgeIPv6) if (!isIPv6(ip)) throw invalid(apex, `${ip} is not IPv6`);
}

/**
 * Builds the zone served for one custom domain (DESIGN "Host layout"): SOA and NS at the apex,
 * CAA `0 issue` per issuer at the apex, A/AAAA to the edge for every host, and the open ACME
 * challenge TXT records. Throws `ERR_DNS_INVALID_ZONE` for a name outside the apex, a bad
 * address or no nameservers; `ZoneTable.setZone` validates the rest.
 */
export function buildCustomDomainZone(input: CustomZoneInput): ZoneSpec {
  checkInput(input);
  const { apex } = input;
  const ttl = input.ttlSeconds ?? 300;
  const txtTtl = input.txtTtlSeconds ?? 30;
  const records: RecordSpec[] = [
    ...input.nameservers.map((host): RecordSpec => ({ name: apex, type: 'NS', ttlSeconds: ttl, host })),
    ...input.caaIssuers.map((value): RecordSpec => ({ name: apex, type: 'CAA', ttlSeconds: ttl, flags: 0, tag: 'issue', value })),
  ];
  for (const name of input.hosts) {
    for (const address of input.edgeIPv4) records.push({ name, type: 'A', ttlSeconds: ttl, address });
    for (const address of input.edgeIPv6) records.push({ name, type: 'AAAA', ttlSeconds: ttl, address });
  }
  for (const t of input.txt) records.push({ name: t.name, type: 'TXT', ttlSeconds: txtTtl, value: t.value });
  return {
    apex,
    serial: input.serial,
    soa: { mname: input.nameservers[0]!, rname: input.hostmaster, ...SOA_TIMERS, minimumSeconds: input.negativeTtlSeconds ?? 60, ttlSeconds: ttl },
    records,
  };
}
