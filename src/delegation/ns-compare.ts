/** How the NS set served by the parent compares with ours, with what to change when it differs. */
export type NsComparison =
  | { readonly kind: 'equal' }
  | {
      readonly kind: 'differs';
      readonly reason: 'not_delegated' | 'wrong_nameservers' | 'extra_nameservers' | 'missing_nameservers';
      readonly message: string;
    };

/** Lowercase, no trailing dot: DNS names compare case-insensitively (RFC 4343 §3). */
export function normaliseName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/**
 * Compares the parent's NS set for `zone` (`observed`) with `ours`, as sets of names compared
 * case-insensitively. Empty → `not_delegated`; no overlap → `wrong_nameservers`; all of ours plus
 * others → `extra_nameservers`; only some of ours → `missing_nameservers`; some of ours plus
 * others → `wrong_nameservers`. Each message names the NS records to add and/or remove.
 */
export function compareNameservers(zone: string, parentZone: string, observed: readonly string[], ours: readonly string[]): NsComparison {
  const seen = new Set(observed.map(normaliseName));
  const want = new Set(ours.map(normaliseName));
  const missing = [...want].filter((n) => !seen.has(n));
  const extra = [...seen].filter((n) => !want.has(n));
  if (missing.length === 0 && extra.length === 0) return { kind: 'equal' };
  const add = `add ${records(zone, missing)}`;
  const remove = `remove ${records(zone, extra)}`;
  if (seen.size === 0) {
    return differs('not_delegated', `${zone} has no NS records in its parent zone ${parentZone}; ${add}`);
  }
  if (missing.length === want.size) {
    return differs('wrong_nameservers', `${zone} is delegated to ${extra.join(', ')}, none of which is ours; ${remove} and ${add}`);
  }
  if (missing.length === 0) {
    return differs('extra_nameservers', `${zone} is delegated to our nameservers and also to ${extra.join(', ')}; ${remove}`);
  }
  if (extra.length === 0) {
    return differs('missing_nameservers', `${zone} is delegated to only some of our nameservers; ${add}`);
  }
  return differs('wrong_nameservers', `${zone} is delegated partly to other nameservers; ${remove} and ${add}`);
}

function differs(reason: Extract<NsComparison, { kind: 'differs' }>['reason'], message: string): NsComparison {
  return { kind: 'differs', reason, message };
}

function records(zone: string, hosts: readonly string[]): string {
  return hosts.map((h) => `"${zone}. IN NS ${h}."`).join(', ');
}
