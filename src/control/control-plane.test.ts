import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { adminRoutes } from './admin-api.ts';
import { claimRecordName } from './takeover.ts';
import { openApiDocument } from './openapi.ts';
import { startAdminFixture, type AdminFixture } from './test-fixture.ts';

describe('control plane', () => {
  let f: AdminFixture;
  before(async () => {
    f = await startAdminFixture();
  });
  after(async () => f.close());
  const domains = (ws: string) => `/api/v1/workspaces/${ws}/custom-domains`;

  test('stores the request form and answers the NS records, the hosts and the CSP directives', async () => {
    const ws = await f.workspace();
    const src = await f.source(ws);
    const r = await f.call('POST', domains(ws), { subject: 'Go first-party', domain: 'cdp.form.com', sourceIds: [src.id], usesCsp: true, description: 'also ws_other' });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json.request, { subject: 'Go first-party', description: 'also ws_other', usesCsp: true, primaryDomainId: null, replacesDomainId: null });
    assert.deepEqual(r.json.nsRecords, ['cdp.form.com. IN NS ns1.fp.test.', 'cdp.form.com. IN NS ns2.fp.test.']);
    assert.deepEqual(r.json.csp.directives, {
      'script-src': ['https://cdn.cdp.form.com'], 'connect-src': ['https://cdn.cdp.form.com', 'https://api.cdp.form.com'],
    });
    const noCsp = await f.call('POST', domains(ws), { domain: 'cdp.form2.com', sourceIds: [(await f.source(ws)).id] });
    assert.equal(noCsp.json.csp, null);
    assert.equal(noCsp.json.request.subject, 'Custom domain cdp.form2.com');
  });

  test('creates the additional domain name as its own zone serving its own sources', async () => {
    const ws = await f.workspace();
    const [a, b] = [await f.source(ws), await f.source(ws)];
    const r = await f.call('POST', domains(ws), { domain: 'cdp.main.com', additionalDomain: 'cdp.other.net', sourceIds: [a.id], additionalSourceIds: [b.id] });
    assert.equal(r.status, 201);
    assert.equal(r.json.additional.domain, 'cdp.other.net');
    assert.deepEqual(r.json.additional.sourceIds, [b.id]);
    assert.equal(r.json.additional.request.primaryDomainId, r.json.id);
    const same = await f.call('POST', domains(ws), { domain: 'cdp.x1.com', additionalDomain: 'cdp.x2.com', sourceIds: [(await f.source(ws)).id], additionalSourceIds: [a.id] });
    assert.equal(same.json.error.code, 'ERR_CONTROL_SOURCE_ALREADY_CONNECTED');
    assert.equal((await f.call('GET', domains(ws))).json.customDomains.length, 2, 'a rejected request writes nothing');
  });

  test('refuses a subdomain another workspace held until its parent-zone TXT proof is published', async () => {
    const a = await f.workspace();
    const b = await f.workspace();
    const d = await f.call('POST', domains(a), { domain: 'cdp.held.com', sourceIds: [(await f.source(a)).id] });
    await f.call('DELETE', `${domains(a)}/${d.json.id}`);
    const srcB = await f.source(b);
    const refused = await f.call('POST', domains(b), { domain: 'cdp.held.com', sourceIds: [srcB.id] });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, 'ERR_CONTROL_TAKEOVER_PROOF_REQUIRED');
    assert.equal(refused.json.error.details.reason, 'held_by_another_workspace');
    assert.equal(refused.json.error.details.txtName, '_firstparty-claim.held.com');
    f.dns.txtRecords.set('_firstparty-claim.held.com', ['firstparty-claim=wrong']);
    assert.equal((await f.call('POST', domains(b), { domain: 'cdp.held.com', sourceIds: [srcB.id] })).status, 409, 'a wrong token is no proof');
    f.dns.txtRecords.set('_firstparty-claim.held.com', ['unrelated', refused.json.error.details.txtValue]);
    const granted = await f.call('POST', domains(b), { domain: 'cdp.held.com', sourceIds: [srcB.id] });
    assert.equal(granted.status, 201);
  });

  test('refuses a removed subdomain still delegated to us without proof, even to the same workspace', async () => {
    const ws = await f.workspace();
    const src = await f.source(ws);
    const d = await f.call('POST', domains(ws), { domain: 'cdp.lingering.com', sourceIds: [src.id] });
    await f.call('DELETE', `${domains(ws)}/${d.json.id}`);
    f.dns.delegated.set('cdp.lingering.com', true);
    const r = await f.call('POST', domains(ws), { domain: 'cdp.lingering.com', sourceIds: [src.id] });
    assert.equal(r.json.error.code, 'ERR_CONTROL_TAKEOVER_PROOF_REQUIRED');
    assert.equal(r.json.error.details.reason, 'still_delegated');
    f.dns.delegated.set('cdp.lingering.com', null);
    assert.equal((await f.call('POST', domains(ws), { domain: 'cdp.lingering.com', sourceIds: [src.id] })).status, 409, 'unknown delegation is treated as delegated');
    f.dns.txtRecords.set(claimRecordName('cdp.lingering.com' as never), [r.json.error.details.txtValue]);
    assert.equal((await f.call('POST', domains(ws), { domain: 'cdp.lingering.com', sourceIds: [src.id] })).status, 201);
  });

  test('"check now" makes the domain due now, at most once per interval, and only while waiting', async () => {
    const ws = await f.workspace();
    const d = await f.call('POST', domains(ws), { domain: 'cdp.check.com', sourceIds: [(await f.source(ws)).id] });
    await f.store.domains.reschedule(d.json.id, f.clock.now() + 3_600_000, 4);
    const r = await f.call('POST', `${domains(ws)}/${d.json.id}/check`);
    assert.equal(r.status, 200);
    assert.equal(r.json.nextCheckAt, new Date(f.clock.now()).toISOString());
    assert.equal((await f.store.domains.listDue(f.clock.now(), 100)).some((x) => x.id === d.json.id), true);
    const again = await f.call('POST', `${domains(ws)}/${d.json.id}/check`);
    assert.equal(again.status, 429);
    assert.equal(again.headers.get('retry-after'), '10');
    f.clock.advance(10_000);
    assert.equal((await f.call('POST', `${domains(ws)}/${d.json.id}/check`)).status, 200);
    const cur = (await f.store.domains.get(d.json.id))!;
    const active = await f.control.apply(cur, { type: 'delegation_confirmed' }, { nextCheckAt: null, checkAttempts: 0 });
    const nothing = await f.call('POST', `${domains(ws)}/${active!.id}/check`);
    assert.equal(nothing.status, 409);
    assert.equal(nothing.json.error.code, 'ERR_CONTROL_NOTHING_TO_CHECK');
  });

  test('a workspace token sees and changes only its workspace; the operator token everything', async () => {
    const mine = await f.workspace();
    const other = await f.workspace();
    const t = await f.call('POST', `/api/v1/workspaces/${mine}/tokens`, { name: 'ci' });
    assert.equal(t.status, 201);
    assert.match(t.json.token, /^fpt_/);
    assert.equal((await f.call('GET', `/api/v1/workspaces/${mine}`, undefined, t.json.token)).status, 200);
    assert.equal((await f.call('POST', `/api/v1/workspaces/${mine}/sources`, { name: 'S', type: 'node' }, t.json.token)).status, 201);
    for (const [m, p, b] of [['GET', `/api/v1/workspaces/${other}`], ['POST', `/api/v1/workspaces/${other}/sources`, { name: 'S', type: 'node' }],
      ['POST', '/api/v1/workspaces', { name: 'X' }], ['POST', `/api/v1/workspaces/${mine}/tokens`, { name: 'more' }], ['GET', '/api/v1/audit']] as const) {
      const r = await f.call(m, p, b, t.json.token);
      assert.equal(r.status, 403, `${m} ${p}`);
      assert.equal(r.json.error.code, 'ERR_CONTROL_FORBIDDEN');
    }
    assert.equal((await f.call('DELETE', `/api/v1/workspaces/${mine}/tokens/${t.json.id}`)).status, 200);
    assert.equal((await f.call('GET', `/api/v1/workspaces/${mine}`, undefined, t.json.token)).status, 401, 'a revoked token is refused');
  });

  test('records every admin change in the audit log with its actor, never the secrets', async () => {
    const ws = await f.workspace();
    const t = await f.call('POST', `/api/v1/workspaces/${ws}/tokens`, { name: 'ci' });
    const src = await f.call('POST', `/api/v1/workspaces/${ws}/sources`, { name: 'S', type: 'analytics.js' }, t.json.token);
    await f.call('POST', `/api/v1/workspaces/${ws}/webhooks`, { url: 'https://hooks.example/x' }, t.json.token);
    await f.call('GET', `/api/v1/workspaces/${ws}/sources`, undefined, t.json.token);
    const log = await f.call('GET', `/api/v1/workspaces/${ws}/audit`, undefined, t.json.token);
    assert.deepEqual(log.json.entries.map((e: any) => [e.action, e.actor]), [
      ['webhook.create', `token:${t.json.id}`], ['source.create', `token:${t.json.id}`], ['token.create', 'operator'], ['workspace.create', 'operator'],
    ]);
    assert.equal(log.json.entries[1].target, src.json.id);
    assert.doesNotMatch(JSON.stringify(log.json), /fpt_|whsec_/);
  });

  test('a subdomain change keeps the old serving until the new is active, then moves sources and revokes the old', async () => {
    const ws = await f.workspace();
    const src = await f.source(ws);
    const old = await f.call('POST', domains(ws), { domain: 'cdp.before.com', sourceIds: [src.id], usesCsp: true });
    const r = await f.call('POST', `${domains(ws)}/${old.json.id}/replace`, { domain: 'cdp.after.com' });
    assert.equal(r.status, 201);
    assert.equal(r.json.request.replacesDomainId, old.json.id);
    assert.deepEqual(r.json.sourceIds, []);
    assert.equal((await f.call('POST', `${domains(ws)}/${old.json.id}/replace`, { domain: 'cdp.third.com' })).json.error.code, 'ERR_CONTROL_CHANGE_IN_PROGRESS');
    await f.store.certificates.putValid({ id: 'crt_old', domainId: old.json.id, names: [], status: 'valid', issuerKind: 'local', issuer: 'x', directoryUrl: null,
      serialHex: '01', notBefore: 0, notAfter: 1, certPem: '', chainPem: '', keySealed: '', createdAt: 0 });
    let d = (await f.store.domains.get(r.json.id))!;
    for (const e of [{ type: 'delegation_confirmed' }, { type: 'issuance_started', attempt: 1 }] as const) d = (await f.control.apply(d, e, { nextCheckAt: null, checkAttempts: 0 }))!;
    assert.equal((await f.store.domains.get(old.json.id))!.state.kind, 'awaiting_delegation', 'the old domain still serves before the switch');
    const seen: string[] = [];
    f.events.on('domain.changed', ({ domain }) => seen.push(`${domain.domain}:${domain.state.kind}:${domain.sourceIds.length}`));
    await f.control.apply(d, { type: 'certificate_installed' }, { nextCheckAt: null, checkAttempts: 0 });
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(seen, ['cdp.after.com:active:0', 'cdp.after.com:active:1', 'cdp.before.com:replaced:0']);
    assert.deepEqual((await f.store.sources.domainOf(src.id))!.domain, 'cdp.after.com');
    const oldNow = await f.call('GET', `${domains(ws)}/${old.json.id}`);
    assert.equal(oldNow.json.state, 'replaced');
    assert.equal(oldNow.json.certificate, null, 'the old certificate is revoked');
  });

  test('renders the snippet with a renamed global and the alias path, and CSP directives hashing exactly that snippet', async () => {
    const ws = await f.workspace();
    const src = await f.source(ws);
    const r = await f.call('GET', `/api/v1/workspaces/${ws}/sources/${src.id}/snippet?globalName=fpa&aliasPath=true`);
    assert.equal(r.status, 200);
    assert.equal(r.json.scriptUrl, `https://cdn.fp.test/${ws}/${src.id}.js`);
    assert.doesNotMatch(r.json.scriptUrl, /analytics/);
    assert.ok(!r.json.scriptUrl.includes(src.writeKey));
    assert.match(r.json.snippet, /var i="fpa"/);
    const hash = createHash('sha256').update(r.json.snippet).digest('base64');
    assert.deepEqual(r.json.csp.directives['script-src'], [`'sha256-${hash}'`, 'https://cdn.fp.test']);
    const bad = await f.call('GET', `/api/v1/workspaces/${ws}/sources/${src.id}/snippet?globalName=class`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'ERR_CONTROL_INVALID_INPUT');
  });

  test('the OpenAPI document lists exactly the routes of the router', async () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const inDoc = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const routes = adminRoutes({ control: f.control, store: f.store, clock: f.clock })
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      // The live tail is served by the app's stream wrapper (src/app/event-stream-route.ts), not the JSON router.
      .concat('GET /api/v1/openapi.json', 'GET /api/v1/workspaces/{ws}/sources/{id}/events/stream').sort();
    assert.deepEqual(inDoc, routes);
    const r = await f.call('GET', '/api/v1/openapi.json', undefined, 'no-token-needed');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, JSON.parse(JSON.stringify(doc)));
  });
});
