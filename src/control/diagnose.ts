import tls from 'node:tls';
import type { CustomDomain, Hostname, StoredCertificate } from '../core/index.ts';
import { queryDns, type DnsResponse } from '../dns/index.ts';
import type { DelegationChecker, DelegationVerdict, DnsEndpoint } from '../delegation/index.ts';

/** Who must act for a domain to become (or stay) active. */
export type WhoMustAct = 'workspace' | 'operator' | 'certificate_authority' | 'nobody';

/** The diagnose report of one custom domain; every probe is live, made when asked. */
export interface DiagnosisReport {
  readonly domain: string;
  readonly state: string;
  readonly checkedAt: string;
  /** The parent zone's NS set for the domain, compared with ours. */
  readonly delegation: { readonly delegated: boolean; readonly reason: string | null; readonly message: string; readonly parentNameservers: readonly string[] };
  /** Each of our DNS servers asked for the zone's SOA. */
  readonly ourNameservers: ReadonlyArray<{ readonly server: string; readonly answering: boolean; readonly detail: string }>;
  /** The CAA RRset relevant to the hosts (RFC 8659 §3 tree climbing) and whether it lets our CA issue. */
  readonly caa: { readonly owner: string | null; readonly records: readonly string[]; readonly permitsOurCa: boolean | null; readonly message: string };
  /** Whether the parent publishes DS for the zone (we do not sign it, so validating resolvers would fail). */
  readonly ds: { readonly present: boolean | null; readonly message: string };
  readonly certificate: { readonly status: 'none' | 'valid' | 'expiring' | 'expired'; readonly serial: string | null; readonly notAfter: string | null; readonly names: readonly string[] };
  /** A TLS handshake with SNI plus a HEAD request, per host, against the HTTPS edge. */
  readonly https: ReadonlyArray<{ readonly host: string; readonly ok: boolean; readonly servedSerial: string | null; readonly httpStatus: number | null; readonly detail: string }>;
  readonly verdict: { readonly whoMustAct: WhoMustAct; readonly summary: string; readonly actions: readonly string[] };
}

/** Dependencies of {@link createDiagnoser}. */
export interface DiagnoserDeps {
  readonly checker: DelegationChecker;
  readonly resolver: DnsEndpoint;
  readonly nameservers: readonly Hostname[];
  readonly ourServers: readonly DnsEndpoint[];
  /** Where the HTTPS edge can be reached (read when probing); probed with each host as SNI. */
  readonly edge: () => DnsEndpoint;
  /** CAA issuer domains of the configured CA (RFC 8659 §4.2); empty when certificates come from the local CA. */
  readonly caaIdentities: readonly string[];
  readonly now: () => number;
  /** Per-probe timeout (default 3 000 ms). */
  readonly timeoutMs?: number;
}

/** Produces {@link DiagnosisReport}s. */
export interface Diagnoser {
  diagnose(d: CustomDomain, cert: StoredCertificate | undefined): Promise<DiagnosisReport>;
}

const EXPIRING_MS = 14 * 86_400_000;

/** Builds the {@link Diagnoser}: all probes run concurrently and each failure is reported, never thrown. */
export function createDiagnoser(deps: DiagnoserDeps): Diagnoser {
  const timeoutMs = deps.timeoutMs ?? 3000;
  const resolve = (name: string, type: string) => queryDns(deps.resolver, name, type, { recursionDesired: true, timeoutMs });
  return {
    async diagnose(d, cert) {
      const [verdict, ours, caa, ds, https] = await Promise.all([
        deps.checker.check({ zone: d.domain, nameservers: deps.nameservers, ourServers: deps.ourServers }),
        Promise.all(deps.ourServers.map((s) => probeOurServer(s, d.domain, timeoutMs))),
        probeCaa(resolve, d.hosts.cdn, deps.caaIdentities),
        probeDs(resolve, d.domain),
        Promise.all([d.hosts.cdn, d.hosts.api].map((h) => probeHttps(deps.edge(), h, timeoutMs))),
      ]);
      const now = deps.now();
      const report = {
        domain: d.domain, state: d.state.kind, checkedAt: new Date(now).toISOString(), delegation: delegationPart(verdict),
        ourNameservers: ours, caa, ds, certificate: certificatePart(cert, now), https,
      };
      return { ...report, verdict: decide(d, report) };
    },
  };
}

function delegationPart(v: DelegationVerdict): DiagnosisReport['delegation'] {
  if (v.delegated) return { delegated: true, reason: null, message: 'the parent zone delegates to our nameservers and they answer', parentNameservers: v.parentNameservers };
  return { delegated: false, reason: v.reason, message: v.message, parentNameservers: v.observedNameservers ?? [] };
}

async function probeOurServer(s: DnsEndpoint, zone: string, timeoutMs: number): Promise<DiagnosisReport['ourNameservers'][number]> {
  const server = `${s.host}:${s.port}`;
  try {
    const r = await queryDns(s, zone, 'SOA', { timeoutMs });
    const soa = (r.answers ?? []).some((a) => a.type === 'SOA' && a.name.toLowerCase() === zone);
    const answering = r.rcode === 'NOERROR' && r.flag_aa === true && soa;
    return { server, answering, detail: answering ? 'authoritative SOA' : `answered ${r.rcode}${r.flag_aa ? '' : ' without AA'}${soa ? '' : ' without the SOA'}` };
  } catch (err) {
    return { server, answering: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** RFC 8659 §3: the relevant RRset is the first non-empty CAA RRset found climbing from the name. */
async function probeCaa(resolve: (n: string, t: string) => Promise<DnsResponse>, host: string, ours: readonly string[]): Promise<DiagnosisReport['caa']> {
  try {
    for (let name = host; name.includes('.'); name = name.slice(name.indexOf('.') + 1)) {
      const r = await resolve(name, 'CAA');
      const recs = (r.answers ?? []).filter((a) => a.type === 'CAA' && a.name.toLowerCase() === name) as Array<{ data: { tag: string; value: string } }>;
      if (recs.length === 0) continue;
      const issuers = recs.filter((x) => x.data.tag === 'issue').map((x) => x.data.value.split(';')[0]!.trim().toLowerCase());
      const permits = ours.length === 0 ? null : issuers.length === 0 || issuers.some((i) => ours.includes(i));
      return {
        owner: name, records: recs.map((x) => `${x.data.tag} "${x.data.value}"`), permitsOurCa: permits,
        message: permits === false ? `CAA at ${name} allows only ${issuers.join(', ') || 'no CA'}; add issue "${ours[0]}"` : `CAA at ${name} found`,
      };
    }
    return { owner: null, records: [], permitsOurCa: ours.length === 0 ? null : true, message: 'no CAA records: any CA may issue' };
  } catch (err) {
    return { owner: null, records: [], permitsOurCa: null, message: `CAA lookup failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

async function probeDs(resolve: (n: string, t: string) => Promise<DnsResponse>, zone: string): Promise<DiagnosisReport['ds']> {
  try {
    const r = await resolve(zone, 'DS');
    const present = (r.answers ?? []).some((a) => a.type === 'DS');
    return { present, message: present ? `the parent publishes DS for ${zone} but the zone is not signed by us: remove the DS record` : 'no DS record' };
  } catch (err) {
    return { present: null, message: `DS lookup failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function certificatePart(cert: StoredCertificate | undefined, now: number): DiagnosisReport['certificate'] {
  if (!cert) return { status: 'none', serial: null, notAfter: null, names: [] };
  const status = cert.notAfter <= now ? 'expired' : cert.notAfter - now < EXPIRING_MS ? 'expiring' : 'valid';
  return { status, serial: cert.serialHex, notAfter: new Date(cert.notAfter).toISOString(), names: cert.names };
}

/** Connects to the edge with `host` as SNI, sends `HEAD /`, and reads the served certificate and status line. */
export function probeHttps(edge: DnsEndpoint, host: string, timeoutMs: number): Promise<DiagnosisReport['https'][number]> {
  return new Promise((resolve) => {
    let served: string | null = null;
    const done = (ok: boolean, httpStatus: number | null, detail: string) => {
      socket.destroy();
      resolve({ host, ok, servedSerial: served, httpStatus, detail });
    };
    // The probe reports what is served; trust is judged by comparing with the stored certificate.
    // A wildcard listen address is reached on loopback.
    const target = edge.host === '0.0.0.0' ? '127.0.0.1' : edge.host === '::' ? '::1' : edge.host;
    const socket = tls.connect({ host: target, port: edge.port, servername: host, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    socket.setTimeout(timeoutMs, () => done(false, null, `no answer within ${timeoutMs} ms`));
    socket.once('error', (err) => done(false, null, err.message));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      served = cert.serialNumber ? cert.serialNumber.toLowerCase() : null;
      const names = (cert.subjectaltname ?? '').split(',').map((x) => x.trim().replace(/^DNS:/, '').toLowerCase());
      if (!names.includes(host)) return done(false, null, `the certificate served does not name ${host}`);
      socket.write(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m) done(true, Number(m[1]), `HTTPS answers (status ${m[1]})`);
    });
    socket.once('end', () => done(false, null, 'connection closed without an HTTP answer'));
  });
}

function decide(d: CustomDomain, r: Omit<DiagnosisReport, 'verdict'>): DiagnosisReport['verdict'] {
  const act = (whoMustAct: WhoMustAct, summary: string, actions: string[] = []) => ({ whoMustAct, summary, actions });
  const nsFix = ['not_delegated', 'wrong_nameservers', 'extra_nameservers', 'missing_nameservers', 'parent_unreachable'];
  if (!r.delegation.delegated && nsFix.includes(r.delegation.reason ?? '')) {
    return act('workspace', r.delegation.message, [`publish exactly these NS records for ${d.domain} at its parent zone, and no others`]);
  }
  if (r.ds.present) return act('workspace', r.ds.message, [`remove the DS record of ${d.domain} at the parent zone`]);
  if (r.caa.permitsOurCa === false) return act('workspace', r.caa.message, [r.caa.message]);
  if (r.ourNameservers.some((s) => !s.answering) || r.delegation.reason === 'our_servers_not_answering' || r.delegation.reason === 'resolver_error') {
    return act('operator', 'the operator\'s DNS servers or resolver do not answer for the zone', ['operator: check the DNS servers and the resolver']);
  }
  if (d.state.kind === 'failed' && d.state.reason === 'ca_rate_limited') {
    return act('certificate_authority', `the CA rate-limited issuance; retry after ${new Date(d.state.retryAt).toISOString()}`);
  }
  if (d.state.kind === 'active' && r.https.every((h) => h.ok) && r.certificate.status !== 'expired') return act('nobody', 'the domain is active and both hosts answer over HTTPS');
  if (d.state.kind === 'active' || r.certificate.status === 'expired') {
    return act('operator', 'a host does not answer over HTTPS with its certificate', r.https.filter((h) => !h.ok).map((h) => `${h.host}: ${h.detail}`));
  }
  return act('nobody', `in progress (${d.state.kind}); nothing to do but wait`);
}
