import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBus, FakeClock, hostnameUnchecked, type AppEventMap } from '../core/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createAdminHandler } from './admin-api.ts';
import { createControl, type Control, type ControlDeps } from './service.ts';
import { SourceDirectory } from './source-directory.ts';
import type { ControlDns } from './takeover.ts';

/** A fake {@link ControlDns} whose answers the test sets. */
export class FakeDns implements ControlDns {
  readonly txtRecords = new Map<string, string[]>();
  readonly delegated = new Map<string, boolean | null>();
  async txt(name: string): Promise<string[]> {
    return this.txtRecords.get(name) ?? [];
  }
  async delegatedToUs(zone: string): Promise<boolean | null> {
    return this.delegated.has(zone) ? this.delegated.get(zone)! : false;
  }
}

/** An admin API over an in-memory store, listening on loopback, for tests. */
export interface AdminFixture {
  readonly store: Store;
  readonly clock: FakeClock;
  readonly events: EventBus<AppEventMap>;
  readonly control: Control;
  readonly dns: FakeDns;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any; headers: Headers }>;
  workspace(plan?: string): Promise<string>;
  source(ws: string, type?: string): Promise<{ id: string; writeKey: string }>;
  close(): Promise<void>;
}

/** Starts an {@link AdminFixture}; the operator token is `op-token`. */
export async function startAdminFixture(extra: Partial<Pick<ControlDeps, 'diagnoser' | 'revoke'>> = {}): Promise<AdminFixture> {
  const store = openSqliteStore(':memory:');
  const clock = new FakeClock();
  const events = new EventBus<AppEventMap>((err) => { throw err; });
  const dns = new FakeDns();
  const control = createControl({
    store, clock, events, dns, sources: new SourceDirectory(), ...extra,
    settings: {
      customDomainPlans: ['business'], cdnLabel: 'cdn', apiLabel: 'api',
      nameservers: [hostnameUnchecked('ns1.fp.test'), hostnameUnchecked('ns2.fp.test')],
      defaultCdnHost: hostnameUnchecked('cdn.fp.test'), defaultApiHost: hostnameUnchecked('api.fp.test'),
    },
  });
  const server: Server = createServer(createAdminHandler({ control, store, clock, adminToken: 'op-token', allowPrivateWebhookTargets: true }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call: AdminFixture['call'] = async (method, path, body, token = 'op-token') => {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json(), headers: res.headers };
  };
  return {
    store, clock, events, control, dns, call,
    async workspace(plan = 'business') {
      return (await call('POST', '/api/v1/workspaces', { name: 'W', plan })).json.id as string;
    },
    async source(ws, type = 'analytics.js') {
      return (await call('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'S', type })).json;
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}
