import { AppError, fail, ok, systemClock, type Clock } from '../core/index.ts';
import { queryDns } from '../dns/index.ts';
import { ask, endpointText, Rcode, rcodeName, soaOwners, type AskContext, type DnsQueryFn } from './dns-ask.ts';
import { DelegationErrors } from './errors.ts';
import { compareNameservers, normaliseName } from './ns-compare.ts';
import { askParentServer, findParentServers, findParentZone, type ParentServer, type StepResult } from './parent.ts';
import type { DelegationChecker, DelegationReason, DelegationTarget, DelegationVerdict, DnsEndpoint } from './types.ts';

/** Dependencies and options of {@link createDelegationChecker}. */
export interface DelegationCheckerDeps {
  /** The recursive resolver used to find the parent zone and its servers (asked with RD=1). */
  readonly resolver: DnsEndpoint;
  /** Source of `checkedAt` (default: the system clock). */
  readonly clock?: Clock;
  /** Timeout of each DNS query in milliseconds (default 2 000). */
  readonly timeoutMs?: number;
  /** The query function (default: `queryDns` of `src/dns/`). */
  readonly query?: DnsQueryFn;
}

/** A verdict before it is stamped with `checkedAt`. */
type Outcome =
  | { delegated: true; parentNameservers: string[] }
  | { delegated: false; reason: DelegationReason; message: string; observedNameservers?: string[] };

/**
 * Creates the checker that decides, from real DNS answers only, whether `target.zone` is delegated
 * to us: (a) find the enclosing parent zone through the resolver, (b) find the parent's
 * nameservers and addresses through the resolver, (c) ask those servers directly (RD=0, port 53)
 * for the referral NS set and compare it with ours (every answering parent server must agree),
 * (d) ask each of our servers directly for an authoritative SOA of the zone.
 */
export function createDelegationChecker(deps: DelegationCheckerDeps): DelegationChecker {
  const clock = deps.clock ?? systemClock;
  const query = deps.query ?? queryDns;
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return {
    async check(target, signal) {
      assertTarget(target);
      const outcome = await runCheck({ query, timeoutMs, signal }, deps.resolver, target);
      const verdict: DelegationVerdict = { ...outcome, checkedAt: clock.now() };
      return verdict;
    },
  };
}

function assertTarget(target: DelegationTarget): void {
  if (target.nameservers.length === 0 || target.ourServers.length === 0) {
    throw new AppError(DelegationErrors.INVALID_TARGET, undefined, { details: { zone: target.zone } });
  }
}

async function runCheck(ctx: AskContext, resolver: DnsEndpoint, target: DelegationTarget): Promise<Outcome> {
  const zone = normaliseName(target.zone);
  const parentZone = await findParentZone(ctx, resolver, zone);
  if (!parentZone.ok) return failed(parentZone);
  const servers = await findParentServers(ctx, resolver, parentZone.value);
  if (!servers.ok) return failed(servers);
  const referral = await checkReferral(ctx, servers.value, zone, parentZone.value, target.nameservers);
  if (!referral.delegated) return referral;
  const ours = await checkOurServers(ctx, target.ourServers, zone);
  if (!ours.ok) return failed(ours);
  return referral;
}

function failed(step: Extract<StepResult<unknown>, { ok: false }>): Outcome {
  return { delegated: false, reason: step.reason, message: step.message };
}

/** Step (c): every parent server that answers must serve exactly our NS set for the zone. */
async function checkReferral(ctx: AskContext, servers: ParentServer[], zone: string, parentZone: string, ours: readonly string[]): Promise<Outcome> {
  const answers = await Promise.all(servers.map((s) => askParentServer(ctx, s, zone)));
  const answered = answers.flatMap((a) => (a.ok ? [a] : []));
  if (answered.length === 0) {
    const why = answers.map((a) => (a.ok ? '' : a.message)).join('; ');
    return { delegated: false, reason: 'parent_unreachable', message: `no nameserver of the parent zone ${parentZone} answered NS ${zone}: ${why}` };
  }
  for (const a of answered) {
    const cmp = compareNameservers(zone, parentZone, a.nameservers, ours);
    if (cmp.kind === 'differs') {
      const source = answered.length > 1 ? ` (as served by ${a.server})` : '';
      return { delegated: false, reason: cmp.reason, message: `${cmp.message}${source}`, observedNameservers: a.nameservers };
    }
  }
  return { delegated: true, parentNameservers: answered[0]?.nameservers ?? [] };
}

/** Step (d): each of our servers answers `SOA <zone>` authoritatively with NOERROR (RFC 1035 §6.1). */
async function checkOurServers(ctx: AskContext, servers: readonly DnsEndpoint[], zone: string): Promise<StepResult<true>> {
  const problems = await Promise.all(servers.map((s) => ourServerProblem(ctx, s, zone)));
  const found = problems.filter((p): p is string => p !== null);
  if (found.length === 0) return ok(true);
  return fail('our_servers_not_answering', `our nameservers do not serve ${zone}: ${found.join('; ')}`);
}

async function ourServerProblem(ctx: AskContext, server: DnsEndpoint, zone: string): Promise<string | null> {
  const r = await ask(ctx, server, zone, 'SOA', false);
  const where = endpointText(server);
  if (!r.ok) return `${where} ${r.message}`;
  if (r.rcode !== Rcode.NOERROR) return `${where} answered ${rcodeName(r.rcode)}`;
  if (!r.authoritative) return `${where} answered without the authoritative (AA) flag`;
  if (!soaOwners(r.packet.answers).includes(zone)) return `${where} answered without the zone's SOA record`;
  return null;
}
