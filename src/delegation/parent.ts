import { fail, isAtOrBelow, ok, type Result } from '../core/index.ts';
import { addressesOf, ask, endpointText, nsTargets, Rcode, rcodeName, soaOwners, type Asked, type AskContext } from './dns-ask.ts';
import type { DelegationReason, DnsEndpoint } from './types.ts';

/** NS records carry no port: authoritative servers are asked on 53 (RFC 1035 §4.2). */
const AUTHORITATIVE_PORT = 53;
/** How many of the parent zone's nameservers are asked, to bound the time of a check. */
const MAX_PARENT_SERVERS = 4;

/** One of the parent zone's nameservers and its addresses (IPv4 first). */
export interface ParentServer {
  readonly name: string;
  readonly addresses: readonly string[];
}

/** Failure of a step, as the verdict will carry it. */
export type StepResult<T> = Result<T, DelegationReason>;

/** What the resolver's failure to answer usefully means for the check. */
function resolverFailure(resolver: DnsEndpoint, question: string, r: Asked): StepResult<never> {
  if (!r.ok) return fail('resolver_error', `the resolver ${endpointText(resolver)} did not answer ${question}: ${r.message}`);
  // SERVFAIL from a resolver: it could not get an answer from the authoritative servers.
  if (r.rcode === Rcode.SERVFAIL) return fail('parent_unreachable', `the resolver could not reach the authoritative servers for ${question} (SERVFAIL)`);
  return fail('resolver_error', `the resolver ${endpointText(resolver)} answered ${rcodeName(r.rcode)} to ${question}`);
}

/**
 * Finds the zone that encloses `zone`'s parent name: walks up from the parent asking the resolver
 * (RD=1) for SOA; the SOA owner in the answer, or in the authority section of a NODATA/NXDOMAIN
 * answer (RFC 2308 §2.1, §2.2), is the enclosing zone.
 */
export async function findParentZone(ctx: AskContext, resolver: DnsEndpoint, zone: string): Promise<StepResult<string>> {
  for (let name = parentName(zone); name !== null; name = parentName(name)) {
    const r = await ask(ctx, resolver, name, 'SOA', true);
    if (!r.ok || (r.rcode !== Rcode.NOERROR && r.rcode !== Rcode.NXDOMAIN)) return resolverFailure(resolver, `SOA ${name}`, r);
    if (soaOwners(r.packet.answers).includes(name)) return ok(name);
    const enclosing = soaOwners(r.packet.authorities).find((owner) => isAtOrBelow(name, owner));
    if (enclosing !== undefined) return ok(enclosing);
  }
  return fail('parent_unreachable', `no zone enclosing ${zone} was found through the resolver`);
}

/** The parent zone's nameservers (via the resolver, RD=1) with their A/AAAA addresses. */
export async function findParentServers(ctx: AskContext, resolver: DnsEndpoint, parentZone: string): Promise<StepResult<ParentServer[]>> {
  const r = await ask(ctx, resolver, parentZone, 'NS', true);
  if (!r.ok || r.rcode !== Rcode.NOERROR) return resolverFailure(resolver, `NS ${parentZone}`, r);
  const names = nsTargets(r.packet.answers, parentZone);
  if (names.length === 0) return fail('parent_unreachable', `the resolver returned no NS records for the parent zone ${parentZone}`);
  const servers = await Promise.all(names.slice(0, MAX_PARENT_SERVERS).map((name) => resolveServer(ctx, resolver, name)));
  const reachable = servers.filter((s) => s.addresses.length > 0);
  if (reachable.length === 0) return fail('parent_unreachable', `no address found for the nameservers of ${parentZone} (${names.join(', ')})`);
  return ok(reachable);
}

async function resolveServer(ctx: AskContext, resolver: DnsEndpoint, name: string): Promise<ParentServer> {
  const [v4, v6] = await Promise.all([ask(ctx, resolver, name, 'A', true), ask(ctx, resolver, name, 'AAAA', true)]);
  const read = (r: Asked): string[] => (r.ok && r.rcode === Rcode.NOERROR ? addressesOf(r.packet.answers, name) : []);
  return { name, addresses: [...read(v4), ...read(v6)] };
}

/** The NS set one parent server serves for a zone, or why it gave none. */
export type ParentAnswer =
  | { readonly ok: true; readonly server: string; readonly nameservers: string[] }
  | { readonly ok: false; readonly server: string; readonly message: string };

/**
 * Asks one parent server (RD=0, port 53, each address in turn until one answers) for `NS <zone>`.
 * A referral carries the NS set in the authority section (RFC 1034 §4.3.2 step 3b); a server also
 * authoritative for the child answers it (AA). NXDOMAIN or NODATA means no delegation: an empty set.
 */
export async function askParentServer(ctx: AskContext, server: ParentServer, zone: string): Promise<ParentAnswer> {
  const problems: string[] = [];
  for (const host of server.addresses) {
    const endpoint = { host, port: AUTHORITATIVE_PORT };
    const r = await ask(ctx, endpoint, zone, 'NS', false);
    if (r.ok && (r.rcode === Rcode.NOERROR || r.rcode === Rcode.NXDOMAIN)) {
      const inAnswer = r.authoritative ? nsTargets(r.packet.answers, zone) : [];
      return { ok: true, server: server.name, nameservers: inAnswer.length > 0 ? inAnswer : nsTargets(r.packet.authorities, zone) };
    }
    problems.push(`${endpointText(endpoint)} ${r.ok ? `answered ${rcodeName(r.rcode)}` : r.message}`);
  }
  return { ok: false, server: server.name, message: `${server.name}: ${problems.join('; ')}` };
}

function parentName(name: string): string | null {
  const i = name.indexOf('.');
  return i < 0 ? null : name.slice(i + 1);
}
