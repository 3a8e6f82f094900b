import {
  AppError, KNOWN_SOURCE_TYPES, type AppEvents, type Clock, type CustomDomain, type DomainHistoryEntry,
  type Hostname, type LoggedEvent, type Source, type StoredCertificate, type Workspace,
} from '../core/index.ts';
import type { DomainRequestRecord, Store } from '../store/index.ts';
import { aliasPathOf, renderAliasSnippet, renderSnippet } from '../cdn/index.ts';
import { ControlErrors } from './errors.ts';
import { hostsOf, normaliseCustomDomain } from './domain-rules.ts';
import { newId, newWriteKey } from './ids.ts';
import { isTerminal, nextState, type DomainEvent } from './lifecycle.ts';
import type { SourceDirectory } from './source-directory.ts';
import { toDomainView, type DomainView } from './domain-view.ts';
import { cspDirectives } from './csp.ts';
import { parseRequestForm } from './request-form.ts';
import { guardTakeover, type ControlDns } from './takeover.ts';
import type { Diagnoser, DiagnosisReport } from './diagnose.ts';

/** Operator settings the control plane needs (a slice of the process config). */
export interface ControlSettings {
  readonly customDomainPlans: readonly string[];
  readonly cdnLabel: string;
  readonly apiLabel: string;
  readonly nameservers: readonly Hostname[];
  readonly defaultCdnHost: Hostname;
  readonly defaultApiHost: Hostname;
  /** Minimum time between two "check now" of one domain, ms (default 10 000). */
  readonly checkNowMinIntervalMs?: number;
}

/** Dependencies of {@link createControl}. */
export interface ControlDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly events: AppEvents;
  readonly sources: SourceDirectory;
  readonly settings: ControlSettings;
  /** DNS look-ups through the operator's resolver (takeover proof, delegation after removal). */
  readonly dns?: ControlDns;
  /** The diagnose report's probes; without it `diagnose` answers 503. */
  readonly diagnoser?: Diagnoser;
  /** Revokes a certificate at its CA (removal, subdomain change); the stored status is set to `revoked` either way. */
  readonly revoke?: (cert: StoredCertificate) => Promise<void>;
  readonly logger?: { error(obj: object, msg?: string): void };
}

/** The control plane's operations, shared by the admin API, the CLI and the background worker. */
export type Control = ReturnType<typeof createControl>;

/**
 * Builds the control plane: workspaces, sources, custom domains and their lifecycle. Every
 * rejected request throws an {@link AppError} from {@link ControlErrors}; nothing is half-written.
 */
export function createControl(deps: ControlDeps) {
  const { store, clock, events, settings } = deps;

  async function workspace(id: string): Promise<Workspace> {
    const ws = await store.workspaces.get(id);
    if (!ws) throw new AppError(ControlErrors.NOT_FOUND, `workspace ${id} does not exist`);
    return ws;
  }

  async function source(ws: Workspace, id: unknown): Promise<Source> {
    const s = typeof id === 'string' ? await store.sources.get(id) : undefined;
    if (!s || s.workspaceId !== ws.id) throw new AppError(ControlErrors.UNKNOWN_SOURCE, `source ${String(id)} does not exist in workspace ${ws.id}`);
    return s;
  }

  async function domain(ws: Workspace, id: string): Promise<CustomDomain> {
    const d = await store.domains.get(id);
    if (!d || d.workspaceId !== ws.id) throw new AppError(ControlErrors.NOT_FOUND, `custom domain ${id} does not exist in workspace ${ws.id}`);
    return d;
  }

  async function view(d: CustomDomain): Promise<DomainView> {
    return toDomainView(d, settings.nameservers, await store.certificates.currentFor(d.id), await store.domains.history(d.id),
      await store.domainRequests.get(d.id), await store.renewals.get(d.id));
  }

  /** A subdomain change completes when the new domain becomes active. */
  async function completeChange(next: CustomDomain, apply: (d: CustomDomain, e: DomainEvent, s: { nextCheckAt: number | null; checkAttempts: number }) => Promise<CustomDomain | undefined>): Promise<void> {
    const req = await store.domainRequests.get(next.id);
    const old = req?.replacesDomainId ? await store.domains.get(req.replacesDomainId) : undefined;
    if (!old || isTerminal(old.state)) return;
    await store.domainRequests.moveSources(old.id, next.id);
    const moved = (await store.domains.get(next.id))!;
    // Re-announce the new domain so the edge routes it with its sources before the old stops.
    events.emit('domain.changed', { domain: moved, from: moved.state.kind });
    const replaced = await apply(old, { type: 'replaced', by: next.id }, { nextCheckAt: null, checkAttempts: 0 });
    if (replaced) await revokeCertificates(replaced);
  }

  const control = {
    /** Creates a workspace. `name` is required; `plan` defaults to `business`. */
    async createWorkspace(input: Record<string, unknown>): Promise<Workspace> {
      const name = requireString(input, 'name', 100);
      const plan = input.plan === undefined ? 'business' : requireString(input, 'plan', 40).toLowerCase();
      const ws: Workspace = { id: newId('ws'), name, plan, createdAt: clock.now() };
      await store.workspaces.create(ws);
      return ws;
    },

    getWorkspace: workspace,

    /** Creates a source with a fresh write key. `type` is a Segment source kind such as `analytics.js`. */
    async createSource(wsId: string, input: Record<string, unknown>): Promise<Source> {
      const ws = await workspace(wsId);
      const name = requireString(input, 'name', 100);
      const type = requireString(input, 'type', 40).toLowerCase();
      if (!(KNOWN_SOURCE_TYPES as readonly string[]).includes(type) && !/^[a-z][a-z0-9.+-]{0,39}$/.test(type)) {
        throw new AppError(ControlErrors.INVALID_INPUT, `"type" must be a source kind such as ${KNOWN_SOURCE_TYPES.slice(0, 5).join(', ')}`);
      }
      const s: Source = { id: newId('src'), workspaceId: ws.id, name, type, writeKey: newWriteKey(), enabled: true, createdAt: clock.now() };
      await store.sources.create(s);
      deps.sources.put(s);
      events.emit('source.created', { source: s });
      return s;
    },

    async getSource(wsId: string, id: string): Promise<Source> {
      return source(await workspace(wsId), id);
    },

    async listSources(wsId: string): Promise<Source[]> {
      return store.sources.listByWorkspace((await workspace(wsId)).id);
    },

    /**
     * Requests a custom domain (and optionally an additional one, its own zone) for some of the
     * workspace's sources, with the fields of the request form (see {@link DomainRequestForm}).
     * Rules (DESIGN.md): plan includes the feature (403), valid proper subdomains (400), sources
     * exist here (404) and are not connected elsewhere (409), the workspace's first domain includes
     * an analytics.js source (422), the name is not live anywhere (409) and, when another workspace
     * held it or it is still delegated to us after removal, the parent-zone TXT proof is published
     * (409 otherwise). Each domain starts `awaiting_delegation` with a check due now.
     */
    async requestDomain(wsId: string, input: Record<string, unknown>): Promise<DomainView & { additional: DomainView | null }> {
      const ws = await workspace(wsId);
      assertPlan(ws);
      const form = parseRequestForm(input);
      const name = normalise(form.domain);
      const extra = form.additionalDomain === null ? null : normalise(form.additionalDomain);
      if (extra !== null && extra === name) throw new AppError(ControlErrors.INVALID_INPUT, '"additionalDomain" must differ from "domain"');
      const sources = await Promise.all(form.sourceIds.map((id) => source(ws, id)));
      const extraSources = await Promise.all(form.additionalSourceIds.map((id) => source(ws, id)));
      const existing = await store.domains.listByWorkspace(ws.id);
      if (existing.length === 0 && ![...sources, ...extraSources].some((s) => s.type === 'analytics.js')) {
        throw new AppError(ControlErrors.ANALYTICS_JS_REQUIRED, 'the first custom domain of a workspace must include an analytics.js source');
      }
      for (const n of extra === null ? [name] : [name, extra]) await assertClaimable(ws, n);
      for (const s of [...sources, ...extraSources]) {
        if (await store.sources.domainOf(s.id)) throw new AppError(ControlErrors.SOURCE_ALREADY_CONNECTED, `source ${s.id} is already connected to another custom domain; a source can use one custom domain`);
      }
      const meta = { subject: form.subject ?? `Custom domain ${name}`, description: form.description, usesCsp: form.usesCsp };
      const primary = await createDomain(ws, name, sources.map((s) => s.id), { ...meta, primaryDomainId: null, replacesDomainId: null }, 'requested');
      let additional: CustomDomain | null = null;
      if (extra !== null) {
        try {
          additional = await createDomain(ws, extra, extraSources.map((s) => s.id), { ...meta, primaryDomainId: primary.id, replacesDomainId: null }, 'requested');
        } catch (err) {
          // One request, both domains or neither: undo the first when the second loses a race.
          await this.apply(primary, { type: 'removed' }, { nextCheckAt: null, checkAttempts: 0 });
          throw err;
        }
      }
      return { ...(await view(primary)), additional: additional && (await view(additional)) };
    },

    /**
     * Changes a domain's subdomain: creates the new one alongside (same sources, request and
     * workspace) while the old keeps serving; when the new becomes active its sources move to it,
     * the old is `replaced`, its certificates revoked, and it stops being served.
     */
    async replaceDomain(wsId: string, id: string, input: Record<string, unknown>): Promise<DomainView> {
      const ws = await workspace(wsId);
      assertPlan(ws);
      const old = await domain(ws, id);
      if (isTerminal(old.state)) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, `custom domain ${id} is already ${old.state.kind}`);
      if (await store.domainRequests.replacementOf(old.id)) throw new AppError(ControlErrors.CHANGE_IN_PROGRESS);
      const name = normalise(input.domain);
      if (name === old.domain) throw new AppError(ControlErrors.INVALID_INPUT, '"domain" must differ from the current subdomain');
      await assertClaimable(ws, name);
      const req = await store.domainRequests.get(old.id);
      const meta = { subject: req?.subject ?? `Custom domain ${name}`, description: req?.description ?? null, usesCsp: req?.usesCsp ?? false };
      // Sources stay linked to the old domain (one domain per source) until the switch.
      const d = await createDomain(ws, name, [], { ...meta, primaryDomainId: req?.primaryDomainId ?? null, replacesDomainId: old.id }, 'change_requested');
      return view(d);
    },

    /**
     * "Check now": makes a waiting domain due immediately (the worker picks it up at its next tick).
     * Allowed while awaiting delegation or after a failed issuance (not when the CA asked to wait);
     * at most once per `checkNowMinIntervalMs` per domain, else 429 with `retryAfterSeconds`.
     */
    async checkNow(wsId: string, id: string): Promise<DomainView> {
      const d = await domain(await workspace(wsId), id);
      const now = clock.now();
      if (d.state.kind !== 'awaiting_delegation' && d.state.kind !== 'failed') {
        throw new AppError(ControlErrors.NOTHING_TO_CHECK, `custom domain ${id} is ${d.state.kind}; a check only helps while awaiting delegation or after a failure`);
      }
      if (d.state.kind === 'failed' && d.state.reason === 'ca_rate_limited' && d.state.retryAt > now) {
        throw new AppError(ControlErrors.RATE_LIMITED, `the certificate authority asked to wait until ${new Date(d.state.retryAt).toISOString()}`,
          { details: { retryAfterSeconds: Math.ceil((d.state.retryAt - now) / 1000) } });
      }
      await ensureRequestRow(d);
      const minMs = settings.checkNowMinIntervalMs ?? 10_000;
      if (!(await store.domainRequests.markCheckRequested(d.id, now, minMs))) {
        const last = (await store.domainRequests.get(d.id))?.checkRequestedAt ?? now;
        throw new AppError(ControlErrors.RATE_LIMITED, `"check now" was used less than ${minMs / 1000} s ago`,
          { details: { retryAfterSeconds: Math.max(1, Math.ceil((last + minMs - now) / 1000)) } });
      }
      await store.domains.reschedule(d.id, now, d.checkAttempts);
      return view((await store.domains.get(d.id))!);
    },

    /** A diagnosis of the domain (delegation, our servers, CAA, DS, certificate, live HTTPS) saying who must act. */
    async diagnose(wsId: string, id: string): Promise<DiagnosisReport> {
      const d = await domain(await workspace(wsId), id);
      if (!deps.diagnoser) throw new AppError(ControlErrors.DIAGNOSTICS_UNAVAILABLE);
      return deps.diagnoser.diagnose(d, await store.certificates.currentFor(d.id));
    },

    async getDomain(wsId: string, id: string): Promise<DomainView> {
      return view(await domain(await workspace(wsId), id));
    },

    async listDomains(wsId: string): Promise<DomainView[]> {
      const ws = await workspace(wsId);
      return Promise.all((await store.domains.listByWorkspace(ws.id)).map(view));
    },

    /**
     * Removes a custom domain: it stops being served (DNS and HTTPS), its certificates are revoked
     * and its sources freed. A subdomain change in progress from it is removed too.
     */
    async removeDomain(wsId: string, id: string): Promise<DomainView> {
      const d = await domain(await workspace(wsId), id);
      if (isTerminal(d.state)) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, `custom domain ${id} is already ${d.state.kind}`);
      const updated = await this.apply(d, { type: 'removed' }, { nextCheckAt: null, checkAttempts: 0 });
      if (!updated) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, 'the domain changed meanwhile; retry');
      await revokeCertificates(updated);
      const pending = await store.domainRequests.replacementOf(d.id);
      const next = pending === undefined ? undefined : await store.domains.get(pending);
      if (next && !isTerminal(next.state)) await this.apply(next, { type: 'removed' }, { nextCheckAt: null, checkAttempts: 0 });
      return view(updated);
    },

    /**
     * Applies a lifecycle event with compare-and-set on the domain's version. Resolves to the
     * updated domain, or undefined when another writer changed it first. Throws on a forbidden
     * transition.
     */
    async apply(d: CustomDomain, event: DomainEvent, schedule: { nextCheckAt: number | null; checkAttempts: number }): Promise<CustomDomain | undefined> {
      const t = nextState(d.state, event);
      if (!t.ok) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, t.message);
      const at = clock.now();
      const updated = await store.domains.transition(d.id, d.version, t.state, { at, from: d.state.kind, to: t.state.kind, reason: t.reason, message: t.message }, schedule);
      if (updated) events.emit('domain.changed', { domain: updated, from: d.state.kind });
      return updated;
    },

    /**
     * The snippet for a source: custom CDN/API hosts once its domain is active, default hosts
     * otherwise. `globalName` renames `window.analytics` (a valid JS identifier); `aliasPath` loads
     * the library from `/<workspaceId>/<sourceId>.js` (no "analytics", no write key in the path).
     * `csp` lists the directives for exactly this snippet (its inline hash included).
     */
    async snippet(wsId: string, sourceId: string, opts: { globalName?: string; aliasPath?: boolean } = {}) {
      const ws = await workspace(wsId);
      const s = await source(ws, sourceId);
      const d = await store.sources.domainOf(s.id);
      const custom = d?.state.kind === 'active';
      const cdnHost = custom ? d.hosts.cdn : settings.defaultCdnHost;
      const apiHost = custom ? d.hosts.api : settings.defaultApiHost;
      const scriptPath = opts.aliasPath ? aliasPathOf(ws.id, s.id) : null;
      const base = { writeKey: s.writeKey, cdnHost, apiHost, ...(opts.globalName ? { globalName: opts.globalName } : {}) };
      let text: string;
      try {
        text = scriptPath ? renderAliasSnippet({ ...base, scriptPath }) : renderSnippet(base);
      } catch (err) {
        if (err instanceof AppError && err.httpStatus < 500) throw new AppError(ControlErrors.INVALID_INPUT, err.message, { cause: err });
        throw err;
      }
      return {
        sourceId: s.id, writeKey: s.writeKey, cdnHost, apiHost, customDomain: custom ? d.domain : null,
        globalName: opts.globalName ?? 'analytics', scriptUrl: `https://${cdnHost}${scriptPath ?? `/analytics.js/v1/${s.writeKey}/analytics.min.js`}`,
        snippet: text, csp: cspDirectives({ cdn: cdnHost, api: apiHost }, text),
      };
    },

    /** The most recent stored events of a source, newest first. */
    async recentEvents(wsId: string, sourceId: string, limit: number, beforeSeq?: number): Promise<LoggedEvent[]> {
      const s = await source(await workspace(wsId), sourceId);
      return store.events.recent(s.id, limit, beforeSeq);
    },
  };
  events.on('domain.changed', ({ domain: d, from }) => {
    if (d.state.kind !== 'active' || from === 'active') return;
    completeChange(d, (x, e, sch) => control.apply(x, e, sch)).catch((err: unknown) => deps.logger?.error({ err, domain: d.domain }, 'cannot complete the subdomain change'));
  });
  return control;

  function assertPlan(ws: Workspace): void {
    if (settings.customDomainPlans.includes(ws.plan)) return;
    throw new AppError(ControlErrors.PLAN_EXCLUDES_FEATURE,
      `custom domains are part of the ${settings.customDomainPlans.join('/')} plan; this workspace is on "${ws.plan}". ` +
      'Upgrade the plan, or run your own proxy in front of the default hosts (a self-run custom proxy).',
      { details: { plan: ws.plan, plansWithFeature: settings.customDomainPlans, alternative: 'self-run custom proxy' } });
  }

  function normalise(input: unknown): Hostname {
    return normaliseCustomDomain(input, { nameservers: settings.nameservers, defaultHosts: [settings.defaultCdnHost, settings.defaultApiHost] });
  }

  async function assertClaimable(ws: Workspace, name: Hostname): Promise<void> {
    const live = await store.domains.liveOverlapping(name);
    if (live.some((d) => d.domain === name)) throw new AppError(ControlErrors.DOMAIN_TAKEN, `"${name}" is already claimed; a subdomain can serve one workspace only`);
    // Zones may not nest: a claim inside another would shadow its hosts (cdn.<domain>, api.<domain>) in DNS.
    const other = live[0];
    if (other) throw new AppError(ControlErrors.DOMAIN_OVERLAPS, `"${name}" overlaps the custom domain ${other.domain} already claimed; choose a name that neither contains nor lies inside it`);
    await guardTakeover({ store, clock, ...(deps.dns ? { dns: deps.dns } : {}) }, ws.id, name);
  }

  async function createDomain(ws: Workspace, name: Hostname, sourceIds: string[],
    meta: Omit<DomainRequestRecord, 'domainId' | 'checkRequestedAt' | 'createdAt'>, reason: string): Promise<CustomDomain> {
    const now = clock.now();
    const d: CustomDomain = {
      id: newId('cd'), workspaceId: ws.id, domain: name, hosts: hostsOf(name, settings), state: { kind: 'awaiting_delegation' },
      version: 1, zoneSerial: zoneSerialStart(now), nextCheckAt: now, checkAttempts: 0, sourceIds: [...sourceIds].sort(),
      createdAt: now, updatedAt: now,
    };
    const first: DomainHistoryEntry = { at: now, from: null, to: 'awaiting_delegation', reason, message: 'custom domain requested; waiting for the NS records at the parent zone' };
    const r = await store.domains.create(d, first);
    if (!r.ok) {
      if (r.conflict === 'source_already_connected') throw new AppError(ControlErrors.SOURCE_ALREADY_CONNECTED, 'a selected source is already connected to another custom domain; a source can use one custom domain');
      throw new AppError(ControlErrors.DOMAIN_TAKEN, `"${name}" is already claimed; a subdomain can serve one workspace only`);
    }
    await store.domainRequests.put({ domainId: d.id, ...meta, checkRequestedAt: null, createdAt: now });
    events.emit('domain.created', { domain: d });
    return d;
  }

  async function ensureRequestRow(d: CustomDomain): Promise<void> {
    if (await store.domainRequests.get(d.id)) return;
    await store.domainRequests.put({ domainId: d.id, subject: `Custom domain ${d.domain}`, description: null, usesCsp: false,
      primaryDomainId: null, replacesDomainId: null, checkRequestedAt: null, createdAt: d.createdAt });
  }

  async function revokeCertificates(d: CustomDomain): Promise<void> {
    const cert = await store.certificates.currentFor(d.id);
    if (!cert) return;
    await store.certificates.setStatus(cert.id, 'revoked');
    await deps.revoke?.(cert);
  }
}

/** Initial SOA serial: the date-based form YYYYMMDDnn would overflow quickly with many changes; use seconds. */
function zoneSerialStart(now: number): number {
  return Math.floor(now / 1000) % 2 ** 31;
}

function requireString(input: Record<string, unknown>, key: string, maxLength: number): string {
  const v = input[key];
  if (typeof v !== 'string' || v.trim() === '') throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" is required and must be a non-empty string`);
  if (v.length > maxLength) throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be at most ${maxLength} characters`);
  // Names end up in logs, webhooks and UIs: no control characters, no unpaired surrogates.
  if (/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be printable text without control characters`);
  return v.trim();
}
