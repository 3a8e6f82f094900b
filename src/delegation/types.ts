import type { Hostname } from '../core/index.ts';

/** Where a DNS server can be asked: an IP literal and a port. */
export interface DnsEndpoint {
  readonly host: string;
  readonly port: number;
}

/** A subdomain we expect to be delegated to us, and how to reach our own authoritative servers. */
export interface DelegationTarget {
  /** The delegated zone, e.g. `cdp.shop.com`. */
  readonly zone: Hostname;
  /** Our NS set: the exact host names the parent zone must list (compared case-insensitively). */
  readonly nameservers: readonly Hostname[];
  /** Where our authoritative DNS listens; each must answer `SOA <zone>` authoritatively. */
  readonly ourServers: readonly DnsEndpoint[];
}

/**
 * Why a zone is not (yet) delegated to us:
 * - `parent_unreachable`: the parent zone or its authoritative servers could not be found or did not answer;
 * - `not_delegated`: the parent has no NS records for the zone;
 * - `wrong_nameservers`: the parent lists none of our nameservers (or some of ours plus others);
 * - `extra_nameservers`: the parent lists all of ours plus others;
 * - `missing_nameservers`: the parent lists only some of ours;
 * - `our_servers_not_answering`: delegation is right but one of our servers gave no authoritative SOA;
 * - `resolver_error`: the configured recursive resolver did not answer usefully.
 */
export type DelegationReason =
  | 'parent_unreachable'
  | 'not_delegated'
  | 'wrong_nameservers'
  | 'extra_nameservers'
  | 'missing_nameservers'
  | 'our_servers_not_answering'
  | 'resolver_error';

/**
 * The outcome of one delegation check. `message` says what to change (which NS records to add or
 * remove) or what failed; `observedNameservers` is the NS set the parent served, when one was read;
 * `checkedAt` is the clock's time (ms since the epoch) when the verdict was reached.
 */
export type DelegationVerdict =
  | { delegated: true; parentNameservers: string[]; checkedAt: number }
  | { delegated: false; reason: DelegationReason; message: string; observedNameservers?: string[]; checkedAt: number };

/** Checks whether a zone is delegated to us, from real DNS answers only. */
export interface DelegationChecker {
  /**
   * Resolves with a verdict; DNS errors and timeouts are verdicts, never rejections. Rejects only
   * with `signal.reason` when `signal` aborts, or with `ERR_DELEGATION_INVALID_TARGET` for a
   * target without nameservers or servers.
   */
  check(target: DelegationTarget, signal?: AbortSignal): Promise<DelegationVerdict>;
}
