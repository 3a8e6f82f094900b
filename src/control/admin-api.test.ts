import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EventBus, FakeClock, hostnameUnchecked, type AppEventMap } from '../core/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createAdminHandler } from './admin-api.ts';
import { createControl } from './service.ts';
import { SourceDirectory } from './source-directory.ts';

describe('admin API', () => {
  let store: Store;
  let server: Server;
  let base: string;
  const call = async (method: string, path: string, body?: unknown, token = 'op-token') => {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const newWorkspace = async (plan = 'business') => (await call('POST', '/api/v1/workspaces', { name: 'W', plan })).json.id as string;
  const newSource = async (ws: string, type = 'analytics.js') => (await call('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'S', type })).json;

  before(async () => {
    store = openSqliteStore(':memory:');
    const control = createControl({
      // Every name here is no longer delegated once removed, so re-requesting needs no proof.
      dns: { txt: async () => [], delegatedToUs: async () => false },
      store, clock: new FakeClock(), events: new EventBus<AppEventMap>(), sources: new SourceDirectory(),
      settings: {
        customDomainPlans: ['business'], cdnLabel: 'cdn', apiLabel: 'api',
        nameservers: [hostnameUnchecked('ns1.fp.test'), hostnameUnchecked('ns2.fp.test')],
        defaultCdnHost: hostnameUnchecked('cdn.fp.test'), defaultApiHost: hostnameUnchecked('api.fp.test'),
      },
    });
    server = createServer(createAdminHandler({ control, store, clock: new FakeClock(), adminToken: 'op-token' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  });

  test('refuses requests without the operator token', async () => {
    const r = await call('POST', '/api/v1/workspaces', { name: 'W' }, 'wrong');
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'ERR_CONTROL_UNAUTHORIZED');
  });

  test('creates a workspace, a source with a write key, and a custom domain listing NS records and hosts', async () => {
    const ws = await newWorkspace();
    const src = await newSource(ws);
    assert.match(src.writeKey, /^[A-Za-z0-9]{32}$/);
    const d = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.shop1.com', sourceIds: [src.id] });
    assert.equal(d.status, 201);
    assert.equal(d.json.state, 'awaiting_delegation');
    assert.deepEqual(d.json.nameservers, ['ns1.fp.test', 'ns2.fp.test']);
    assert.deepEqual(d.json.nsRecords, ['cdp.shop1.com. IN NS ns1.fp.test.', 'cdp.shop1.com. IN NS ns2.fp.test.']);
    assert.deepEqual(d.json.hosts, { cdn: 'cdn.cdp.shop1.com', api: 'api.cdp.shop1.com' });
    const got = await call('GET', `/api/v1/workspaces/${ws}/custom-domains/${d.json.id}`);
    assert.equal(got.json.history.length, 1);
    assert.equal(got.json.certificate, null);
  });

  test('answers 400 for malformed domains, public suffixes and registrable domains', async () => {
    const ws = await newWorkspace();
    const src = await newSource(ws);
    for (const [domain, codeWanted] of [['not a domain', 'ERR_CONTROL_INVALID_DOMAIN'], ['co.uk', 'ERR_CONTROL_PUBLIC_SUFFIX'], ['shop.com', 'ERR_CONTROL_REGISTRABLE_DOMAIN']]) {
      const r = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain, sourceIds: [src.id] });
      assert.equal(r.status, 400, String(domain));
      assert.equal(r.json.error.code, codeWanted);
      assert.equal(typeof r.json.error.message, 'string');
    }
  });

  test('answers 409 when another workspace already claimed the subdomain', async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    assert.equal((await call('POST', `/api/v1/workspaces/${a}/custom-domains`, { domain: 'cdp.taken.com', sourceIds: [(await newSource(a)).id] })).status, 201);
    const r = await call('POST', `/api/v1/workspaces/${b}/custom-domains`, { domain: 'CDP.taken.com.', sourceIds: [(await newSource(b)).id] });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'ERR_CONTROL_DOMAIN_TAKEN');
  });

  test('answers 409 for a name inside or around a claimed custom domain, so zones never shadow each other', async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    assert.equal((await call('POST', `/api/v1/workspaces/${a}/custom-domains`, { domain: 'cdp.nest.com', sourceIds: [(await newSource(a)).id] })).status, 201);
    assert.equal((await call('POST', `/api/v1/workspaces/${a}/custom-domains`, { domain: 'x.y.around.com', sourceIds: [(await newSource(a)).id] })).status, 201);
    for (const [ws, domain] of [[b, 'cdn.cdp.nest.com'], [a, 'deep.api.cdp.nest.com'], [b, 'y.around.com']] as const) {
      const r = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain, sourceIds: [(await newSource(ws)).id] });
      assert.equal(r.status, 409, domain);
      assert.equal(r.json.error.code, 'ERR_CONTROL_DOMAIN_OVERLAPS');
    }
    assert.equal((await call('POST', `/api/v1/workspaces/${b}/custom-domains`, { domain: 'cdp2.nest.com', sourceIds: [(await newSource(b)).id] })).status, 201);
  });

  test('answers 409 when a source is already connected to another custom domain', async () => {
    const ws = await newWorkspace();
    const src = await newSource(ws);
    await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.one.com', sourceIds: [src.id] });
    const r = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.two.com', sourceIds: [src.id] });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'ERR_CONTROL_SOURCE_ALREADY_CONNECTED');
  });

  test('answers 404 for unknown sources, including another workspace\'s', async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const foreign = await newSource(b);
    for (const id of ['src_nope', foreign.id]) {
      const r = await call('POST', `/api/v1/workspaces/${a}/custom-domains`, { domain: 'cdp.unknown.com', sourceIds: [id] });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'ERR_CONTROL_UNKNOWN_SOURCE');
    }
  });

  test('requires an analytics.js source in the first custom domain of a workspace', async () => {
    const ws = await newWorkspace();
    const node = await newSource(ws, 'node');
    const r = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.first.com', sourceIds: [node.id] });
    assert.equal(r.status, 422);
    assert.equal(r.json.error.code, 'ERR_CONTROL_ANALYTICS_JS_REQUIRED');
  });

  test('explains the plan requirement and the self-run proxy alternative', async () => {
    const ws = await newWorkspace('team');
    const r = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.plan.com', sourceIds: [(await newSource(ws)).id] });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'ERR_CONTROL_PLAN_EXCLUDES_FEATURE');
    assert.match(r.json.error.message, /proxy/);
  });

  test('refuses names with control characters or unpaired surrogates', async () => {
    for (const name of ['a\u0000b', 'tab\there', '\ud800x', 'x\udc00']) {
      const r = await call('POST', '/api/v1/workspaces', { name });
      assert.equal(r.status, 400, JSON.stringify(name));
      assert.equal(r.json.error.code, 'ERR_CONTROL_INVALID_INPUT');
    }
    assert.equal((await call('POST', '/api/v1/workspaces', { name: 'Café 🚀 Shop' })).status, 201);
  });

  test('answers 400 naming an unknown or misspelt body field instead of ignoring it', async () => {
    const ws = await newWorkspace();
    for (const [path, body, field] of [
      [`/api/v1/workspaces/${ws}/sources`, { name: 'S', type: 'node', writeKey: 'chosen' }, 'writeKey'],
      [`/api/v1/workspaces/${ws}/sources`, { name: 'S', type: 'node', enabled: 'no' }, 'enabled'],
      ['/api/v1/workspaces', { name: 'W', plna: 'business' }, 'plna'],
    ] as const) {
      const r = await call('POST', path, body);
      assert.equal(r.status, 400, field);
      assert.equal(r.json.error.code, 'ERR_CONTROL_INVALID_INPUT');
      assert.match(r.json.error.message, new RegExp(`unknown field "${field}"`));
    }
  });

  test('answers 400 for invalid JSON and 404 for unknown workspaces and routes', async () => {
    assert.equal((await call('POST', '/api/v1/workspaces', '{"name":')).json.error.code, 'ERR_CONTROL_INVALID_JSON');
    assert.equal((await call('GET', '/api/v1/workspaces/ws_nope')).status, 404);
    assert.equal((await call('GET', '/api/v1/nothing')).status, 404);
    assert.equal((await call('PUT', '/api/v1/workspaces')).status, 405);
    assert.equal((await call('DELETE', '/api/v1/openapi.json')).status, 405);
    const head = await fetch(`${base}/api/v1/workspaces/ws_nope`, { method: 'HEAD', headers: { authorization: 'Bearer op-token' } });
    assert.equal(head.status, 404, 'HEAD is answered like GET');
  });

  test('a removed domain frees its name and its sources', async () => {
    const ws = await newWorkspace();
    const src = await newSource(ws);
    const d = await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.again.com', sourceIds: [src.id] });
    const del = await call('DELETE', `/api/v1/workspaces/${ws}/custom-domains/${d.json.id}`);
    assert.equal(del.json.state, 'removed');
    assert.equal((await call('POST', `/api/v1/workspaces/${ws}/custom-domains`, { domain: 'cdp.again.com', sourceIds: [src.id] })).status, 201);
  });

  test('the snippet uses the default hosts until the source\'s domain is active', async () => {
    const ws = await newWorkspace();
    const src = await newSource(ws);
    const r = await call('GET', `/api/v1/workspaces/${ws}/sources/${src.id}/snippet`);
    assert.equal(r.json.cdnHost, 'cdn.fp.test');
    assert.match(r.json.snippet, new RegExp(`https://cdn\\.fp\\.test/analytics\\.js/v1/${src.writeKey}/analytics\\.min\\.js|"\\+key\\+"|\\+ key \\+`));
  });
});
