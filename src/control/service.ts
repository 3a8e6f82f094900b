import {
  AppError, KNOWN_SOURCE_TYPES, type AppEvents, type Clock, type CustomDomain, type DomainHistoryEntry,
  type Hostname, type LoggedEvent, type Source, type Workspace,
} from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { renderSnippet } from '../cdn/index.ts';
import { ControlErrors } from './errors.ts';
import { hostsOf, normaliseCustomDomain } from './domain-rules.ts';
import { newId, newWriteKey } from './ids.ts';
import { isTerminal, nextState, type DomainEvent } from './lifecycle.ts';
import type { SourceDirectory } from './source-directory.ts';
import { toDomainView, type DomainView } from './domain-view.ts';

/** Operator settings the control plane needs (a slice of the process config). */
export interface ControlSettings {
  readonly customDomainPlans: readonly string[];
  readonly cdnLabel: string;
  readonly apiLabel: string;
  readonly nameservers: readonly Hostname[];
  readonly defaultCdnHost: Hostname;
  readonly defaultApiHost: Hostname;
}

/** Dependencies of {@link createControl}. */
export interface ControlDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly events: AppEvents;
  readonly sources: SourceDirectory;
  readonly settings: ControlSettings;
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
    return toDomainView(d, settings.nameservers, await store.certificates.currentFor(d.id), await store.domains.history(d.id));
  }

  return {
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
     * Requests a custom domain for some of the workspace's sources (rules in DESIGN.md): plan
     * includes the feature, a valid proper subdomain, sources exist here and are not connected
     * elsewhere, the workspace's first domain includes an analytics.js source, and the name is not
     * live in any workspace. The domain starts `awaiting_delegation` with a check due now.
     */
    async requestDomain(wsId: string, input: Record<string, unknown>): Promise<DomainView> {
      const ws = await workspace(wsId);
      if (!settings.customDomainPlans.includes(ws.plan)) {
        throw new AppError(ControlErrors.PLAN_EXCLUDES_FEATURE,
          `custom domains are part of the ${settings.customDomainPlans.join('/')} plan; this workspace is on "${ws.plan}". ` +
          'Upgrade the plan, or run your own proxy in front of the default hosts (a self-run custom proxy).');
      }
      const name = normaliseCustomDomain(input.domain, { nameservers: settings.nameservers, defaultHosts: [settings.defaultCdnHost, settings.defaultApiHost] });
      const sources = await requestedSources(ws, input.sourceIds);
      const existing = await store.domains.listByWorkspace(ws.id);
      if (existing.length === 0 && !sources.some((s) => s.type === 'analytics.js')) {
        throw new AppError(ControlErrors.ANALYTICS_JS_REQUIRED, 'the first custom domain of a workspace must include an analytics.js source');
      }
      const now = clock.now();
      const d: CustomDomain = {
        id: newId('cd'), workspaceId: ws.id, domain: name, hosts: hostsOf(name, settings), state: { kind: 'awaiting_delegation' },
        version: 1, zoneSerial: zoneSerialStart(now), nextCheckAt: now, checkAttempts: 0, sourceIds: sources.map((s) => s.id).sort(),
        createdAt: now, updatedAt: now,
      };
      const first: DomainHistoryEntry = { at: now, from: null, to: 'awaiting_delegation', reason: 'requested', message: 'custom domain requested; waiting for the NS records at the parent zone' };
      const r = await store.domains.create(d, first);
      if (!r.ok) {
        if (r.conflict === 'source_already_connected') throw new AppError(ControlErrors.SOURCE_ALREADY_CONNECTED, 'a selected source is already connected to another custom domain; a source can use one custom domain');
        throw new AppError(ControlErrors.DOMAIN_TAKEN, `"${name}" is already claimed; a subdomain can serve one workspace only`);
      }
      events.emit('domain.created', { domain: d });
      return view(d);
    },

    async getDomain(wsId: string, id: string): Promise<DomainView> {
      return view(await domain(await workspace(wsId), id));
    },

    async listDomains(wsId: string): Promise<DomainView[]> {
      const ws = await workspace(wsId);
      return Promise.all((await store.domains.listByWorkspace(ws.id)).map(view));
    },

    /** Removes a custom domain: it stops being served (DNS and HTTPS) and its sources are freed. */
    async removeDomain(wsId: string, id: string): Promise<DomainView> {
      const d = await domain(await workspace(wsId), id);
      if (isTerminal(d.state)) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, `custom domain ${id} is already ${d.state.kind}`);
      const updated = await this.apply(d, { type: 'removed' }, { nextCheckAt: null, checkAttempts: 0 });
      if (!updated) throw new AppError(ControlErrors.FORBIDDEN_TRANSITION, 'the domain changed meanwhile; retry');
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

    /** The snippet for a source: custom CDN/API hosts once its domain is active, default hosts otherwise. */
    async snippet(wsId: string, sourceId: string, opts: { globalName?: string } = {}) {
      const s = await source(await workspace(wsId), sourceId);
      const d = await store.sources.domainOf(s.id);
      const custom = d?.state.kind === 'active';
      const cdnHost = custom ? d.hosts.cdn : settings.defaultCdnHost;
      const apiHost = custom ? d.hosts.api : settings.defaultApiHost;
      return {
        sourceId: s.id, writeKey: s.writeKey, cdnHost, apiHost, customDomain: custom ? d.domain : null,
        snippet: renderSnippet({ writeKey: s.writeKey, cdnHost, apiHost, ...(opts.globalName ? { globalName: opts.globalName } : {}) }),
      };
    },

    /** The most recent stored events of a source, newest first. */
    async recentEvents(wsId: string, sourceId: string, limit: number, beforeSeq?: number): Promise<LoggedEvent[]> {
      const s = await source(await workspace(wsId), sourceId);
      return store.events.recent(s.id, limit, beforeSeq);
    },
  };

  async function requestedSources(ws: Workspace, ids: unknown): Promise<Source[]> {
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === 'string')) {
      throw new AppError(ControlErrors.INVALID_INPUT, '"sourceIds" must be a non-empty array of source ids');
    }
    const unique = [...new Set(ids as string[])];
    return Promise.all(unique.map((id) => source(ws, id)));
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
  return v.trim();
}
