import { randomBytes } from 'node:crypto';
import { AppError, type Clock, type Hostname } from '../core/index.ts';
import { queryDns } from '../dns/index.ts';
import type { DelegationChecker, DnsEndpoint } from '../delegation/index.ts';
import type { Store } from '../store/index.ts';
import { ControlErrors } from './errors.ts';

/** The DNS look-ups the control plane makes, through the operator's configured resolver. */
export interface ControlDns {
  /** Every TXT string at `name` (RD=1 through the resolver); empty when there is none. Rejects on DNS failure. */
  txt(name: string): Promise<string[]>;
  /**
   * Whether the parent zone still delegates `zone` (wholly or partly) to our nameservers; `null`
   * when that could not be decided (parent or resolver unreachable).
   */
  delegatedToUs(zone: Hostname): Promise<boolean | null>;
}

/** Builds {@link ControlDns} over a recursive resolver and the delegation checker. */
export function createResolverDns(deps: {
  readonly resolver: DnsEndpoint;
  readonly checker: DelegationChecker;
  readonly nameservers: readonly Hostname[];
  readonly ourServers: readonly DnsEndpoint[];
  readonly timeoutMs?: number;
}): ControlDns {
  return {
    async txt(name) {
      const r = await queryDns(deps.resolver, name, 'TXT', { recursionDesired: true, timeoutMs: deps.timeoutMs ?? 2000 });
      if (r.rcode === 'NXDOMAIN') return [];
      if (r.rcode !== 'NOERROR') throw new Error(`the resolver answered ${r.rcode} to TXT ${name}`);
      return (r.answers ?? []).flatMap((a) => (a.type === 'TXT' && a.name.toLowerCase() === name.toLowerCase() ? [txtText(a.data)] : []));
    },
    async delegatedToUs(zone) {
      const v = await deps.checker.check({ zone, nameservers: deps.nameservers, ourServers: deps.ourServers });
      if (v.delegated) return true;
      // After removal our servers no longer answer, yet the parent may still point at them.
      if (v.reason === 'our_servers_not_answering' || v.reason === 'extra_nameservers' || v.reason === 'missing_nameservers') return true;
      if (v.reason === 'not_delegated' || v.reason === 'wrong_nameservers') return false;
      return null;
    },
  };
}

/** RFC 1035 §3.3.14: a TXT record is one or more character-strings, read here as their concatenation. */
function txtText(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
}

/** Where the takeover proof goes: a TXT record in the parent zone, above the delegation cut. */
export function claimRecordName(domain: Hostname): string {
  return `_firstparty-claim.${domain.slice(domain.indexOf('.') + 1)}`;
}

/** The TXT value proving control of the parent zone for one (domain, workspace) claim. */
export function claimRecordValue(token: string): string {
  return `firstparty-claim=${token}`;
}

/**
 * Takeover protection: a subdomain that another workspace held, or that was removed but is still
 * delegated to our nameservers, is granted only to a workspace that publishes its claim token as
 * TXT `_firstparty-claim.<parent>` (checked live through the resolver at every such request);
 * requesting it is never enough. Throws `ERR_CONTROL_TAKEOVER_PROOF_REQUIRED` (409) with the
 * record to publish in `details`. Without a {@link ControlDns}, delegation is assumed to persist.
 */
export async function guardTakeover(deps: { store: Store; clock: Clock; dns?: ControlDns }, workspaceId: string, domain: Hostname): Promise<void> {
  const holders = await deps.store.domainRequests.holdersOf(domain);
  if (holders.length === 0) return;
  const otherHeld = holders.some((h) => h !== workspaceId);
  const why = otherHeld ? 'held_by_another_workspace' : await stillDelegated(deps.dns, domain);
  if (why === null) return;
  const claim = await deps.store.claims.ensure({ domain, workspaceId, token: randomBytes(18).toString('base64url'), createdAt: deps.clock.now(), verifiedAt: null });
  const name = claimRecordName(domain);
  const value = claimRecordValue(claim.token);
  const found = await lookup(deps.dns, name);
  if (found.includes(value)) {
    await deps.store.claims.markVerified(domain, workspaceId, deps.clock.now());
    return;
  }
  const reasonText = why === 'held_by_another_workspace' ? 'was held by another workspace' : 'was removed but is still delegated to our nameservers';
  throw new AppError(ControlErrors.TAKEOVER_PROOF_REQUIRED,
    `"${domain}" ${reasonText}; prove control of its parent zone by publishing TXT ${name} "${value}", then request it again`,
    { details: { reason: why, txtName: name, txtValue: value } });
}

async function stillDelegated(dns: ControlDns | undefined, domain: Hostname): Promise<'still_delegated' | null> {
  const delegated = dns ? await dns.delegatedToUs(domain).catch(() => null) : null;
  return delegated === false ? null : 'still_delegated';
}

async function lookup(dns: ControlDns | undefined, name: string): Promise<string[]> {
  if (!dns) return [];
  try {
    return await dns.txt(name);
  } catch (err) {
    throw new AppError(ControlErrors.TAKEOVER_PROOF_REQUIRED, `cannot read TXT ${name} through the resolver; retry later`, { cause: err, details: { reason: 'txt_lookup_failed', txtName: name } });
  }
}
